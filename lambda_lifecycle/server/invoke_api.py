"""The invoke endpoint: Lambda's ``Invoke`` API, compatible with the AWS emulator's.

``POST /2015-03-31/functions/function/invocations`` (the AWS emulator's fixed name) or
``/2015-03-31/functions/{name}/invocations`` with the configured function name or its ARN (the
forms :mod:`.names` lists) invokes the function with the request body as the event, and answers
**as soon as the runtime posts its response**, not when the extensions are done, as Lambda does:

- status 200 with the runtime's own ``Content-Type`` and body;
- a function error (an error the runtime posted, a timeout, a crash, an oversized response, an
  init failure) is status 200 too, with ``X-Amz-Function-Error: Unhandled`` and the error JSON
  as the body (``Sandbox.Timedout``, ``Runtime.ExitError``, ``Function.ResponseSizeTooLarge``,
  ...), never an empty body or plain text;
- ``X-Amz-Executed-Version`` and ``X-Amzn-RequestId`` name the version and the request id.

``X-Amz-Client-Context`` (base64 of a JSON object) reaches the runtime as
``Lambda-Runtime-Client-Context``; ``X-Amzn-Trace-Id`` becomes the invocation's trace header, in
``Lambda-Runtime-Trace-Id`` and in the ``tracing`` of the extensions' INVOKE event.
``X-Amz-Invocation-Type: DryRun`` answers 204 without invoking; ``Event`` answers 202 and queues
the invocation (retried as Lambda retries it, :mod:`.async_invoke`). ``X-Amz-Log-Type: Tail``
adds ``X-Amz-Log-Result``, the base64 of the end of the invocation's log (:mod:`.tail`).

**Limits.** An event over 6,291,456 bytes (1,048,576 for an ``Event`` invocation) is refused
with 413 ``RequestEntityTooLargeException`` before any phase starts; the body is read only up to
the limit (a ``Content-Length`` over it is refused without reading at all).

**Errors** of the endpoint itself have the Invoke API's shape: header ``X-Amzn-ErrorType``, body
``{"Type": "User", "message": ...}`` (``"Service"`` for a 5xx), plus the ``errorMessage`` and
``errorType`` every API of the emulator answers.

**Concurrency.** An execution environment serves one invocation at a time. Two requests at the
same time do not fail: they queue, first come first served, on a lock around the environment's
invoke, and each is served in turn by the same environment.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from ..core.config import FunctionConfig
from ..core.errors import EnvironmentClosed, TooManyRequestsException
from ..engine.invocation import InvokeResult
from .http import (
    Disconnected,
    Receive,
    Scope,
    Send,
    TooLarge,
    declared_length,
    header,
    json_bytes,
    parse_json,
    read_body,
    respond,
    respond_error,
)
from .memory import LARGE_BODY, trim_soon
from .names import FunctionNames
from .throttle import respond_throttled

PREFIX = "/2015-03-31/functions/"
SUFFIX = "/invocations"
CLIENT_CONTEXT = b"x-amz-client-context"
TRACE_ID = b"x-amzn-trace-id"
INVOCATION_TYPE = b"x-amz-invocation-type"
LOG_TYPE = b"x-amz-log-type"

MAX_REQUEST_BYTES = 6_291_456
"""The largest event of a synchronous invocation (6 MiB; a response may be 100 bytes more)."""
MAX_EVENT_BYTES = 1_048_576
"""The largest event of an asynchronous (``Event``) invocation (1 MiB since October 2025)."""

Invoke = Callable[..., Awaitable[InvokeResult]]
Spawn = Callable[[Callable[[], Coroutine[Any, Any, None]]], None]
TailInvoke = Callable[..., Awaitable[tuple[InvokeResult, str]]]
Enqueue = Callable[[bytes, dict[str, Any]], str]

_TYPES = (b"RequestResponse", b"Event", b"DryRun")


def aws_error(
    status: int, error_type: str, message: str
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """An error of the Invoke API: ``X-Amzn-ErrorType`` and ``{"Type", "message"}`` (what the
    AWS SDKs read), with the ``errorMessage`` and ``errorType`` of the emulator's other APIs."""
    body = {
        "Type": "Service" if status >= 500 else "User",
        "message": message,
        "errorMessage": message,
        "errorType": error_type,
    }
    return json_bytes(body), [(b"x-amzn-errortype", error_type.encode())]


async def _refuse(send: Send, status: int, error_type: str, message: str) -> None:
    await respond_error(send, status, error_type, message, aws_error)


