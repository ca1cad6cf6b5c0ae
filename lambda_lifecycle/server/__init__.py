"""The HTTP front end: the local emulator real runtimes and extensions talk to.

- :class:`Emulator`: an environment with its Runtime, Extensions and Telemetry APIs on
  ``AWS_LAMBDA_RUNTIME_API`` and an invoke endpoint compatible with the AWS emulator's.
- :class:`RuntimeAPI` and :class:`InvokeAPI`: the two raw ASGI apps, usable on their own (for
  example with ``httpx.ASGITransport``) against any :class:`~lambda_lifecycle.Environment`.

Needs the ``server`` extra (uvicorn with httptools, httpx).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .emulator import DEFAULT_INVOKE, DEFAULT_RUNTIME_API, Emulator
    from .invoke_api import InvokeAPI
    from .runtime_api import RuntimeAPI, TelemetryHandler

__all__ = [
    "DEFAULT_INVOKE",
    "DEFAULT_RUNTIME_API",
    "Emulator",
    "InvokeAPI",
    "RuntimeAPI",
    "TelemetryHandler",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "DEFAULT_INVOKE": ".emulator",
        "DEFAULT_RUNTIME_API": ".emulator",
        "Emulator": ".emulator",
        "InvokeAPI": ".invoke_api",
        "RuntimeAPI": ".runtime_api",
        "TelemetryHandler": ".runtime_api",
    },
)
