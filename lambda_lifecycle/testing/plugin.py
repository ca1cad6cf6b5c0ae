"""The pytest plugin: fixtures that start an execution environment for your test.

Installed with lambda-lifecycle and loaded by pytest through the ``pytest11`` entry point. Both
fixtures are plain (synchronous) fixtures that return a factory; the factory is an async
context manager, so the test is an async test of whichever plugin you use (anyio's, which
comes with lambda-lifecycle, or pytest-asyncio), and the environment is spun down when the
block ends, whatever happens in it:

- ``lambda_harness(handler, *, init=None, extensions=(), telemetry=False, **config)``: your
  Python ``handler(event, context)`` (and its static ``init()`` code) as an in-process runtime,
  with in-process extensions; ``config`` is :class:`~lambda_lifecycle.FunctionConfig`'s fields
  (``timeout``, ``memory_mb``, ``initialization_type``, ...). Run it in virtual time (looptime)
  and a 900 s timeout costs nothing.
- ``lambda_processes(handler=None, *, command=None, extensions_dir=None, task_root=None,
  variables=None, **config)``: your real function as processes behind the Runtime,
  Extensions and Telemetry APIs, as ``lambda-lifecycle serve`` runs it: ``handler``
  (``module.function``, run by awslambdaric from ``task_root``) or a bootstrap ``command``, and
  the executables of ``extensions_dir`` as external extensions. Real time: keep timeouts short,
  and never run it under a virtual clock.

Each yields a :class:`~lambda_lifecycle.testing.LambdaHarness`. Nothing here is imported until a
fixture is used, so the plugin costs a project that does not use it nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .harness import LambdaHarness

HarnessFactory = Callable[..., AbstractAsyncContextManager["LambdaHarness"]]


@pytest.fixture
def lambda_harness() -> HarnessFactory:
    """A factory of in-process environments under test: ``async with lambda_harness(handler,
    timeout=3) as fn: answer = await fn.invoke({...})``."""
    from .starters import start_harness  # noqa: PLC0415 (loaded only when a test uses it)

    return start_harness


@pytest.fixture
def lambda_processes() -> HarnessFactory:
    """A factory of environments of real processes under test: ``async with
    lambda_processes("app.handler", task_root=..., timeout=1) as fn: ...``."""
    from .processes import start_processes  # noqa: PLC0415 (loaded only when a test uses it)

    return start_processes
