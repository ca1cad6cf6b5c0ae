"""Connection-level limits of the emulator's listeners: header size, slow requests, JSON refusals.

The APIs answer long polls (``/runtime/invocation/next``, ``/extension/event/next``) that may
stay parked for as long as the environment is frozen, so nothing here bounds the *wait for a
response*. What is bounded is the *reading of a request*, which a client controls:

- the request head (request line and headers) may be at most ``max_header_bytes`` (16 KiB, the
  size uvicorn's ``h11`` protocol allows by default): a larger head is answered 431;
- the head must arrive within ``header_timeout`` seconds of its first byte, and a body within
  ``body_timeout`` seconds of the end of its head: a request that drips bytes is answered 408
  (or, once its answer has started, simply closed); a runtime's streamed response (header
  ``Lambda-Runtime-Function-Response-Mode``) may take as long as the function streams, each
  read within ``body_timeout`` of the one before;
- an idle keep-alive connection is closed after ``keep_alive`` seconds (uvicorn's own timer).

Every refusal made at this level, and the HTTP parser's own 400 for a malformed request, is a JSON
error body like the APIs' (uvicorn writes these as ``text/plain``): :func:`limited` subclasses
uvicorn's protocol class and replaces its ``send_400_response``. The body is made by the
listener's ``error_body`` callable, so the invoke endpoint's refusals carry its own fields.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

ErrorBody = Callable[[int, str, str], tuple[bytes, list[tuple[bytes, bytes]]]]
"""``error_body(status, error_type, message)``: the JSON body and the extra headers of a refusal."""


def plain_error(
    status: int, error_type: str, message: str
) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The APIs' error body ``{"errorMessage", "errorType"}``, no extra header."""
    del status
    body = json.dumps({"errorMessage": message, "errorType": error_type}, separators=(",", ":"))
    return body.encode(), []


@dataclass(frozen=True, slots=True)
class Limits:
    """How much of a request a listener reads, and for how long (seconds)."""

    max_header_bytes: int = 16 * 1024
    header_timeout: float = 10.0
    body_timeout: float = 60.0
    keep_alive: float = 600.0


def raw_response(status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> bytes:
    """A complete HTTP/1.1 response that closes the connection."""
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, HTTPStatus(status).phrase.encode())]
    lines.append(b"content-type: application/json\r\n")
    lines.append(b"content-length: %d\r\n" % len(body))
    lines.append(b"connection: close\r\n")
    lines.extend(name + b": " + value + b"\r\n" for name, value in headers)
    lines.append(b"\r\n")
    lines.append(body)
    return b"".join(lines)


