"""Concurrent callers through ``serve``: does the pool of environments scale out?

``python -m benchmarks.concurrent_invoke`` starts ``lambda-lifecycle serve`` with the Python
runtime interface client and a handler that sleeps ``--sleep-ms`` (50 by default, as a handler
waiting on I/O would) or returns at once (``--sleep-ms 0``), then runs 1, 8 and 32 concurrent
callers (threads, one keep-alive connection each) for ``--seconds`` each, after one warm-up
round that starts the environments. It reports invokes per second, p50 and p99 latency and the
throttled answers (none expected: the reserved concurrency is set to the most callers).

With one environment (``--reserved-concurrency 1`` and callers queueing on it) a 50 ms handler
tops out at 20 invokes per second; with a pool, each caller has an environment of its own and
throughput grows with the callers until the cores are saturated.
"""

from __future__ import annotations

import argparse
import http.client
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BANNER = re.compile(r"on http://([\d.]+):(\d+)(/\S+) \(Runtime API")
HANDLER = (
    "import time\n\n\ndef handler(event, context):\n"
    "    time.sleep(event.get('sleep', 0))\n    return {}\n"
)


def run_callers(host: str, port: int, path: str, callers: int, seconds: float, sleep: float):
    latencies: list[float] = []
    throttled = [0]
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds
    body = b'{"sleep": %g}' % sleep

    def caller() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        mine: list[float] = []
        refused = 0
        while time.monotonic() < stop_at:
            started = time.perf_counter()
            conn.request("POST", path, body)
            response = conn.getresponse()
            response.read()
            if response.status == 429:
                refused += 1
            else:
                mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            throttled[0] += refused

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    began = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - began
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return len(latencies) / took, pct(0.5), pct(0.99), throttled[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sleep-ms", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=3)
    parser.add_argument("--callers", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--reserved-concurrency", type=int, default=0, help="0: the most callers")
    args = parser.parse_args()
    reserved = args.reserved_concurrency or max(args.callers)
    with tempfile.TemporaryDirectory() as root:
        Path(root, "app.py").write_text(HANDLER)
        command = [sys.executable, "-m", "lambda_lifecycle", "serve", "--port", "0"]
        command += ["--runtime-api-address", "127.0.0.1:0", "--handler", "app.handler"]
        command += ["--task-root", root, "--reserved-concurrency", str(reserved)]
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            assert process.stderr is not None
            match = BANNER.search(process.stderr.readline())
            assert match, "serve did not start"
            host, port, path = match[1], int(match[2]), match[3]
            sleep = args.sleep_ms / 1000
            print(f"handler sleeping {args.sleep_ms:g} ms, reserved concurrency {reserved}")
            for callers in args.callers:
                run_callers(host, port, path, callers, 0.5, sleep)  # warm-up: the cold starts
                rate, p50, p99, refused = run_callers(
                    host, port, path, callers, args.seconds, sleep
                )
                print(
                    f"{callers:3d} callers: {rate:8.1f} invokes/s  p50 {p50:7.1f} ms  "
                    f"p99 {p99:7.1f} ms  throttled {refused}"
                )
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
