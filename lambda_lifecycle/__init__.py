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

The names below are the embedding API; see ``docs/engine.md``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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

try:
    __version__ = version("lambda-lifecycle")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

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
