"""The pipe between a runtime streaming its response and the caller waiting for it.

A caller of ``InvokeWithResponseStream`` (:mod:`.streaming_api`) opens a :class:`ResponseStream`
under the request id of its invocation before invoking; the runtime's streamed ``/response``
(:mod:`.streaming_runtime`) finds it by that id and puts into it the response's content type,
then each chunk as it arrives. The caller's side puts the invocation's result in last, so what it
reads is: ``Start``, the chunks, ``Done``. The pipe holds a few chunks only
(:data:`BUFFERED_CHUNKS`): a runtime that writes faster than the caller reads waits, so no
response is ever held whole. Once the caller stopped reading (it went away, or the invocation
ended mid-stream: a timeout), what the runtime still sends is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

if TYPE_CHECKING:
    from ..engine.invocation import InvokeResult

BUFFERED_CHUNKS = 8
"""How many chunks may wait between the runtime and the caller."""


@dataclass(frozen=True, slots=True)
class Start:
    """The runtime began streaming, with this content type."""

    content_type: str


@dataclass(frozen=True, slots=True)
class Done:
    """The invocation was answered (``result``), or could not be (``closed``: the reason)."""

    result: InvokeResult | None
    log_result: str | None = None
    closed: str | None = None


Item = Start | bytes | Done


class ResponseStream:
    """One invocation's streamed response, from the runtime to the caller."""

    __slots__ = ("_receive", "_send", "started")

    def __init__(self) -> None:
        send, receive = anyio.create_memory_object_stream[Item](BUFFERED_CHUNKS)
        self._send: MemoryObjectSendStream[Item] = send
        self._receive: MemoryObjectReceiveStream[Item] = receive
        self.started = False

    async def put(self, item: Item) -> bool:
        """Pass ``item`` on; False (dropped) once the caller stopped reading."""
        try:
            await self._send.send(item)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return False
        return True

    async def get(self) -> Item:
        """The next item."""
        return await self._receive.receive()

    def close(self) -> None:
        """The caller stops reading: what is still sent is dropped."""
        self._receive.close()
        self._send.close()


BURST_BYTES = 6 * 1024 * 1024
"""How much of a streamed response goes at full speed before a bandwidth cap applies."""
AWS_BANDWIDTH = 2 * 1024 * 1024
"""The bandwidth Lambda documents for a stream past its first 6 MB (bytes per second)."""


def pacing_delay(size: int, since_burst: float, bandwidth: float | None) -> float:
    """Seconds to wait before passing on more of a stream that has passed ``size`` bytes on,
    ``since_burst`` seconds after it passed its first :data:`BURST_BYTES`, at most
    ``bandwidth`` bytes per second past those (None: no cap)."""
    if bandwidth is None or size <= BURST_BYTES:
        return 0.0
    return max(0.0, (size - BURST_BYTES) / bandwidth - since_burst)


class ResponseStreams:
    """The open response streams, by request id; ``bandwidth`` caps each stream past its first
    6 MB (bytes per second; None, the default: full speed; :data:`AWS_BANDWIDTH` as Lambda)."""

    __slots__ = ("_open", "bandwidth")

    def __init__(self, bandwidth: float | None = None) -> None:
        self._open: dict[str, ResponseStream] = {}
        self.bandwidth = bandwidth

    def open(self, request_id: str) -> ResponseStream:
        stream = self._open[request_id] = ResponseStream()
        return stream

    def get(self, request_id: str) -> ResponseStream | None:
        return self._open.get(request_id)

    def close(self, request_id: str) -> None:
        stream = self._open.pop(request_id, None)
        if stream is not None:
            stream.close()
