"""A function's configuration, validated against AWS's documented ranges.

An execution environment is set up from this record: the timeout bounds every Invoke phase, the
initialization type picks the Init limit, the memory size is reported in REPORT lines. A value
outside AWS's range is refused with :class:`ConfigurationError` naming the field, the value and
the range, so a test never runs with a configuration Lambda itself would reject.

The ranges and the defaults are the spec's (``deadlines.invoke`` for the timeout, ``limits`` for
memory, ``/tmp`` and the number of extensions): :func:`ranges` reads them from
:func:`lambda_lifecycle.specs.load_spec` on first use, never at import, and keeps them. The
module constants ``TIMEOUT_RANGE_S``, ``MEMORY_RANGE_MB``, ``EPHEMERAL_STORAGE_RANGE_MB`` and
``MAX_EXTENSIONS`` are the same numbers, computed when first read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Literal, get_args

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .spec import Spec

    TIMEOUT_RANGE_S: tuple[float, float]
    MEMORY_RANGE_MB: tuple[int, int]
    EPHEMERAL_STORAGE_RANGE_MB: tuple[int, int]
    MAX_EXTENSIONS: int

InitializationType = Literal["on-demand", "provisioned-concurrency", "snap-start"]
INITIALIZATION_TYPES: tuple[str, ...] = get_args(InitializationType)

_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_VERSION = re.compile(r"^(\$LATEST|[0-9]{1,10})$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-[0-9]+$")
_ACCOUNT = re.compile(r"^[0-9]{12}$")


@dataclass(frozen=True, slots=True)
class Ranges:
    """The spec's ranges and defaults of a function's configuration, in this module's units."""

    timeout_s: tuple[float, float]
    timeout_default_s: float
    memory_mb: tuple[int, int]
    memory_default_mb: int
    ephemeral_storage_mb: tuple[int, int]
    ephemeral_storage_default_mb: int
    max_extensions: int

    @classmethod
    def of(cls, spec: Spec) -> Ranges:
        """The ranges ``spec`` states."""
        invoke, limits = spec.deadlines, spec.limits
        return cls(
            timeout_s=(invoke.invoke_min_ms / 1000, invoke.invoke_max_ms / 1000),
            timeout_default_s=invoke.invoke_default_ms / 1000,
            memory_mb=(limits.memory_min_mb, limits.memory_max_mb),
            memory_default_mb=limits.memory_default_mb,
            ephemeral_storage_mb=(limits.ephemeral_storage_min_mb, limits.ephemeral_storage_max_mb),
            ephemeral_storage_default_mb=limits.ephemeral_storage_default_mb,
            max_extensions=limits.max_extensions,
        )


@cache
def ranges() -> Ranges:
    """The bundled spec's ranges (read on first use, then kept)."""
    from ..specs import load_spec  # noqa: PLC0415 (the spec file is read on first use only)

    return Ranges.of(load_spec())


_CONSTANTS = {
    "TIMEOUT_RANGE_S": "timeout_s",
    "MEMORY_RANGE_MB": "memory_mb",
    "EPHEMERAL_STORAGE_RANGE_MB": "ephemeral_storage_mb",
    "MAX_EXTENSIONS": "max_extensions",
}


def __getattr__(name: str) -> object:
    attribute = _CONSTANTS.get(name)
    if attribute is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(ranges(), attribute)
    globals()[name] = value
    return value


def _default_timeout() -> float:
    return ranges().timeout_default_s


def _default_memory() -> int:
    return ranges().memory_default_mb


def _default_ephemeral_storage() -> int:
    return ranges().ephemeral_storage_default_mb


@dataclass(frozen=True, slots=True)
class FunctionConfig:
    """What Lambda knows about a function when it sets up an environment for it.

    ``timeout`` is in seconds (AWS takes whole seconds; fractions are accepted here so that
    tests of real processes can stay short). The ranges and the defaults of ``timeout``,
    ``memory_mb`` and ``ephemeral_storage_mb`` are the spec's (see :func:`ranges`).
    ``idle_timeout`` and ``max_lifetime`` (seconds, off by default) make the environment spin
    down on its own, as Lambda does after an idle period and every few hours for maintenance.
    """

    function_name: str = "function"
    function_version: str = "$LATEST"
    timeout: float = field(default_factory=_default_timeout)
    memory_mb: int = field(default_factory=_default_memory)
    initialization_type: InitializationType = "on-demand"
    ephemeral_storage_mb: int = field(default_factory=_default_ephemeral_storage)
    handler: str = "index.handler"
    region: str = "us-east-1"
    account_id: str = "000000000000"
    runtime_version: str | None = None
    idle_timeout: float | None = None
    max_lifetime: float | None = None

    def __post_init__(self) -> None:
        if not _NAME.match(self.function_name):
            raise ConfigurationError(
                f"function_name {self.function_name!r} must be 1 to 64 letters, digits, - or _"
            )
        if not _VERSION.match(self.function_version):
            raise ConfigurationError(
                f"function_version {self.function_version!r} must be '$LATEST' or a number"
            )
        limits = ranges()
        _in_range("timeout", self.timeout, limits.timeout_s, "s")
        _in_range("memory_mb", self.memory_mb, limits.memory_mb, "MB", integer=True)
        _in_range(
            "ephemeral_storage_mb",
            self.ephemeral_storage_mb,
            limits.ephemeral_storage_mb,
            "MB",
            integer=True,
        )
        if self.initialization_type not in INITIALIZATION_TYPES:
            raise ConfigurationError(
                f"initialization_type {self.initialization_type!r} must be one of "
                + ", ".join(INITIALIZATION_TYPES)
            )
        if self.initialization_type == "snap-start" and self.function_version == "$LATEST":
            raise ConfigurationError(
                "SnapStart works only on published versions: give function_version a number"
            )
        if not _REGION.match(self.region):
            raise ConfigurationError(f"region {self.region!r} is not an AWS region name")
        if not _ACCOUNT.match(self.account_id):
            raise ConfigurationError(f"account_id {self.account_id!r} must be 12 digits")
        for name in ("idle_timeout", "max_lifetime"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds or None")

    @property
    def function_arn(self) -> str:
        """The ARN an invocation names (``invokedFunctionArn``)."""
        arn = f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"
        if self.function_version != "$LATEST":
            arn += f":{self.function_version}"
        return arn

    @property
    def timeout_ms(self) -> int:
        """The function timeout in whole milliseconds."""
        return round(self.timeout * 1000)


def _in_range(
    name: str,
    value: float,
    bounds: tuple[float, float],
    unit: str,
    *,
    integer: bool = False,
) -> None:
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigurationError(f"{name} must be a number, not {value!r}")
    if integer and not isinstance(value, int):
        raise ConfigurationError(f"{name} must be a whole number of {unit}, not {value!r}")
    if not low <= value <= high:
        raise ConfigurationError(
            f"{name} {value!r} is outside AWS's range {low:g} to {high:g} {unit}"
        )
