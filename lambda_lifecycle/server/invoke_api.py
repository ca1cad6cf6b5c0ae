"""The invoke endpoint: Lambda's ``Invoke`` API, compatible with the AWS emulator's.

``POST /2015-03-31/functions/function/invocations`` (the AWS emulator's fixed name) or
``/2015-03-31/functions/{name}/invocations`` with the configured function name (or its ARN)
invokes the function with the request body as the event, and answers **as soon as the runtime
posts its response**, not when the extensions are done, exactly as Lambda does:

- status 200 with the runtime's own ``Content-Type`` and body;
- a function error (an error the runtime posted, a timeout, a crash, an oversized response, an
  init failure) is status 200 too, with ``X-Amz-Function-Error: Unhandled`` and the error JSON
  as the body (``Sandbox.Timedout``, ``Runtime.ExitError``, ``Function.ResponseSizeTooLarge``,
  ...), never an empty body or plain text;
- ``X-Amz-Executed-Version`` and ``X-Amzn-RequestId`` name the version and the request id.

``X-Amz-Client-Context`` (base64 of a JSON object) reaches the runtime as
``Lambda-Runtime-Client-Context``; ``X-Amzn-Trace-Id`` becomes the invocation's trace header, in
``Lambda-Runtime-Trace-Id`` and in the ``tracing`` of the extensions' INVOKE event.
``X-Amz-Invocation-Type: DryRun`` answers 204 without invoking; ``Event`` answers 202 and runs
the invocation in the background.

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

from ..core.errors import EnvironmentClosed, TooManyRequestsException
from ..engine.invocation import InvokeResult
from .http import Disconnected, Receive, Scope, Send, header, read_body, respond, respond_error
from .throttle import respond_throttled

PREFIX = "/2015-03-31/functions/"
SUFFIX = "/invocations"
CLIENT_CONTEXT = b"x-amz-client-context"
TRACE_ID = b"x-amzn-trace-id"
INVOCATION_TYPE = b"x-amz-invocation-type"

Invoke = Callable[..., Awaitable[InvokeResult]]
Spawn = Callable[[Callable[[], Coroutine[Any, Any, None]]], None]


class InvokeAPI:
    """The ASGI app of the invoke endpoint.

    ``invoke`` is the emulator's serialised invoke (``Emulator.invoke``); ``names`` the function
    names the path may carry; ``spawn`` starts a background task (for ``Event`` invocations).
    """

    def __init__(
        self, invoke: Invoke, names: set[str], version: str, spawn: Spawn | None = None
    ) -> None:
        self._invoke = invoke
        self._names = names
        self._version = version.encode()
        self._spawn = spawn

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            await respond_error(send, 404, "ResourceNotFoundException", f"no such route: {path}")
            return
        name = path[len(PREFIX) : -len(SUFFIX)]
        if name not in self._names and name.split(":")[-1] not in self._names:
            await respond_error(
                send, 404, "ResourceNotFoundException", f"Function not found: {name}"
            )
            return
        if scope["method"] != "POST":
            await respond_error(send, 405, "MethodNotAllowed", "invoke with POST")
            return
        try:
            payload = await read_body(receive)
        except Disconnected:
            return
        options: dict[str, Any] = {}
        context = header(scope, CLIENT_CONTEXT)
        if context is not None:
            decoded = _client_context(context)
            if decoded is None:
                await respond_error(
                    send,
                    400,
                    "InvalidRequestContentException",
                    "Client context must be a valid Base64-encoded JSON object.",
                )
                return
            options["client_context"] = decoded
        trace = header(scope, TRACE_ID)
        if trace is not None:
            options["trace_id"] = trace.decode("latin-1")
        kind = header(scope, INVOCATION_TYPE)
        if kind is not None and kind != b"RequestResponse":
            await self._other_type(kind, payload, options, send)
            return
        try:
            result = await self._invoke(payload, **options)
        except TooManyRequestsException as exc:  # a pool at its concurrency limit
            await respond_throttled(send, exc)
            return
        except EnvironmentClosed as exc:
            await respond_error(send, 503, "ServiceException", str(exc))
            return
        headers = [
            (b"x-amz-executed-version", self._version),
            (b"x-amzn-requestid", result.request_id.encode()),
        ]
        if result.function_error is not None:
            headers.append((b"x-amz-function-error", result.function_error.encode()))
        await respond(send, 200, result.body, result.content_type.encode(), headers)

    async def _other_type(
        self, kind: bytes, payload: bytes, options: dict[str, Any], send: Send
    ) -> None:
        if kind == b"DryRun":
            await respond(send, 204, b"")
            return
        if kind == b"Event" and self._spawn is not None:

            async def background() -> None:
                with contextlib.suppress(EnvironmentClosed, TooManyRequestsException):
                    await self._invoke(payload, **options)

            self._spawn(background)
            await respond(send, 202, b"")
            return
        await respond_error(
            send,
            400,
            "InvalidParameterValueException",
            f"X-Amz-Invocation-Type {kind.decode('latin-1')!r} is not one of "
            "RequestResponse, Event, DryRun",
        )


def _client_context(value: bytes) -> str | None:
    """The JSON text of a base64 client context (one line), or None when it is not valid."""
    try:
        text = base64.b64decode(value, validate=True)
        parsed = json.loads(text)
    except (binascii.Error, ValueError):
        return None
    if not isinstance(parsed, dict):
        return None
    return json.dumps(parsed, separators=(",", ":"))