def limited(
    protocol_class: Any,
    limits: Limits,
    error_body: ErrorBody,
    wrap: Callable[[asyncio.Transport, asyncio.AbstractEventLoop], Any],
) -> Any:
    """``protocol_class`` (uvicorn's httptools or h11 protocol) reading requests within
    ``limits``, answering its refusals with ``error_body``, writing through ``wrap(transport)``."""
    # Told apart by module, so that the httptools listener imports nothing of h11 (60 ms of
    # start-up on a loaded machine); h11 is imported only to read the h11 protocol's states.
    is_h11 = any(
        cls.__module__ == "uvicorn.protocols.http.h11_impl" for cls in protocol_class.__mro__
    )
    if is_h11:
        import h11  # noqa: PLC0415

    class LimitedProtocol(protocol_class):  # type: ignore[misc]
        _head_bytes = 0
        _begun = False  # httptools: a request head has begun and not ended
        _progress = False  # httptools: the last read began or ended a message
        _in_body = False  # httptools: a head has ended, its message has not
        _boundary = False  # a head ended or a message completed during this feed
        _feed_size = 0
        _head_too_large = False
        _head_timer: asyncio.TimerHandle | None = None
        _body_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(wrap(transport, asyncio.get_running_loop()))

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_timers()
            super().connection_lost(exc)

        def data_received(self, data: bytes) -> None:
            self._boundary = False
            self._progress = False
            self._feed_size = len(data)
            super().data_received(data)
            if self.transport.is_closing():
                self._cancel_timers()
                return
            # Timers are armed only for a request that is still partial after a read: a request
            # that arrives whole (the usual case) costs none.
            if is_h11:
                state = self.conn.their_state
                # Still IDLE after a read: a head begun and not ended, or only the blank lines
                # h11 skips before a request line; either way a head not yet complete.
                partial_head = state is h11.IDLE
                in_body = state is h11.SEND_BODY
            else:
                # A read that began no message, ended none and is in no body is bytes the
                # parser skips before a request line (blank lines): a head not yet begun,
                # bounded like a partial one.
                partial_head = self._begun or not (self._progress or self._in_body)
                in_body = self._in_body
            if partial_head:
                if self._head_timer is None:
                    self._head_timer = self.loop.call_later(
                        limits.header_timeout, self._timed_out, "the request head"
                    )
                self._head_bytes = 0 if self._boundary else self._head_bytes + len(data)
                if self._head_bytes > limits.max_header_bytes:
                    self._refuse_head()
                    return
            elif self._head_timer is not None:
                self._head_bytes = 0
                self._head_timer.cancel()
                self._head_timer = None
            if in_body:
                if self._body_timer is None:
                    self._body_timer = self.loop.call_later(
                        limits.body_timeout, self._timed_out, "the request body"
                    )
                elif _streamed(self):  # a streamed response: bounded between reads only
                    self._body_timer.cancel()
                    self._body_timer = self.loop.call_later(
                        limits.body_timeout, self._timed_out, "the request body"
                    )
            elif self._body_timer is not None:
                self._body_timer.cancel()
                self._body_timer = None

        # httptools' parser callbacks (h11's state is read after each feed instead)
        def on_message_begin(self) -> None:
            self._begun = self._progress = True
            super().on_message_begin()

        def on_headers_complete(self) -> None:
            self._begun = False
            self._in_body = self._boundary = True
            if self._head_bytes + self._feed_size > limits.max_header_bytes and (
                len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
                > limits.max_header_bytes
            ):  # a whole head in one large read: measured only then
                self._head_too_large = True
                raise ValueError("the request head is too large")  # stops the parser
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_body = False
            self._boundary = self._progress = True
            super().on_message_complete()

        def _cancel_timers(self) -> None:
            for timer in (self._head_timer, self._body_timer):
                if timer is not None:
                    timer.cancel()
            self._head_timer = self._body_timer = None

        def _timed_out(self, part: str) -> None:
            self._head_timer = self._body_timer = None
            seconds = limits.header_timeout if part == "the request head" else limits.body_timeout
            self._refuse(408, "RequestTimeout", f"{part} did not arrive within {seconds:g} s")

        def _refuse(self, status: int, error_type: str, message: str) -> None:
            """Answer a refusal (unless another answer is under way) and close the connection."""
            self._cancel_timers()
            transport = self.transport
            if transport.is_closing():
                return
            cycle: Any = getattr(self, "cycle", None)
            pending = cycle is not None and not cycle.response_complete
            if pending:
                cycle.keep_alive = False
            reading_body = self.conn.their_state is h11.SEND_BODY if is_h11 else self._in_body
            # An answer may be written unless one has started, or a request before this one
            # (pipelined) still waits for its own.
            if not pending or (reading_body and not cycle.response_started):
                body, headers = error_body(status, error_type, message)
                transport.write(raw_response(status, body, headers))
            transport.close()

        def send_400_response(self, msg: str) -> None:
            if self._head_too_large:
                self._refuse_head()
            else:
                self._refuse(400, "InvalidRequest", msg)

        def _refuse_head(self) -> None:
            self._refuse(
                431,
                "RequestHeaderFieldsTooLarge",
                f"the request head is over {limits.max_header_bytes} bytes",
            )

    return LimitedProtocol


_STREAMED = b"lambda-runtime-function-response-mode"


def _streamed(protocol: Any) -> bool:
    """Whether the request being read is a runtime's streamed response, whose body lasts as
    long as the function streams (the engine's timeout ends it): its body timeout bounds the
    wait between two reads, not the whole body."""
    scope = getattr(protocol, "scope", None)
    return scope is not None and any(name == _STREAMED for name, _ in scope["headers"])
