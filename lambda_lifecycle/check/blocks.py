"""Reading an input in large blocks of whole lines, for the plain-text fast path.

Reading a log line by line costs a Python step per line; :func:`read_blocks` reads
:data:`BLOCK_SIZE` bytes at a time and cuts each block after its last newline (the rest begins
the next block; each byte is copied once), so that a block can be searched with one pattern
(:mod:`.warmscan`) and its lines counted at C speed. Memory stays constant: one block and the
part of a line carried over. :class:`Prepended` puts back what was read ahead, for an input
that turns out to need the line reader after all.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import IO

__all__ = ["BLOCK_SIZE", "Prepended", "read_blocks"]

_NL = b"\n"
_START = b"\nSTART "

BLOCK_SIZE = 1 << 20
"""Bytes read at a time (1 MiB: large enough that a block's Python cost is nothing, small
enough to keep memory low)."""


def read_blocks(stream: IO[bytes], head: bytes = b"", size: int | None = None) -> Iterator[bytes]:
    """The bytes of ``head`` and then of ``stream`` as blocks of whole lines, each framed as
    :func:`~.warmscan.scan_block` wants it: a newline, then the lines, each ending in its
    newline (the input's last line is given one if it lacks it). A block ends before the last
    ``START`` line read, if there is one, so that blocks seldom cut an invocation in two (which
    would only make it slower to read). A line longer than ``size``
    makes its block longer; no block is empty. ``size`` defaults to :data:`BLOCK_SIZE`.
    """
    size = size or BLOCK_SIZE
    carried = head
    while True:
        data = stream.read(size)
        if not data:
            if carried:
                yield b"".join((_NL, carried, b"" if carried.endswith(_NL) else _NL))
            return
        # cut before the last START, so that an invocation is seldom split between two blocks
        cut = data.rfind(_START) + 1 or data.rfind(_NL) + 1
        if not cut:
            carried += data
            continue
        yield b"".join((_NL, carried, memoryview(data)[:cut]))
        carried = data[cut:]


class Prepended(io.RawIOBase):
    """A binary stream that gives ``head`` and then the rest of ``rest``."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._head:
            size = min(len(view), len(self._head))
            view[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)
