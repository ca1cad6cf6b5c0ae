"""The engine's structlog loggers, imported at their first use.

Every lifecycle event goes to structlog only when the application has configured it, and the
engine logs on its own only when something went wrong (a participant that cannot start, a
listener that raised). Importing structlog costs start-up time that the ordinary path never
needs, so :func:`logger` hands out a stand-in that imports structlog when a method is first
called, and :func:`configured` says whether structlog is configured without importing it: an
application that configured structlog has imported it.
"""

from __future__ import annotations

import sys
from typing import Any


class _Logger:
    """A structlog logger named ``name``, made on the first call of one of its methods."""

    __slots__ = ("_logger", "_name")

    def __init__(self, name: str | None) -> None:
        self._name = name
        self._logger: Any = None

    def __getattr__(self, method: str) -> Any:
        if self._logger is None:
            import structlog  # noqa: PLC0415 (lazily: see the module's docstring)

            names = () if self._name is None else (self._name,)
            self._logger = structlog.get_logger(*names)
        return getattr(self._logger, method)


def logger(name: str | None = None) -> Any:
    """A structlog logger (``structlog.get_logger(name)``) that imports structlog when used."""
    return _Logger(name)


def configured() -> bool:
    """Whether the application has configured structlog (then every event goes to it too)."""
    module = sys.modules.get("structlog")
    return module is not None and bool(module.is_configured())
