"""The local emulator over HTTP: sequential invokes through the invoke endpoint.

``python -m benchmarks.http_invoke`` starts ``lambda-lifecycle serve`` as a separate process with
the Python runtime interface client (``awslambdaric``) running an echo handler, and sends it
sequential invocations over one keep-alive connection from this process (``http.client``, the
lightest client the standard library has): a small event, a 64 KiB event and a 1 MiB event, each
echoed back. It reports invokes per second, the p50 and p99 latency, and the CPU time the
emulator process spent per invoke (from ``/proc``), the best of ``--rounds`` rounds; then the
cold start: from starting ``serve`` to the first response (the process start, the imports, the
Init phase and the first invocation), and the first invocation's own latency.

The emulator runs as ``serve`` does by default: processes frozen (SIGSTOP) between invocations,
CloudWatch lines rendered for every invocation (to ``/dev/null`` here), uvloop when installed.
``--no-freeze``, ``--freeze-delay``, ``--http h11`` and ``--loop asyncio`` measure the variants.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HANDLER = "def handler(event, context):\n    return event\n"
BANNER = re.compile(r"on http://([\d.]+):(\d+)(/\S+) \(Runtime API")
PATH = "/2015-03-31/functions/function/invocations"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    name: str
    invokes: int
    seconds: float
    latencies: list[float]
    cpu_seconds: float

    @property
    def rate(self) -> float:
        return self.invokes / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000

    @property
    def cpu_us(self) -> float:
        return self.cpu_seconds / self.invokes * 1e6


def cpu_time(pid: int) -> float:
    """User plus system CPU seconds of ``pid`` so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


class Served:
    """``lambda-lifecycle serve`` running the echo handler, and a keep-alive connection to it."""

    def __init__(self, root: Path, extra: list[str]) -> None:
        self.started = time.perf_counter()
        command = [
            sys.executable,
            "-m",
            "lambda_lifecycle",
            "serve",
            "--handler",
            "echo.handler",
            "--task-root",
            str(root),
            "--port",
            "0",
            "--runtime-api-address",
            "127.0.0.1:0",
            "--timeout",
            "30",
            *extra,
        ]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        assert self.process.stderr is not None
        banner = self.process.stderr.readline()
        match = BANNER.search(banner)
        if match is None:
            self.process.kill()
            raise SystemExit(f"serve did not start: {banner}{self.process.stderr.read()}")
        self.connection = http.client.HTTPConnection(match[1], int(match[2]))
        self.path = match[3]

    def invoke(self, body: bytes) -> bytes:
        self.connection.request("POST", self.path, body)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != 200 or response.getheader("x-amz-function-error"):
            raise SystemExit(f"invoke failed: {response.status} {data[:200]!r}")
        return data

    def close(self) -> None:
        self.connection.close()
        self.process.send_signal(2)  # SIGINT: a spin-down
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def event_of(size: int) -> bytes:
    if size <= 0:
        return b'{"hello": "world"}'
    return json.dumps({"data": "x" * (size - 12)}).encode()


def measure(served: Served, name: str, body: bytes, count: int, warmup: int) -> Result:
    for _ in range(warmup):
        served.invoke(body)
    latencies = []
    pid = served.process.pid
    cpu_before = cpu_time(pid)
    start = time.perf_counter()
    for _ in range(count):
        began = time.perf_counter()
        answer = served.invoke(body)
        latencies.append(time.perf_counter() - began)
        if len(answer) != len(body):
            raise SystemExit(f"the echo came back with {len(answer)} bytes, not {len(body)}")
    seconds = time.perf_counter() - start
    return Result(name, count, seconds, latencies, cpu_time(pid) - cpu_before)


def cold_start(root: Path, extra: list[str]) -> tuple[float, float]:
    """Milliseconds from starting ``serve`` to the first response, and of the first invoke."""
    served = Served(root, extra)
    try:
        began = time.perf_counter()
        served.invoke(event_of(0))
        done = time.perf_counter()
    finally:
        served.close()
    return (done - served.started) * 1000, (done - began) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (best is kept)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the invoke counts")
    parser.add_argument("--no-freeze", action="store_true", help="serve with --no-freeze")
    parser.add_argument("--http", choices=("httptools", "h11"), default="httptools")
    parser.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    parser.add_argument(
        "--freeze-delay", type=float, default=None, metavar="MS", help="serve's --freeze-delay"
    )
    args = parser.parse_args(argv)
    extra = ["--http", args.http, "--loop", args.loop]
    if args.freeze_delay is not None:
        extra += ["--freeze-delay", str(args.freeze_delay)]
    if args.no_freeze:
        extra.append("--no-freeze")
    cases = [("small event", 0, 5000), ("64 KiB event", 65536, 2000), ("1 MiB event", 1 << 20, 300)]
    with tempfile.TemporaryDirectory(prefix="http-invoke-") as folder:
        root = Path(folder)
        (root / "echo.py").write_text(HANDLER)
        best: dict[str, Result] = {}
        for _ in range(args.rounds):
            served = Served(root, extra)
            try:
                for name, size, base_count in cases:
                    count = max(20, int(base_count * args.scale))
                    result = measure(
                        served, name, event_of(size), count, warmup=max(20, count // 10)
                    )
                    if name not in best or result.rate > best[name].rate:
                        best[name] = result
            finally:
                served.close()
        colds = sorted(cold_start(root, extra) for _ in range(max(3, args.rounds)))
    freeze = "no freeze" if args.no_freeze else "freeze"
    if args.freeze_delay is not None and not args.no_freeze:
        freeze += f" after {args.freeze_delay:g} ms"
    print(
        f"lambda-lifecycle serve ({args.http}, loop {args.loop}, {freeze}), "
        f"awslambdaric echo, one keep-alive connection, best of {args.rounds} rounds"
    )
    print(f"{'case':<14} {'invokes/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'emulator CPU us/inv':>20}")
    for name, _, _ in cases:
        r = best[name]
        print(
            f"{name:<14} {r.rate:>10,.0f} {r.percentile(0.5):>8.3f} {r.percentile(0.99):>8.3f}"
            f" {r.cpu_us:>20,.0f}"
        )
    median = colds[len(colds) // 2]
    print(
        f"cold start: serve to first response {median[0]:.0f} ms (median of {len(colds)}), "
        f"first invoke {median[1]:.1f} ms"
    )


if __name__ == "__main__":
    main()
