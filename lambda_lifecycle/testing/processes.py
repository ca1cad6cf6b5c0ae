"""The environment of real processes the ``lambda_processes`` fixture starts.

:func:`start_processes` runs your function the way ``lambda-lifecycle serve`` does: the runtime
(awslambdaric with your ``module.function`` handler, or any bootstrap command) and the
executables of an extensions directory, as processes behind the Runtime, Extensions and
Telemetry APIs on a free loopback port. It needs the ``server`` extra. Real time: keep the
function's timeout short.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ..core.config import FunctionConfig
from ..processes import ProcessRuntime, discover_extensions
from ..server import Emulator
from .harness import LambdaHarness


@asynccontextmanager
async def start_processes(
    handler: str | None = None,
    *,
    command: Sequence[str] | None = None,
    extensions_dir: str | os.PathLike[str] | None = None,
    task_root: str | os.PathLike[str] | None = None,
    variables: dict[str, str] | None = None,
    **config: Any,
) -> AsyncIterator[LambdaHarness]:
    """Your function as real processes over HTTP (the ``lambda_processes`` fixture)."""
    if (handler is None) == (command is None):
        raise TypeError("lambda_processes takes a handler ('module.function') or a command")
    root = Path(task_root) if task_root is not None else Path.cwd()
    argv = list(command) if command is not None else [sys.executable, "-m", "awslambdaric"]
    if handler is not None:
        argv.append(handler)
        config.setdefault("handler", handler)
    lines: list[str] = []
    extensions = discover_extensions(extensions_dir) if extensions_dir is not None else []
    emulator = Emulator(
        ProcessRuntime(argv, cwd=root),
        extensions,
        FunctionConfig(**config),
        runtime_api=("127.0.0.1", 0),
        invoke=None,
        variables={
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LAMBDA_TASK_ROOT": str(root),
            **(variables or {}),
        },
        log=lines.append,
    )
    async with emulator:
        harness = LambdaHarness(emulator.env)
        harness.lines = lines
        emulator.env.listen(harness.record)
        yield harness
