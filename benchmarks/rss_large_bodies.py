"""The emulator's memory after large bodies: ``serve``'s resident set after many 6 MiB invokes.

``python -m benchmarks.rss_large_bodies`` starts ``lambda-lifecycle serve`` with the echo handler
of :mod:`benchmarks.http_invoke` and sends it ``--invokes`` sequential invocations (300 by
default) of an event of ``--size`` bytes (6,291,456, the largest synchronous event Lambda
accepts), each echoed back. It reports serve's resident set (``VmRSS``) before the first
invoke, after every ``--every`` invokes and at the end, and its peak (``VmHWM``). The goal is
a resident set under 200 MB at the end: each body is freed when its invocation is over, and the
allocator gives the memory back (see ``lambda_lifecycle.server.memory``).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.http_invoke import HANDLER, Served, event_of

MIB = 1024 * 1024


def memory_kib(pid: int, field: str) -> int:
    """A ``/proc/<pid>/status`` figure in KiB (``VmRSS``, ``VmHWM``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise LookupError(field)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invokes", type=int, default=300)
    parser.add_argument("--size", type=int, default=6 * MIB)
    parser.add_argument("--every", type=int, default=50)
    args = parser.parse_args(argv)
    body = event_of(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "echo.py").write_text(HANDLER)
        served = Served(root, [])
        pid = served.process.pid
        try:
            served.invoke(event_of(0))
            print(f"serve RSS after one small invoke: {memory_kib(pid, 'VmRSS') / 1024:.0f} MiB")
            for done in range(1, args.invokes + 1):
                answer = served.invoke(body)
                if len(answer) < args.size - 100:
                    raise SystemExit(f"short answer: {len(answer)} bytes")
                if done % args.every == 0 or done == args.invokes:
                    rss = memory_kib(pid, "VmRSS") / 1024
                    print(f"serve RSS after {done} invokes of {len(body):,} bytes: {rss:.0f} MiB")
            peak = memory_kib(pid, "VmHWM") / 1024
            print(f"serve peak RSS (VmHWM): {peak:.0f} MiB")
        finally:
            served.close()


if __name__ == "__main__":
    main()
