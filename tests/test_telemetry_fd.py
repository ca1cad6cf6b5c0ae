"""The runtime's framed log records (``_LAMBDA_TELEMETRY_LOG_FD``): the frame format as the
runtime clients write it, and a real program whose multi-line record reaches ``output`` whole."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import anyio
import pytest

from lambda_lifecycle.processes import ProcessRuntime
from lambda_lifecycle.processes.process import OSProcess
from lambda_lifecycle.processes.telemetry_fd import ENV_NAME, FrameDecoder, LogFrame
from tests.fixtures.helpers import PYTHON, Context, FakeRuntimeClient


def frame(kind: int, message: bytes, timestamp: int = 1_700_000_000_000_000) -> bytes:
    return struct.pack(">IIQ", kind, len(message), timestamp) + message


def test_frames_fed_in_pieces_come_out_whole() -> None:
    data = frame(0xA55A0017, b"Traceback\n  line 1\nValueError: x\n") + frame(0xA55A0003, b"hi")
    decoder = FrameDecoder()
    frames: list[LogFrame] = []
    for i in range(len(data)):  # one byte at a time
        frames += decoder.feed(data[i : i + 1])
    assert frames == [
        LogFrame("Traceback\n  line 1\nValueError: x", "ERROR", 1_700_000_000_000_000, False),
        LogFrame("hi", None, 1_700_000_000_000_000, False),
    ]
    assert decoder.close() == []


def test_levels_and_formats_of_the_frame_type() -> None:
    kinds = {0xA55A000A: ("DEBUG", True), 0xA55A000F: ("INFO", False), 0xA55A0012: ("WARN", True)}
    kinds |= {0xA55A001B: ("FATAL", False)}
    for kind, (level, is_json) in kinds.items():
        (decoded,) = FrameDecoder().feed(frame(kind, b"m"))
        assert (decoded.level, decoded.is_json) == (level, is_json)


def test_stray_bytes_become_lines_and_nothing_is_lost() -> None:
    decoder = FrameDecoder()
    out = decoder.feed(frame(0xA55A0003, b"framed") + b"plain text written here\nand more")
    assert [f.message for f in out] == ["framed", "plain text written here"]
    assert [f.message for f in decoder.close()] == ["and more"]


def test_the_python_runtime_clients_own_frames(tmp_path: Path) -> None:
    bootstrap = pytest.importorskip("awslambdaric.bootstrap")
    read, write = os.pipe()
    with bootstrap.FramedTelemetryLogSink(write) as sink:
        sink.log("[ERROR]\tfirst\nsecond\n", frame_type=0xA55A0017.to_bytes(4, "big"))
        sink.log_error(["Traceback", "  File x", "ValueError: y"])
    data = os.read(read, 65536)
    os.close(read)
    frames = FrameDecoder().feed(data)
    assert [(f.message, f.level) for f in frames] == [
        ("[ERROR]\tfirst\nsecond", "ERROR"),
        ("Traceback\n  File x\nValueError: y", "ERROR"),
    ]


WRITER = """
import os, struct, sys
fd = int(os.environ["{name}"])
message = b"Traceback (most recent call last):\\n  File here\\nValueError: boom"
os.write(fd, struct.pack(">IIQ", 0xA55A0017, len(message), 0) + message)
print("a plain line")
"""


@pytest.mark.processes
async def test_a_programs_multi_line_record_reaches_output_whole(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, {"PATH": os.environ.get("PATH", "/usr/bin:/bin")})
        runtime = ProcessRuntime(
            [PYTHON, "-c", WRITER.format(name=ENV_NAME)], output=ctx.output, telemetry_fd=True
        )
        process = await runtime.start(FakeRuntimeClient(), ctx.start_context())  # type: ignore[arg-type]
        assert isinstance(process, OSProcess)
        with anyio.fail_after(10):
            await ctx.exited.wait()
            while len(ctx.lines) < 2:  # noqa: ASYNC110 (the record's pipe is read apart)
                await anyio.sleep(0.01)
    lines = sorted(line for _, line in ctx.lines)
    assert lines == [
        "Traceback (most recent call last):\n  File here\nValueError: boom",
        "a plain line",
    ]
    assert ctx.exits[0].code == 0
