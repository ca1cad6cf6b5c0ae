"""The thin HTTP layer under the emulator's APIs: ASGI helpers and a uvicorn listener.

The APIs are raw ASGI applications (no framework): the request path of an invocation crosses
this layer four times (the caller's invoke, the runtime's ``next``, its ``response``, its next
``next``), and every framework layer, middleware or extra copy of a body costs throughput
directly. So the helpers here do the least that is correct: one scan of the header list per
lookup, one join of the body chunks, a ``content-length`` on every response, JSON error bodies
``{"errorMessage", "errorType"}`` as AWS's APIs answer them.

:class:`Listener` serves one ASGI app on an already bound socket with uvicorn's ``httptools``
protocol (``h11`` when asked), *without* uvicorn's ``Server`` loop: the emulator owns the event
loop, the signals and the order of shutdown. It configures nothing globally (no logging setup,
no signal handlers), adds no ``server`` or ``date`` header and no proxy-headers middleware; it
reads requests within :class:`~.limits.Limits` (header size, slow requests) and answers the
refusals made below the app as JSON too. :func:`read_body` stops at a route's size limit and
:func:`parse_json` bounds how deeply a request's JSON may nest.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import uvicorn
from uvicorn.server import ServerState

from .limits import ErrorBody, Limits, limited, plain_error

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON = b"application/json"
ACCEPTED = b'{"status":"OK"}'


MAX_JSON_DEPTH = 64
"""How deeply a request's JSON (a register body, an error, a client context) may nest."""


class Disconnected(Exception):
    """The client went away before its request body arrived."""


class TooLarge(Exception):
    """A request body is over the limit its route allows (reading stopped there)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is over {limit} bytes")
        self.limit = limit


def header(scope: Scope, name: bytes) -> bytes | None:
    """The value of request header ``name`` (lower case), or None."""
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


async def read_body(receive: Receive, limit: int | None = None) -> bytes:
    """The whole request body; :class:`TooLarge` as soon as more than ``limit`` bytes came.

    Reading stops at the limit: the rest of the body is never held (the server discards it).
    """
    message = await receive()
    if message["type"] == "http.disconnect":
        raise Disconnected
    body: bytes = message.get("body", b"")
    if limit is not None and len(body) > limit:
        raise TooLarge(limit)
    if not message.get("more_body", False):
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            raise TooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def declared_length(scope: Scope) -> int | None:
    """The request's ``Content-Length``, when it has a valid one."""
    value = header(scope, b"content-length")
    if value is None or not value.isdigit():
        return None
    return int(value)


def parse_json(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """``data`` decoded as JSON; :class:`ValueError` when it is not JSON or nests deeper than
    ``max_depth`` (a structure nested a thousand levels deep is not a client's honest request,
    and would exhaust the interpreter's recursion wherever it is walked later)."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise ValueError(f"the JSON nests deeper than {max_depth} levels") from None
    if isinstance(value, (dict, list)) and _depth_over(value, max_depth):
        raise ValueError(f"the JSON nests deeper than {max_depth} levels")
    return value


def _depth_over(value: dict[str, Any] | list[Any], max_depth: int) -> bool:
    """Whether a decoded JSON container nests deeper than ``max_depth`` (no recursion)."""
    level: list[Any] = [value]
    depth = 0
    while level:
        depth += 1
        if depth > max_depth:
            return True
        below: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            below.extend(c for c in children if isinstance(c, (dict, list)))
        level = below
    return False


async def respond(
    send: Send,
    status: int,
    body: bytes = b"",
    content_type: bytes = JSON,
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """Send a complete response with a ``content-length``."""
    response_headers = [
        (b"content-type", content_type),
        (b"content-length", b"%d" % len(body)),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})


def json_bytes(value: Any) -> bytes:
    """``value`` as compact JSON."""
    return json.dumps(value, separators=(",", ":")).encode()


async def respond_json(
    send: Send, status: int, value: Any, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """Send ``value`` as a JSON response."""
    await respond(send, status, json_bytes(value), JSON, headers)


async def respond_error(
    send: Send, status: int, error_type: str, message: str, error_body: ErrorBody = plain_error
) -> None:
    """Send an API error: ``{"errorMessage": ..., "errorType": ...}``, always JSON (with the
    fields and headers ``error_body`` adds)."""
    body, headers = error_body(status, error_type, message)
    await respond(send, status, body, JSON, headers)


_COALESCE_LIMIT = 65536  # larger writes are not worth a copy to save a send


class _CoalescingTransport:
    """A transport that sends a response's head and body in one ``send``.

    uvicorn writes a response as two writes, the head and then the body; on a local socket
    each ``send`` costs tens of microseconds of kernel work (the peer's receive path and its
    wake-up run in the sender's system call), and an invocation takes three small responses.
    So a head is held back until the body's write, which sends both (a body over 64 KiB goes
    in its own ``send``: copying it would cost more than the call it saves). A head whose body
    does not follow in the same turn of the event loop goes out alone at the end of the turn.
    """

    __slots__ = ("_held", "_loop", "_real")

    def __init__(self, real: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._real = real
        self._loop = loop
        self._held: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        held = self._held
        if held is not None:
            self._held = None
            if len(held) + len(data) <= _COALESCE_LIMIT:
                self._real.write(held + data)
                return
            self._real.write(held)
        elif data[:5] == b"HTTP/" and data[-4:] == b"\r\n\r\n":  # a response head
            self._held = bytes(data)
            self._loop.call_soon(self._flush)
            return
        self._real.write(data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._real.is_closing():
            self._real.write(held)

    def close(self) -> None:
        self._flush()
        self._real.close()

    def abort(self) -> None:
        self._held = None
        self._real.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class Listener:
    """One ASGI app served by uvicorn's HTTP protocol on a bound socket, within ``limits``
    (:mod:`.limits`); ``error_body`` makes the bodies of the refusals made below the app."""

    def __init__(
        self,
        app: ASGIApp,
        sock: socket.socket,
        *,
        http: str = "httptools",
        limits: Limits | None = None,
        error_body: ErrorBody = plain_error,
    ) -> None:
        self.app = app
        self.sock = sock
        limits = limits or Limits()
        config = uvicorn.Config(
            app,
            http=http,
            lifespan="off",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            date_header=False,
            timeout_keep_alive=int(limits.keep_alive),
            h11_max_incomplete_event_size=limits.max_header_bytes,
        )
        config.load()
        self._config = config
        self._protocol_class = limited(
            config.http_protocol_class, limits, error_body, _CoalescingTransport
        )
        self._state = ServerState()
        self._server: asyncio.Server | None = None

    def _protocol(self) -> asyncio.Protocol:
        factory: Any = self._protocol_class
        protocol: asyncio.Protocol = factory(
            config=self._config, server_state=self._state, app_state={}
        )
        return protocol

    async def start(self) -> None:
        """Start accepting connections."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(self._protocol, sock=self.sock, backlog=1024)

    def close(self) -> None:
        """Stop accepting connections and close the idle ones; busy ones close after answering."""
        if self._server is not None:
            self._server.close()
        for connection in list(self._state.connections):
            connection.shutdown()

    async def wait_closed(self, grace: float = 1.0) -> None:
        """Wait (at most ``grace`` seconds) for the connections to go away."""
        if self._server is None:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        # uvicorn's connection set signals nothing when it empties: poll it.
        while (self._state.connections or self._state.tasks) and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        for task in list(self._state.tasks):  # a request still running past the grace period
            task.cancel()
        for connection in list(self._state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
