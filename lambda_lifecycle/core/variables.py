"""The environment variables Lambda gives the runtime and the extensions.

The runtime gets the function's reserved variables (``_HANDLER``, ``LAMBDA_TASK_ROOT``,
``AWS_LAMBDA_FUNCTION_NAME``, ...). Extensions get the same set *less* the variables AWS withholds
from them (``_HANDLER``, ``LAMBDA_TASK_ROOT``, the log group and stream names, the X-Ray daemon
address, ...). ``TMPDIR`` points at the environment's own ``/tmp`` directory.

The variables that come from the function's configuration (its name, version, memory size,
initialization type, region, log group and stream) are reserved on Lambda: a function variable
cannot set them, so a value for one of them in ``extra`` is ignored and the runtime always sees
the configuration it actually runs with (Powertools, for one, decides ``cold_start`` from
``AWS_LAMBDA_INITIALIZATION_TYPE``). ``TZ`` is ``:UTC`` unless a function variable sets it, as
Lambda allows. :func:`runtime_settings` builds the variables that describe the runtime itself
(``AWS_EXECUTION_ENV``, ``LAMBDA_RUNTIME_DIR``) and the function's logging configuration
(``AWS_LAMBDA_LOG_FORMAT``, ``AWS_LAMBDA_LOG_LEVEL``), which a front end passes in ``extra``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .config import FunctionConfig


WITHHELD_FROM_EXTENSIONS = frozenset(
    {
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_XRAY_CONTEXT_MISSING",
        "AWS_XRAY_DAEMON_ADDRESS",
        "LAMBDA_RUNTIME_DIR",
        "LAMBDA_TASK_ROOT",
        "_AWS_XRAY_DAEMON_ADDRESS",
        "_AWS_XRAY_DAEMON_PORT",
        "_HANDLER",
    }
)


LOG_FORMATS = {"text": "Text", "json": "JSON"}
"""``AWS_LAMBDA_LOG_FORMAT`` for each log format, spelt as Lambda spells it."""
APPLICATION_LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")
"""The values of ``AWS_LAMBDA_LOG_LEVEL`` (a function's application log level)."""


def runtime_settings(
    *,
    execution_env: str | None = None,
    runtime_dir: str | None = None,
    log_format: str | None = None,
    log_level: str | None = None,
) -> dict[str, str]:
    """The variables describing the runtime and the function's logging configuration.

    Each is left out when its value is None, as Lambda leaves ``AWS_EXECUTION_ENV`` out for an
    OS-only runtime and ``AWS_LAMBDA_LOG_LEVEL`` out when no application log level is set.
    ``log_format`` is ``text`` or ``json``; ``log_level`` one of :data:`APPLICATION_LOG_LEVELS`.
    """
    variables: dict[str, str] = {}
    if execution_env is not None:
        variables["AWS_EXECUTION_ENV"] = execution_env
    if runtime_dir is not None:
        variables["LAMBDA_RUNTIME_DIR"] = runtime_dir
    if log_format is not None:
        variables["AWS_LAMBDA_LOG_FORMAT"] = LOG_FORMATS[log_format]
    if log_level is not None:
        if log_level not in APPLICATION_LOG_LEVELS:
            raise ValueError(f"{log_level!r} is not one of {', '.join(APPLICATION_LOG_LEVELS)}")
        variables["AWS_LAMBDA_LOG_LEVEL"] = log_level
    return variables


def log_stream_name(config: FunctionConfig, wall_seconds: float, token: str) -> str:
    """``YYYY/MM/DD/[<version>]<32 hex>``, the CloudWatch stream of one environment."""
    day = time.strftime("%Y/%m/%d", time.gmtime(wall_seconds))
    return f"{day}/[{config.function_version}]{token[:32]}"


def participant_variables(
    config: FunctionConfig,
    kind: str,
    tmp_dir: Path,
    extra: Mapping[str, str],
    wall_seconds: float,
    *,
    token: str | None = None,
) -> dict[str, str]:
    """The variables of a participant of ``kind`` (runtime, internal or external).

    ``extra`` holds the user's function variables and the front end's own (for example
    ``AWS_LAMBDA_RUNTIME_API``); they are given to every participant, except that the reserved
    variables of the configuration always keep the configuration's values.
    """
    reserved = {
        "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": config.function_version,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_INITIALIZATION_TYPE": config.initialization_type,
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(
            config, wall_seconds, token or os.urandom(16).hex()
        ),
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "_HANDLER": config.handler,
    }
    variables = {
        "LAMBDA_TASK_ROOT": str(Path.cwd()),
        "TZ": ":UTC",
        "TMPDIR": str(tmp_dir),
        **extra,
        **reserved,
    }
    if kind == "external":
        for name in WITHHELD_FROM_EXTENSIONS:
            variables.pop(name, None)
    return variables