class InvokeAPI:
    """The ASGI app of the invoke endpoint.

    ``invoke`` is the emulator's serialised invoke (``Emulator.invoke``); ``names`` the function
    names the path may carry (or, with ``config``, the forms of :mod:`.names` for that
    function); ``spawn`` starts a background task (for ``Event`` invocations). ``tail``
    invokes and returns the base64 log tail too (``X-Amz-Log-Type: Tail``, :mod:`.tail`);
    ``enqueue`` queues an ``Event`` invocation and returns its request id (:mod:`.async_invoke`).
    """

    def __init__(
        self,
        invoke: Invoke,
        names: set[str],
        version: str,
        spawn: Spawn | None = None,
        *,
        config: FunctionConfig | None = None,
        tail: TailInvoke | None = None,
        enqueue: Enqueue | None = None,
    ) -> None:
        self._invoke = invoke
        self._tail = tail
        self._enqueue = enqueue
        self._names = (
            FunctionNames.of(config) if config is not None else FunctionNames(names, version)
        )
        self._version = version.encode()
        self._spawn = spawn

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if not await accept_route(scope, send, self._names, PREFIX, SUFFIX):
            return
        kind = header(scope, INVOCATION_TYPE)
        if kind is not None and kind not in _TYPES:
            await _refuse(
                send,
                400,
                "InvalidParameterValueException",
                f"X-Amz-Invocation-Type {kind.decode('latin-1')!r} is not one of "
                "RequestResponse, Event, DryRun",
            )
            return
        limit = MAX_EVENT_BYTES if kind == b"Event" else MAX_REQUEST_BYTES
        request = await read_request(scope, receive, send, limit, "InvokeFunction")
        if request is None:
            return
        payload, options = request
        if kind is not None and kind != b"RequestResponse":
            await self._other_type(kind, payload, options, send)
            return
        log_result: str | None = None
        try:
            if self._tail is not None and header(scope, LOG_TYPE) == b"Tail":
                result, log_result = await self._tail(payload, **options)
            else:
                result = await self._invoke(payload, **options)
        except TooManyRequestsException as exc:  # a pool at its concurrency limit
            await respond_throttled(send, exc)
            return
        except EnvironmentClosed as exc:
            await _refuse(send, 503, "ServiceException", str(exc))
            return
        headers = [
            (b"x-amz-executed-version", self._version),
            (b"x-amzn-requestid", result.request_id.encode()),
        ]
        if log_result is not None:
            headers.append((b"x-amz-log-result", log_result.encode()))
        if result.function_error is not None:
            headers.append((b"x-amz-function-error", result.function_error.encode()))
        body = result.body
        await respond(send, 200, body, result.content_type.encode(), headers)
        if len(payload) + len(body) >= LARGE_BODY:
            trim_soon()

    async def _other_type(
        self, kind: bytes, payload: bytes, options: dict[str, Any], send: Send
    ) -> None:
        if kind == b"DryRun":
            await respond(send, 204, b"")
            return
        if self._enqueue is not None:
            request_id = self._enqueue(payload, options)
            await respond(send, 202, b"", headers=[(b"x-amzn-requestid", request_id.encode())])
            return
        if self._spawn is None:
            await _refuse(
                send,
                400,
                "InvalidParameterValueException",
                "Event invocations are not served here",
            )
            return

        async def background() -> None:
            with contextlib.suppress(EnvironmentClosed, TooManyRequestsException):
                await self._invoke(payload, **options)

        self._spawn(background)
        await respond(send, 202, b"")


async def accept_route(
    scope: Scope, send: Send, names: FunctionNames, prefix: str, suffix: str
) -> bool:
    """Whether the request is a POST to ``prefix{function}suffix`` naming this function, as
    the Invoke API's routes all are; otherwise it is refused here (404, or 405)."""
    path: str = scope["path"]
    if not (path.startswith(prefix) and path.endswith(suffix)) or len(path) <= len(prefix) + len(
        suffix
    ):
        await _refuse(send, 404, "ResourceNotFoundException", f"no such route: {path}")
        return False
    lookup = names.lookup(path[len(prefix) : -len(suffix)], scope["query_string"])
    if not lookup.found:
        await _refuse(send, lookup.status, lookup.error_type, lookup.message)
        return False
    if scope["method"] != "POST":
        await _refuse(send, 405, "MethodNotAllowed", "invoke with POST")
        return False
    return True


async def read_request(
    scope: Scope, receive: Receive, send: Send, limit: int, operation: str
) -> tuple[bytes, dict[str, Any]] | None:
    """An invocation's event (at most ``limit`` bytes) and its options (client context, trace
    id) from the request, as ``Invoke`` and ``InvokeWithResponseStream`` read them; None when
    the request was refused (answered here) or the caller went away."""
    declared = declared_length(scope)
    try:
        if declared is not None and declared > limit:
            raise TooLarge(limit)
        payload = await read_body(receive, limit)
    except TooLarge:
        await _refuse(
            send,
            413,
            "RequestEntityTooLargeException",
            f"Request must be smaller than {limit} bytes for the {operation} operation",
        )
        return None
    except Disconnected:
        return None
    options: dict[str, Any] = {}
    context = header(scope, CLIENT_CONTEXT)
    if context is not None:
        decoded = _client_context(context)
        if decoded is None:
            await _refuse(
                send,
                400,
                "InvalidRequestContentException",
                "Client context must be a valid Base64-encoded JSON object.",
            )
            return None
        options["client_context"] = decoded
    trace = header(scope, TRACE_ID)
    if trace is not None:
        options["trace_id"] = trace.decode("latin-1")
    return payload, options


def _client_context(value: bytes) -> str | None:
    """The JSON text of a base64 client context (one line), or None when it is not valid."""
    try:
        text = base64.b64decode(value, validate=True)
        parsed = parse_json(text)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(parsed, dict):
        return None
    return json.dumps(parsed, separators=(",", ":"))
