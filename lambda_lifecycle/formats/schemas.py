"""``specs/telemetry/*.schema.json``: one JSON Schema per telemetry event type.

Each schema (draft 2020-12) validates a whole Telemetry API event, the ``{time, type, record}``
envelope, with the record's fields, enums and required/optional split as AWS documents them.
The files under ``specs/telemetry`` at the repository root are the only copy: a wheel carries
them inside the package, an editable install reads them from the source tree, both found by
:func:`lambda_lifecycle.specs.location.spec_files`.

This is the only module of :mod:`lambda_lifecycle.formats` that reads anything: the schema
files themselves. It does not depend on a validator; pass the documents to ``jsonschema``.
"""

from __future__ import annotations

import json
from importlib.resources.abc import Traversable
from typing import Any

from ..specs.location import spec_files

__all__ = ["SCHEMA_SUFFIX", "load_schema", "load_schemas", "schema_text", "schema_types"]

SCHEMA_SUFFIX = ".schema.json"
SCHEMA_DIR = "telemetry"
"""The schemas' directory, beside ``lifecycle.json``."""


def _resources() -> Traversable:
    return spec_files().joinpath(SCHEMA_DIR)


def schema_types() -> tuple[str, ...]:
    """The event types that have a schema, sorted (``function``, ``platform.report``…)."""
    names = (entry.name for entry in _resources().iterdir() if entry.is_file())
    return tuple(sorted(n.removesuffix(SCHEMA_SUFFIX) for n in names if n.endswith(SCHEMA_SUFFIX)))


def schema_text(event_type: str) -> str:
    """The schema for ``event_type`` as text; ``KeyError`` for a type without one."""
    if event_type not in schema_types():
        raise KeyError(f"no telemetry schema for {event_type!r}")
    return _resources().joinpath(event_type + SCHEMA_SUFFIX).read_text(encoding="utf-8")


def load_schema(event_type: str) -> dict[str, Any]:
    """The schema for ``event_type``, parsed (a fresh object on every call)."""
    document: dict[str, Any] = json.loads(schema_text(event_type))
    return document


def load_schemas() -> dict[str, dict[str, Any]]:
    """Every schema, by event type."""
    return {event_type: load_schema(event_type) for event_type in schema_types()}
