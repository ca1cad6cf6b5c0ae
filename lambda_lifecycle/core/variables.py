"""The environment variables Lambda gives the runtime and the extensions.

The runtime gets the function's reserved variables (``_HANDLER``, ``LAMBDA_TASK_ROOT``,
``AWS_LAMBDA_FUNCTION_NAME``, ...). Extensions get the same set *less* the variables AWS withholds
from them (``_HANDLER``, ``LAMBDA_TASK_ROOT``, the log group and stream names, the X-Ray daemon
address, ...). ``TMPDIR`` points at the environment's own ``/tmp`` directory.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

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
    ``AWS_LAMBDA_RUNTIME_API``); they are given to every participant.
    """
    variables = {
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
        "LAMBDA_TASK_ROOT": str(Path.cwd()),
        "_HANDLER": config.handler,
        "TZ": ":UTC",
        "TMPDIR": str(tmp_dir),
        **extra,
    }
    if kind == "external":
        for name in WITHHELD_FROM_EXTENSIONS:
            variables.pop(name, None)
    return variables
