"""Importing a pure module imports neither anyio, structlog, nor the engine (lazy exports)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import lambda_lifecycle
import lambda_lifecycle.processes
import lambda_lifecycle.server
import lambda_lifecycle.sinks

HEAVY = ("anyio", "structlog", "lambda_lifecycle.engine")

PURE = [
    "lambda_lifecycle",
    "lambda_lifecycle.core",
    "lambda_lifecycle.core.config",
    "lambda_lifecycle.core.deadlines",
    "lambda_lifecycle.core.errors",
    "lambda_lifecycle.core.machine",
    "lambda_lifecycle.core.payloads",
    "lambda_lifecycle.core.spec",
    "lambda_lifecycle.core.spec_checks",
    "lambda_lifecycle.core.variables",
    "lambda_lifecycle.formats",
    "lambda_lifecycle.formats.jsonlog",
    "lambda_lifecycle.formats.records",
    "lambda_lifecycle.formats.schemas",
    "lambda_lifecycle.formats.textlog",
    "lambda_lifecycle.server.sockets",
    "lambda_lifecycle.specs",
    "lambda_lifecycle.tools.diagram",
    "lambda_lifecycle.tools.docgen",
]

# Loading the spec document, a telemetry schema and the limits uses only the pure modules.
LOAD = (
    "from lambda_lifecycle.specs import load_spec; load_spec();"
    "from lambda_lifecycle.formats.schemas import load_schema; load_schema('platform.report');"
    "from lambda_lifecycle.core.config import FunctionConfig; FunctionConfig(timeout=900)"
)


def imported_after(code: str) -> list[str]:
    probe = (
        f"import sys, json; {code}; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    loaded: list[str] = json.loads(done.stdout)
    return loaded


@pytest.mark.parametrize("module", PURE)
def test_a_pure_module_imports_no_engine_anyio_or_structlog(module: str) -> None:
    assert imported_after(f"import {module}") == []


def test_loading_the_spec_and_a_schema_imports_no_engine_and_no_state_machine() -> None:
    assert imported_after(LOAD) == []
    assert imported_after(LOAD + "; assert 'transitions' not in sys.modules") == []


def test_the_embedding_api_is_imported_on_first_use() -> None:
    # structlog too is imported only once something is logged (engine/structured_log.py).
    assert imported_after("from lambda_lifecycle import Environment") == [
        "anyio",
        "lambda_lifecycle.engine",
    ]
    from lambda_lifecycle import Environment, FunctionConfig, InProcessRuntime  # noqa: PLC0415
    from lambda_lifecycle.engine.environment import Environment as Direct  # noqa: PLC0415

    assert Environment is Direct
    assert FunctionConfig.__module__ == "lambda_lifecycle.core.config"
    assert InProcessRuntime.__module__ == "lambda_lifecycle.engine.inprocess"


@pytest.mark.parametrize(
    "package",
    [lambda_lifecycle, lambda_lifecycle.processes, lambda_lifecycle.server, lambda_lifecycle.sinks],
    ids=lambda p: p.__name__,
)
def test_every_exported_name_resolves_and_is_listed(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    for name in names:
        assert getattr(package, name) is not None
    assert set(names) <= set(dir(package))
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        package.nope  # type: ignore[attr-defined]  # noqa: B018
