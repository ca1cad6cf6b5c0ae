"""The invoke endpoint's ``InvokeWithResponseStream``: the response as it is produced.

``POST /2021-11-15/functions/{name}/response-streaming-invocations`` (``{name}`` as for
``Invoke``: the configured name, its ARN, ``function``) invokes the function and answers 200 with
a body of AWS event-stream messages (:mod:`.eventstream`):

- one ``PayloadChunk`` per chunk the runtime streams, sent as it arrives (nothing is held but a
  few chunks in flight, :mod:`.response_streams`); a runtime that answers without streaming
  sends its whole response as one chunk;
- then exactly one ``InvokeComplete``, whose JSON holds ``ErrorCode`` (the error's type) and
  ``ErrorDetails`` (its message) after a function error (an error in the stream's trailers, a
  timeout mid-stream, a crash, a response over 200 MB) and ``LogResult`` with
  ``X-Amz-Log-Type: Tail``.

The response's ``Content-Type`` is the one the runtime set (what the SDKs return as
``ResponseStreamContentType``), so the response starts when the runtime's stream starts, or
when the invocation is answered; ``X-Amz-Executed-Version`` and ``X-Amzn-RequestId`` as for
``Invoke``. ``X-Amz-Invocation-Type`` may be ``RequestResponse`` or ``DryRun`` (204). The event
is limited to 6 MB as for ``Invoke`` (413).
"""

from __future__ import annotations

from typing import Any

import anyio

from ..core.errors import EnvironmentClosed
from ..engine.invocation import InvokeResult, new_request_id
from .eventstream import invoke_complete, payload_chunk
from .http import (
    Receive,
    Scope,
    Send,
    header,
    respond,
)
from .invoke_api import (
    INVOCATION_TYPE,
    LOG_TYPE,
    MAX_REQUEST_BYTES,
    Invoke,
    TailInvoke,
    _refuse,
    accept_route,
    read_request,
)
from .names import FunctionNames
from .response_streams import Done, ResponseStream, ResponseStreams, Start

PREFIX = "/2021-11-15/functions/"
SUFFIX = "/response-streaming-invocations"
EVENT_STREAM = b"application/vnd.amazon.eventstream"


class StreamingAPI:
    """The ASGI app of ``InvokeWithResponseStream``.

    ``invoke`` and ``tail`` are the emulator's serialised invokes (without and with the log
    tail), ``streams`` the pipes the Runtime API fills (shared with
    :class:`~.runtime_api.RuntimeAPI`).
    """

    def __init__(
        self,
        invoke: Invoke,
        tail: TailInvoke,
        streams: ResponseStreams,
        names: FunctionNames,
        version: str,
    ) -> None:
        self._invoke = invoke
        self._tail = tail
        self._streams = streams
        self._names = names
        self._version = version.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if not await accept_route(scope, send, self._names, PREFIX, SUFFIX):
            return
        kind = header(scope, INVOCATION_TYPE)
        if kind not in (None, b"RequestResponse", b"DryRun"):
            await _refuse(
                send,
                400,
                "InvalidParameterValueException",
                f"X-Amz-Invocation-Type {kind.decode('latin-1')!r} is not one of "
                "RequestResponse, DryRun",
            )
            return
        request = await read_request(
            scope, receive, send, MAX_REQUEST_BYTES, "InvokeWithResponseStream"
        )
        if request is None:
            return
        payload, options = request
        if kind == b"DryRun":
            await respond(send, 204, b"")
            return
        tail = header(scope, LOG_TYPE) == b"Tail"
        request_id = new_request_id()
        stream = self._streams.open(request_id)
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._run, stream, payload, request_id, options, tail)
                await self._forward(stream, request_id, send)
        finally:
            self._streams.close(request_id)

    async def _run(
        self,
        stream: ResponseStream,
        payload: bytes,
        request_id: str,
        options: dict[str, Any],
        tail: bool,
    ) -> None:
        """Invoke; the result goes in the stream after the chunks."""
        try:
            if tail:
                result, log = await self._tail(payload, request_id=request_id, **options)
                done = Done(result, log)
            else:
                done = Done(await self._invoke(payload, request_id=request_id, **options))
        except EnvironmentClosed as exc:
            done = Done(None, closed=str(exc))
        await stream.put(done)

    async def _forward(self, stream: ResponseStream, request_id: str, send: Send) -> None:
        """Send each chunk as an event as it comes, then ``InvokeComplete``."""
        started = False
        while True:
            item = await stream.get()
            if isinstance(item, bytes):
                await send(
                    {"type": "http.response.body", "body": payload_chunk(item), "more_body": True}
                )
            elif isinstance(item, Start):
                await self._start(send, item.content_type, request_id)
                started = True
            else:
                stream.close()  # what the runtime still sends (after a timeout) is dropped
                await self._complete(send, item, request_id, started)
                return

    async def _start(self, send: Send, content_type: str, request_id: str) -> None:
        headers = [
            (b"content-type", content_type.encode("latin-1")),
            (b"x-amz-executed-version", self._version),
            (b"x-amzn-requestid", request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})

    async def _complete(self, send: Send, done: Done, request_id: str, started: bool) -> None:
        result: InvokeResult | None = done.result
        if result is None:
            if not started:
                await _refuse(send, 503, "ServiceException", done.closed or "closed")
                return
            end = invoke_complete("ServiceException", done.closed)
        else:
            if not started:
                await self._start(send, result.content_type, request_id)
                if result.ok and result.body:
                    chunk = payload_chunk(result.body)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if result.ok:
                end = invoke_complete(log_result=done.log_result)
            else:
                error = result.error or {}
                end = invoke_complete(
                    str(error.get("errorType", "Unhandled")),
                    str(error.get("errorMessage", "")),
                    done.log_result,
                )
        await send({"type": "http.response.body", "body": end})


def with_streaming(invoke_app: Any, streaming_app: StreamingAPI) -> Any:
    """One ASGI app for the invoke listener: ``InvokeWithResponseStream`` routes to
    ``streaming_app``, everything else to ``invoke_app``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(PREFIX):
            await streaming_app(scope, receive, send)
        else:
            await invoke_app(scope, receive, send)

    return app
