"""The front door of each API: who may call it, and what an unexpected failure answers.

:class:`Guard` wraps one of the emulator's ASGI apps:

- **Cross-site and DNS-rebinding requests are refused** (403 ``AccessDeniedException``). The
  emulator runs the function for anyone who can reach its port, and a web page can make a browser
  send a simple POST to ``localhost:8080``. A request that carries an ``Origin`` header (browsers
  send one on cross-site requests; runtimes, extensions, SDKs and curl do not) is refused unless
  that origin is allowed, and a request whose ``Host`` is not the listener's is refused: a ``Host``
  must be an IP address, ``localhost`` (or a name under ``.localhost``), or one of the names
  given (``*``: any). Names are what a rebinding attack needs (its page's own domain resolving
  to 127.0.0.1); the port is not compared, since a forwarded port (``docker run -p 9000:8080``)
  changes it.
  ``allow_origins`` lists the origins allowed (``*`` for any): their requests get CORS answers
  (``Access-Control-Allow-Origin``, and the ``OPTIONS`` preflight).
- **An unexpected exception** in the app is logged with its traceback through structlog
  (``lambda_lifecycle.server.unexpected_error``) and answered as a JSON 500 (``ServiceException``
  on the invoke endpoint), never a traceback or uvicorn's ``text/plain`` "Internal Server Error".
"""

from __future__ import annotations

import contextlib
import ipaddress
from collections.abc import Iterable

from ..engine.structured_log import logger
from .http import ASGIApp, Message, Receive, Scope, Send, respond
from .limits import ErrorBody, plain_error

_log = logger("lambda_lifecycle.server")

_HOST = b"host"
_ORIGIN = b"origin"
_CACHE_SIZE = 64


def host_name(value: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8080`` -> ``::1``), in lower case."""
    if value.startswith("["):
        return value[1 : value.find("]")].lower()
    name, sep, port = value.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        return name.lower()
    return value.lower()


def loopback_name(name: str, extra: frozenset[str]) -> bool:
    """Whether a ``Host`` name cannot be a rebinding attack's: an IP address, ``localhost``
    (or a name under it, RFC 6761), or a name explicitly allowed."""
    if name in extra or name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class Guard:
    """``app`` behind the Origin and Host checks and the catch-all for unexpected errors."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        allow_origins: Iterable[str] = (),
        allow_hosts: Iterable[str] = (),
        error_body: ErrorBody = plain_error,
        service_error: str = "ServiceException",
    ) -> None:
        self.app = app
        self.allow_origins = frozenset(o.rstrip("/") for o in allow_origins)
        self._any_origin = "*" in self.allow_origins
        self._hosts = frozenset(h.lower() for h in allow_hosts)
        self._any_host = "*" in self._hosts
        self._error_body = error_body
        self._service_error = service_error
        self._seen_hosts: dict[bytes, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = None
        for key, value in scope["headers"]:
            if key == _HOST:
                if not self._host_allowed(value):
                    await self._refuse(send, f"Host {value.decode('latin-1')!r} is not allowed")
                    return
            elif key == _ORIGIN:
                origin = value
        if origin is not None:
            text = origin.decode("latin-1")
            if not (self._any_origin or text.rstrip("/") in self.allow_origins):
                await self._refuse(send, f"requests from origin {text!r} are not allowed")
                return
            send = _with_cors(send, origin)
            if scope["method"] == "OPTIONS":
                await _preflight(scope, send)
                return
        try:
            await self.app(scope, receive, send)
        except Exception:
            _log.exception("unexpected_error", method=scope.get("method"), path=scope.get("path"))
            body, headers = self._error_body(
                500, self._service_error, "the emulator failed to serve the request"
            )
            # When the answer had started, this fails and the server closes the connection.
            with contextlib.suppress(Exception):
                await respond(send, 500, body, headers=headers)

    def _host_allowed(self, value: bytes) -> bool:
        if self._any_host:
            return True
        seen = self._seen_hosts.get(value)
        if seen is None:
            seen = loopback_name(host_name(value.decode("latin-1")), self._hosts)
            if len(self._seen_hosts) < _CACHE_SIZE:
                self._seen_hosts[value] = seen
        return seen

    async def _refuse(self, send: Send, message: str) -> None:
        body, headers = self._error_body(403, "AccessDeniedException", message)
        await respond(send, 403, body, headers=headers)


def _with_cors(send: Send, origin: bytes) -> Send:
    """``send`` adding ``Access-Control-Allow-Origin`` to the answer's headers."""

    async def cors_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            headers.append((b"access-control-allow-origin", origin))
            headers.append((b"vary", b"Origin"))
            message = {**message, "headers": headers}
        await send(message)

    return cors_send


async def _preflight(scope: Scope, send: Send) -> None:
    """The answer to a CORS preflight from an allowed origin."""
    requested = b""
    for key, value in scope["headers"]:
        if key == b"access-control-request-headers":
            requested = value
    headers = [
        (b"access-control-allow-methods", b"GET, POST, PUT"),
        (b"access-control-max-age", b"600"),
    ]
    if requested:
        headers.append((b"access-control-allow-headers", requested))
    await respond(send, 204, b"", headers=headers)
