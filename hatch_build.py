"""Wheel build hook: the wheel carries the one copy of ``specs/`` inside the package.

A wheel install has no source tree, so the wheel places ``specs/lifecycle.json``, its JSON
Schema, ``specs/telemetry/`` and ``specs/logs/`` into ``lambda_lifecycle/specs/`` (where
``lambda_lifecycle.specs.location`` looks first). An editable install adds nothing: the package
is imported from the source tree and reads ``specs/`` in place, so editing a spec file needs no
reinstall and no copy can go stale.
(The ``force-include`` table of ``pyproject.toml`` would apply to editable wheels too.)
"""

from __future__ import annotations

from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SPEC_FILES = {
    "specs/lifecycle.json": "lambda_lifecycle/specs/lifecycle.json",
    "specs/lifecycle.schema.json": "lambda_lifecycle/specs/lifecycle.schema.json",
    "specs/telemetry": "lambda_lifecycle/specs/telemetry",
    "specs/logs": "lambda_lifecycle/specs/logs",
}


class SpecFiles(BuildHookInterface):  # type: ignore[type-arg]  # (generic in hatchling)
    """Adds :data:`SPEC_FILES` to a standard (non-editable) wheel."""

    PLUGIN_NAME = "spec-files"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if version == "standard":
            build_data["force_include"].update(SPEC_FILES)
