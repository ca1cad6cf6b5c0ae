"""The log tail of one invocation: what ``X-Amz-Log-Type: Tail`` returns.

Lambda answers an ``Invoke`` made with ``X-Amz-Log-Type: Tail`` with ``X-Amz-Log-Result``: the
base64 of the last 4 KB of that invocation's log, its ``START`` to ``REPORT`` lines with the
function's own output between them (the AWS CLI's ``--log-type Tail`` and aws-lambda-power-tuning
read the ``REPORT`` line from it). Since the ``REPORT`` figures are known only when the Invoke
phase ends, an invocation asking for its tail is answered at that end rather than when the runtime
posts its response.

:func:`invoke_with_tail` attaches a CloudWatch log sink (:func:`~lambda_lifecycle.sinks.
attach_log_sink`) for that one invocation only, keeps the lines between the invocation's own
``START`` and ``REPORT``, and detaches it: an invocation that does not ask for its tail costs
nothing more.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..engine.invocation import new_request_id
from ..sinks import attach_log_sink
from ..sinks.cloudwatch import LogFormat

if TYPE_CHECKING:
    from ..engine.environment import Environment
    from ..engine.invocation import InvokeResult

TAIL_BYTES = 4096
"""How much of the end of an invocation's log ``X-Amz-Log-Result`` carries."""

TailInvoke = Callable[..., Awaitable[tuple["InvokeResult", str]]]
"""``tail_invoke(payload, **options)``: an invocation's result and its base64 log tail."""


class _Lines:
    """The log lines of one invocation, from its ``START`` to its ``REPORT``."""

    __slots__ = ("done", "lines", "request_id", "started")

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.started = False
        self.done = False
        self.lines: list[str] = []

    def __call__(self, line: str) -> None:
        if self.done:
            return
        marker = _request_id(line)
        if not self.started:
            if marker != ("START", self.request_id):
                return  # another invocation's lines, or an Init's
            self.started = True
        self.lines.append(line)
        if marker == ("REPORT", self.request_id):
            self.done = True


def _request_id(line: str) -> tuple[str, str] | None:
    """``(kind, request id)`` of a ``START`` / ``END`` / ``REPORT`` line (text or JSON)."""
    for kind in ("START RequestId: ", "REPORT RequestId: "):
        if line.startswith(kind):
            return kind.split()[0], line[len(kind) :].split(maxsplit=1)[0]
    if line.startswith("{") and '"platform.' in line:
        for kind in ("platform.start", "platform.report"):
            if f'"{kind}"' in line:
                start = line.find('"requestId":"')
                if start >= 0:
                    start += len('"requestId":"')
                    return ("START" if kind.endswith("start") else "REPORT"), line[
                        start : line.find('"', start)
                    ]
    return None


def log_tail(lines: list[str], limit: int = TAIL_BYTES) -> str:
    """The base64 of the last ``limit`` bytes of ``lines`` (one line each, newline-ended)."""
    data = "".join(f"{line}\n" for line in lines).encode()
    return base64.b64encode(data[-limit:]).decode("ascii")


async def invoke_with_tail(
    env: Environment,
    invoke: Callable[..., Awaitable[InvokeResult]],
    payload: Any,
    *,
    log_format: LogFormat = "text",
    **options: Any,
) -> tuple[InvokeResult, str]:
    """Invoke through ``invoke`` and return the result with its base64 log tail, once the
    invocation's Invoke phase has ended (its ``REPORT`` line written)."""
    request_id = options.pop("request_id", None) or new_request_id()
    lines = _Lines(request_id)
    sink = attach_log_sink(env, lines, log_format=log_format)
    try:
        result = await invoke(payload, request_id=request_id, **options)
        await result.report()
    finally:
        sink.close()  # writes a START still due, then detaches
    return result, log_tail(lines.lines)
