"""A streamed response, as the runtime posts it to ``/runtime/invocation/{id}/response``.

With ``Lambda-Runtime-Function-Response-Mode: streaming`` (any other value is 400
``Runtime.InvalidResponseModeHeader``) the runtime sends its response as a chunked body:

- the ``Content-Type`` it sets is the one the caller receives;
- each chunk goes on to the caller as it arrives (:mod:`.response_streams`), when the caller
  invoked with ``InvokeWithResponseStream``; a plain ``Invoke`` receives the whole response
  at its end, within the usual 6 MB;
- an error in the middle of the stream comes as the trailers ``Lambda-Runtime-Function-Error-Type``
  and ``Lambda-Runtime-Function-Error-Body`` (the base64 of the error JSON), declared in a
  ``Trailer`` header; Lambda takes the response as complete, with that function error;
- the runtime is answered 202 only once the body and its trailers ended (the Node.js runtime
  client waits for that answer); from the stream's start, ``/error`` is refused for the
  invocation (403);
- past :data:`MAX_STREAMED_BYTES` the stream ends, the caller gets
  ``Function.ResponseSizeTooLarge`` and the runtime 413;
- past its first 6 MB a stream is paced to the emulator's bandwidth cap, when it has one
  (:class:`~.response_streams.ResponseStreams`; Lambda's is 2 MB/s).

A timeout in the middle of the stream is the engine's as for any invocation: the caller gets
``Sandbox.Timedout``, the environment is reset, the runtime's connection goes with its process.

**Trailers.** ASGI has no message for request trailers, but uvicorn's ``httptools`` protocol
appends the header lines the parser reports to the request's header list, trailers included:
they are read from ``scope["headers"]`` once the body ended. (uvicorn's ``h11`` protocol drops
them: under ``h11`` a mid-stream error is not seen, and the response counts as complete.)
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

import anyio

from ..core.errors import APIError
from ..core.payloads import MAX_RESPONSE_BYTES
from .http import ACCEPTED, Receive, Scope, Send, header, parse_json, respond, respond_error
from .response_streams import BURST_BYTES, ResponseStreams, Start, pacing_delay

if TYPE_CHECKING:
    from ..engine.clients import RuntimeClient

RESPONSE_MODE = b"lambda-runtime-function-response-mode"
ERROR_TYPE = b"lambda-runtime-function-error-type"
ERROR_BODY = b"lambda-runtime-function-error-body"

MAX_STREAMED_BYTES = 200 * 1024 * 1024
"""The largest streamed response (200 MB)."""

DEFAULT_CONTENT_TYPE = "application/octet-stream"


def check_mode(mode: bytes) -> None:
    """Refuse a response mode other than ``streaming``."""
    if mode != b"streaming":
        raise APIError(
            "Runtime.InvalidResponseModeHeader",
            f"Lambda-Runtime-Function-Response-Mode {mode.decode('latin-1')!r} is not 'streaming'",
            400,
        )


async def receive_streamed(
    streams: ResponseStreams | None,
    client: RuntimeClient,
    request_id: str,
    *,
    scope: Scope,
    receive: Receive,
    send: Send,
) -> None:
    """Serve one streamed ``/response`` (the mode header was checked)."""
    client.begin_stream(request_id)
    content_type_header = header(scope, b"content-type")
    content_type = (
        DEFAULT_CONTENT_TYPE
        if content_type_header is None
        else content_type_header.decode("latin-1")
    )
    stream = streams.get(request_id) if streams is not None else None
    forwarding = stream is not None
    if stream is not None:
        forwarding = await stream.put(Start(content_type))
    limit = MAX_STREAMED_BYTES if stream is not None else MAX_RESPONSE_BYTES
    kept: list[bytes] = []  # the response of a caller that does not read a stream
    bandwidth = streams.bandwidth if streams is not None else None
    burst_at: float | None = None
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return  # the runtime went away (or was stopped): the engine answers for it
        chunk: bytes = message.get("body", b"")
        if chunk:
            size += len(chunk)
            if size > limit:
                client.stream_too_large(request_id, limit)
                await respond_error(
                    send,
                    413,
                    "Function.ResponseSizeTooLarge",
                    f"the streamed response is over {limit} bytes",
                )
                return
            if stream is None:
                kept.append(chunk)
            elif forwarding:
                if bandwidth is not None and size > BURST_BYTES:
                    now = anyio.current_time()
                    if burst_at is None:
                        burst_at = now
                    await anyio.sleep(pacing_delay(size, now - burst_at, bandwidth))
                forwarding = await stream.put(chunk)
        if not message.get("more_body", False):
            break
    error, error_type = _trailer_error(scope)
    if error is not None:
        client.end_stream(request_id, error=error, error_type=error_type, streamed=size)
    else:
        client.end_stream(request_id, b"".join(kept), content_type, streamed=size)
    await respond(send, 202, ACCEPTED)


def _trailer_error(scope: Scope) -> tuple[dict[str, Any] | None, str | None]:
    """The error of the trailers, if the runtime sent one."""
    error_type = header(scope, ERROR_TYPE)
    encoded = header(scope, ERROR_BODY)
    if error_type is None and encoded is None:
        return None, None
    type_text = None if error_type is None else error_type.decode("latin-1")
    error: Any = None
    if encoded is not None:
        try:
            error = parse_json(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            error = None
    if not isinstance(error, dict):
        text = "" if encoded is None else encoded.decode("latin-1")
        error = {"errorMessage": text, "errorType": type_text or "Unhandled"}
    return error, type_text
