"""The runtime's framed log records, read from the descriptor of ``_LAMBDA_TELEMETRY_LOG_FD``.

On Lambda the runtime clients (``awslambdaric``, the Node.js ``aws-lambda-ric``, ...) write
their log records to the descriptor named by ``_LAMBDA_TELEMETRY_LOG_FD`` when it is set, one
frame per record, instead of lines on stdout: that is how a multi-line traceback stays one
record, and how Lambda knows a record's level. A frame is big-endian:

====================  ===================================================================
4 bytes, the type     ``0xA55A`` then flags: bit 0 set for a text record, clear for JSON;
                      bit 1 set; bits 2 to 4 the level (0 none, 2 DEBUG, 3 INFO, 4 WARN,
                      5 ERROR, 6 FATAL)
4 bytes, the length   of the message, in bytes
8 bytes, the time     microseconds since the epoch
the message           UTF-8
====================  ===================================================================

:class:`FrameDecoder` turns bytes into :class:`LogFrame` records; :func:`read_frames` reads a
pipe to its end and hands every record's text to a callback, as one line even when it holds
several. Bytes that are not a frame (a program that writes plain text to the descriptor) are
passed on as lines from there on, so nothing written is lost.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from anyio.abc import TaskGroup

ENV_NAME = "_LAMBDA_TELEMETRY_LOG_FD"
HEADER = struct.Struct(">IIQ")
MAGIC = 0xA55A0000
MAGIC_MASK = 0xFFFF0000
TEXT_FLAG = 0x1
LEVELS = {2: "DEBUG", 3: "INFO", 4: "WARN", 5: "ERROR", 6: "FATAL"}
MAX_MESSAGE_BYTES = 1024 * 1024
"""A longer frame is taken for stray bytes: a record is at most 256 KiB on CloudWatch."""
_READ_SIZE = 65536


@dataclass(frozen=True, slots=True)
class LogFrame:
    """One framed record: its text, its level (None when unset), its time, its format."""

    message: str
    level: str | None
    timestamp_us: int
    is_json: bool


class FrameDecoder:
    """Frames out of a byte stream, fed piece by piece; stray bytes become plain lines."""

    __slots__ = ("_buffer", "_lines")

    def __init__(self) -> None:
        self._buffer = b""
        self._lines = False  # the stream is not framed: split it into lines

    def feed(self, data: bytes) -> list[LogFrame]:
        """The records completed by ``data``."""
        self._buffer += data
        frames: list[LogFrame] = []
        while not self._lines:
            if len(self._buffer) < HEADER.size:
                return frames
            kind, length, timestamp = HEADER.unpack_from(self._buffer)
            if kind & MAGIC_MASK != MAGIC or length > MAX_MESSAGE_BYTES:
                self._lines = True
                break
            end = HEADER.size + length
            if len(self._buffer) < end:
                return frames
            message = self._buffer[HEADER.size : end].decode("utf-8", errors="replace")
            self._buffer = self._buffer[end:]
            frames.append(
                LogFrame(
                    message=message.removesuffix("\n"),
                    level=LEVELS.get((kind >> 2) & 0x7),
                    timestamp_us=timestamp,
                    is_json=not kind & TEXT_FLAG,
                )
            )
        if b"\n" in self._buffer:
            *lines, self._buffer = self._buffer.split(b"\n")
            frames.extend(_plain(line) for line in lines)
        return frames

    def close(self) -> list[LogFrame]:
        """What is left at the end of the stream (an incomplete frame, as text)."""
        rest, self._buffer = self._buffer, b""
        if not rest:
            return []
        if not self._lines and len(rest) >= HEADER.size:
            rest = rest[HEADER.size :]  # a cut frame: keep the part of its message we have
        return [_plain(rest)] if rest else []


def _plain(line: bytes) -> LogFrame:
    return LogFrame(line.decode("utf-8", errors="replace").rstrip("\r"), None, 0, False)


async def read_frames(fd: int, deliver: Callable[[LogFrame], None]) -> None:
    """Read ``fd`` (the pipe's read end, closed here) to its end; ``deliver`` every record."""
    decoder = FrameDecoder()
    os.set_blocking(fd, False)
    try:
        while True:
            await anyio.wait_readable(fd)
            try:
                data = os.read(fd, _READ_SIZE)
            except BlockingIOError:
                continue
            if not data:
                break
            for frame in decoder.feed(data):
                deliver(frame)
    finally:
        for frame in decoder.close():
            deliver(frame)
        os.close(fd)


class LogPipe:
    """The pipe of one runtime process: the write end for the program, the read end here."""

    __slots__ = ("read_fd", "write_fd")

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()

    def start(self, task_group: TaskGroup, name: str, output: Callable[[str, str], None]) -> None:
        """Close the write end (the program has its own) and read the records in a task."""
        os.close(self.write_fd)

        def deliver(frame: LogFrame) -> None:
            output(name, frame.message)

        task_group.start_soon(read_frames, self.read_fd, deliver, name=f"log records of {name}")

    def close(self) -> None:
        """Close both ends (the program could not be started)."""
        os.close(self.read_fd)
        os.close(self.write_fd)


def open_log_pipe() -> LogPipe:
    """A new :class:`LogPipe`."""
    return LogPipe()
