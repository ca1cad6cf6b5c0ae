"""Response streaming through the emulator: throughput of a large stream, time to first chunk.

``python -m benchmarks.streaming`` runs an :class:`~lambda_lifecycle.server.Emulator` in this
process with a standard-library runtime (a separate process) that streams ``--megabytes`` MB
(50 by default) in 64 KiB chunks of chunked encoding to ``/runtime/invocation/{id}/response``,
and reads it from ``InvokeWithResponseStream`` over HTTP in a thread, decoding the event-stream
messages as it goes with botocore's decoder, as an SDK does. It reports the streamed MB/s
(payload bytes over the whole call) and the time from the request to the first ``PayloadChunk``,
the best of ``--rounds`` rounds.

Everything shares the machine's cores (runtime, emulator, caller): the figures are indicative.
"""

from __future__ import annotations

import argparse
import http.client
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from botocore.eventstream import EventStreamBuffer

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.processes import ProcessRuntime
from lambda_lifecycle.server import Emulator

RUNTIME = r"""
import json, os, socket, urllib.request
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
host, port = api.rsplit(":", 1)
base = f"http://{api}/2018-06-01/runtime/invocation"
chunk = b"x" * 65536
frame = b"%x\r\n%s\r\n" % (len(chunk), chunk)
while True:
    with urllib.request.urlopen(f"{base}/next") as answer:
        request_id = answer.headers["Lambda-Runtime-Aws-Request-Id"]
        size = json.loads(answer.read())["size"]
    sock = socket.create_connection((host, int(port)))
    sock.sendall(
        f"POST /2018-06-01/runtime/invocation/{request_id}/response HTTP/1.1\r\n"
        f"Host: {api}\r\nLambda-Runtime-Function-Response-Mode: streaming\r\n"
        "Transfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n\r\n".encode()
    )
    for _ in range(size // len(chunk)):
        sock.sendall(frame)
    sock.sendall(b"0\r\n\r\n")
    sock.recv(65536)
    sock.close()
"""


def read_stream(url: str, size: int) -> tuple[float, float, int]:
    """One streamed invocation: (seconds to the first chunk, seconds in all, payload bytes)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=120)
    started = time.perf_counter()
    connection.request("POST", parts.path, body=b'{"size": %d}' % size)
    response = connection.getresponse()
    buffer = EventStreamBuffer()
    first = 0.0
    received = 0
    while True:
        data = response.read1(1 << 20)
        if not data:
            break
        buffer.add_data(data)
        for message in buffer:
            if message.headers.get(":event-type") == "PayloadChunk":
                if not received:
                    first = time.perf_counter() - started
                received += len(message.payload)
    total = time.perf_counter() - started
    connection.close()
    return first, total, received


async def main(megabytes: int, rounds: int) -> None:
    size = megabytes * 1024 * 1024
    with tempfile.TemporaryDirectory() as folder:
        runtime_file = Path(folder) / "runtime.py"
        runtime_file.write_text(RUNTIME)
        emulator = Emulator(
            ProcessRuntime([sys.executable, str(runtime_file)]),
            config=FunctionConfig(function_name="fn", timeout=300),
            runtime_api=("127.0.0.1", 0),
            invoke=("127.0.0.1", 0),
            variables={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            log=lambda line: None,
        )
        async with emulator:
            base = emulator.invoke_url.split("/2015-03-31/", 1)[0]
            url = f"{base}/2021-11-15/functions/fn/response-streaming-invocations"
            await anyio.to_thread.run_sync(read_stream, url, 65536)  # warm: Init done
            best: tuple[float, float, int] | None = None
            for _ in range(rounds):
                result = await anyio.to_thread.run_sync(read_stream, url, size)
                if result[2] != size:
                    raise SystemExit(f"received {result[2]} bytes of {size}")
                if best is None or result[1] < best[1]:
                    best = result
    assert best is not None
    first, total, received = best
    print(f"streamed {received / 1e6:.1f} MB in 64 KiB chunks, best of {rounds} rounds")
    print(f"throughput       {received / total / 1e6:8.1f} MB/s")
    print(f"first chunk      {first * 1000:8.2f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    anyio.run(main, args.megabytes, args.rounds)
