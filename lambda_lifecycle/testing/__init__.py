"""Testing your own functions and extensions against the lifecycle, with pytest.

The package is a pytest plugin (registered through the ``pytest11`` entry point, so installing
lambda-lifecycle is enough) and the helpers its fixtures hand out:

- :class:`HandlerRuntime` (:mod:`.handler`): a Python ``handler(event, context)`` run the way
  a Lambda runtime client runs it, in-process;
- :class:`LambdaHarness` (:mod:`.harness`): an environment under test, with its answers, its
  CloudWatch lines, the telemetry an extension received, its transitions, and the means to
  force what you want to test (a crash, a spin-down);
- the fixtures (:mod:`.plugin`): ``lambda_harness`` for in-process participants in virtual
  time, ``lambda_processes`` for your real handler, bootstrap and extensions as processes, in
  real time.

``docs/testing.md`` has a worked example.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .handler import HandlerRuntime, LambdaContext
    from .harness import Answer, LambdaHarness, LifecycleMismatch

__all__ = ["Answer", "HandlerRuntime", "LambdaContext", "LambdaHarness", "LifecycleMismatch"]

__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "HandlerRuntime": ".handler",
        "LambdaContext": ".handler",
        "Answer": ".harness",
        "LambdaHarness": ".harness",
        "LifecycleMismatch": ".harness",
    },
)
