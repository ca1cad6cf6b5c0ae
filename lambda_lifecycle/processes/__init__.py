"""Real-process participants: runtimes and extensions that are programs, not coroutines.

- :class:`ProcessRuntime`: the runtime's command line (a ``bootstrap``, or
  ``python -m awslambdaric module.function``), started in a process group of its own.
- :class:`ProcessExtension`: an external extension program; :func:`discover_extensions` reads an
  extensions directory the way Lambda reads ``/opt/extensions``.

Both implement the engine's participant protocol; signals go to the whole process group
(SIGTERM, SIGKILL, SIGSTOP to freeze, SIGCONT to thaw), and exits are reported at once with
Go's wording of the status, as AWS prints it. The programs reach the environment over HTTP
through :mod:`lambda_lifecycle.server`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .participants import (
        NotStarted,
        ProcessExtension,
        ProcessRuntime,
        discover_extensions,
        go_exec_error,
    )
    from .process import OSProcess, Output, exit_status, signal_name, spawn

__all__ = [
    "NotStarted",
    "OSProcess",
    "Output",
    "ProcessExtension",
    "ProcessRuntime",
    "discover_extensions",
    "exit_status",
    "go_exec_error",
    "signal_name",
    "spawn",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "NotStarted": ".participants",
        "ProcessExtension": ".participants",
        "ProcessRuntime": ".participants",
        "discover_extensions": ".participants",
        "go_exec_error": ".participants",
        "OSProcess": ".process",
        "Output": ".process",
        "exit_status": ".process",
        "signal_name": ".process",
        "spawn": ".process",
    },
)
