"""A Python handler run the way a Lambda runtime client runs it, as an in-process runtime.

:class:`HandlerRuntime` takes ``handler(event, context)`` (a plain or an ``async`` function) and
behaves like the Python runtime interface client: the payload is decoded from JSON, the return
value encoded to JSON, an exception becomes the error JSON ``{"errorMessage", "errorType",
"stackTrace"}`` (the exception's class name as ``errorType``, as on AWS), and ``SystemExit``
ends the runtime (``Runtime.ExitError``). ``init`` (optional) is the module's static code: it
runs once per Init, before the first invocation, so a Reset runs it again, exactly as the
module globals of a real function start afresh after a Reset. :class:`LambdaContext` carries
the context object's documented attributes and ``get_remaining_time_in_millis()``.

A plain handler runs on the event loop: one that blocks (``time.sleep``) blocks the whole
environment, timers included. Write a handler that waits as ``async def`` (``await
anyio.sleep(...)``) to test timeouts in virtual time.
"""

from __future__ import annotations

import inspect
import json
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from ..engine.clients import RuntimeClient, RuntimeEvent
from ..engine.inprocess import InProcessProcess, InProcessRuntime
from ..engine.participant import StartContext

Handler = Callable[[Any, "LambdaContext"], Any]
Init = Callable[[], Any]


@dataclass(frozen=True, slots=True)
class LambdaContext:
    """The ``context`` argument of a handler, with the attributes Lambda documents."""

    aws_request_id: str
    invoked_function_arn: str
    function_name: str
    function_version: str
    memory_limit_in_mb: int
    log_group_name: str
    log_stream_name: str
    deadline_ms: int
    client_context: Any = None
    identity: Any = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function times out."""
        return max(0, self.deadline_ms - int(time.time() * 1000))


def error_json(exc: BaseException) -> dict[str, Any]:
    """The error body the Python runtime client posts for an exception."""
    return {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


class HandlerRuntime:
    """A runtime that serves ``handler(event, context)``; ``init()`` is its static code."""

    __slots__ = ("handler", "init", "name")

    def __init__(self, handler: Handler, init: Init | None = None, name: str = "bootstrap"):
        self.handler = handler
        self.init = init
        self.name = name

    async def start(self, client: RuntimeClient, ctx: StartContext) -> InProcessProcess:
        """Start the runtime loop as a task of the environment."""
        variables = ctx.environment

        async def main(client: RuntimeClient) -> None:
            if self.init is not None:
                try:
                    await _maybe_await(self.init())
                except Exception as exc:  # the function's static code failed: an init error
                    client.init_error(error_json(exc))
                    raise SystemExit(1) from exc
            while True:
                event = await client.next()
                await self._serve(client, event, variables)

        return await InProcessRuntime(main, self.name).start(client, ctx)

    async def _serve(self, client: RuntimeClient, event: RuntimeEvent, variables: Any) -> None:
        context = LambdaContext(
            aws_request_id=event.request_id,
            invoked_function_arn=event.invoked_function_arn,
            function_name=variables.get("AWS_LAMBDA_FUNCTION_NAME", ""),
            function_version=variables.get("AWS_LAMBDA_FUNCTION_VERSION", ""),
            memory_limit_in_mb=int(variables.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0")),
            log_group_name=variables.get("AWS_LAMBDA_LOG_GROUP_NAME", ""),
            log_stream_name=variables.get("AWS_LAMBDA_LOG_STREAM_NAME", ""),
            deadline_ms=event.deadline_ms,
            client_context=event.client_context,
            identity=event.cognito_identity,
        )
        try:
            payload = json.loads(event.payload) if event.payload else None
            result = await _maybe_await(self.handler(payload, context))
            body = json.dumps(result).encode()
        except Exception as exc:
            client.error(event.request_id, error_json(exc))
            return
        client.respond(event.request_id, body)


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        awaitable: Awaitable[Any] = value
        return await awaitable
    return value
