"""lambda-lifecycle: an executable model of the AWS Lambda execution environment lifecycle.

Layers, lowest first (a lower layer never imports a higher one):

- ``lambda_lifecycle.specs``: the formal model as data (``lifecycle.json``).
- ``lambda_lifecycle.core``: the pure core built from it (machine, deadlines, bookkeeping).
- ``lambda_lifecycle.engine``: the anyio scheduler that runs environments, with in-process
  participants.
- ``lambda_lifecycle.formats``: CloudWatch lines and telemetry records (pure).
- ``lambda_lifecycle.sinks``: logs and telemetry from an environment's events.
- ``lambda_lifecycle.processes``: real processes as participants.
- ``lambda_lifecycle.server``: the HTTP APIs and the invoke endpoint (the ``server`` extra).
- ``lambda_lifecycle.tools``: diagrams, the demo and the command line.

The names below are the embedding API; see ``docs/engine.md``. They are imported on first
use (:mod:`._lazy`), so importing a pure module imports neither anyio, structlog nor the engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._lazy import lazy_exports

if TYPE_CHECKING:
    from .core.config import FunctionConfig
    from .core.errors import (
        APIError,
        ConfigurationError,
        EnvironmentBusy,
        EnvironmentClosed,
        LifecycleError,
        SpecError,
        TransitionRefused,
    )
    from .engine.clients import ExtensionClient, RuntimeClient, RuntimeEvent
    from .engine.environment import Environment
    from .engine.inprocess import InProcessExtension, InProcessRuntime
    from .engine.invocation import InvokeReport, InvokeResult
    from .engine.observe import LifecycleEvent, Subscription
    from .engine.participant import ExitStatus, ExtensionParticipant, Process, RuntimeParticipant

    __version__: str

__all__ = [
    "APIError",
    "ConfigurationError",
    "Environment",
    "EnvironmentBusy",
    "EnvironmentClosed",
    "ExitStatus",
    "ExtensionClient",
    "ExtensionParticipant",
    "FunctionConfig",
    "InProcessExtension",
    "InProcessRuntime",
    "InvokeReport",
    "InvokeResult",
    "LifecycleError",
    "LifecycleEvent",
    "Process",
    "RuntimeClient",
    "RuntimeEvent",
    "RuntimeParticipant",
    "SpecError",
    "Subscription",
    "TransitionRefused",
    "__version__",
]

_EXPORTS = {
    "FunctionConfig": ".core.config",
    **dict.fromkeys(
        (
            "APIError",
            "ConfigurationError",
            "EnvironmentBusy",
            "EnvironmentClosed",
            "LifecycleError",
            "SpecError",
            "TransitionRefused",
        ),
        ".core.errors",
    ),
    **dict.fromkeys(("ExtensionClient", "RuntimeClient", "RuntimeEvent"), ".engine.clients"),
    "Environment": ".engine.environment",
    **dict.fromkeys(("InProcessExtension", "InProcessRuntime"), ".engine.inprocess"),
    **dict.fromkeys(("InvokeReport", "InvokeResult"), ".engine.invocation"),
    **dict.fromkeys(("LifecycleEvent", "Subscription"), ".engine.observe"),
    **dict.fromkeys(
        ("ExitStatus", "ExtensionParticipant", "Process", "RuntimeParticipant"),
        ".engine.participant",
    ),
}
_export, __dir__ = lazy_exports(__name__, {**_EXPORTS, "__version__": ""})


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()["__version__"] = version = _version()
        return version
    return _export(name)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("lambda-lifecycle")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"
