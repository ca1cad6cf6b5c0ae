"""Throughput and memory of ``lambda-lifecycle check`` on a large generated log.

``python -m benchmarks.check_throughput`` writes a CloudWatch plain-text log of about
``--size-mb`` megabytes (default 200; ``--gb`` for 1 GB) into a temporary file: one log stream
(one environment) with its INIT_START and cold start, then warm START/END/REPORT triples with
``--app-lines`` lines of the function's own output each (default 1), and now and then a timeout
and the suppressed init after it. All of it conforms, so the check walks every step. It then runs
``lambda-lifecycle check --format json`` on the file in a new process, twice: on the first
quarter of the file and on the whole of it, and prints lines per second and the process's peak
resident memory for each (the same peak for both sizes is what constant memory means).

The machine's load changes every figure: they are indicative, and only comparable within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PER_ENVIRONMENT = 5000
TIMEOUT_EVERY = 997


def invocations(environment: int, app_lines: int) -> list[str]:
    """The lines of ``PER_ENVIRONMENT`` invocations, the first a cold start."""
    chunk = []
    for n in range(PER_ENVIRONMENT):
        rid = f"{environment:08x}-{n:04x}-4000-8000-{n * 7919:012x}"
        cold = environment == 1 and n == 0
        timeout = n % TIMEOUT_EVERY == TIMEOUT_EVERY - 1
        duration = 3000.0 + n % 7 if timeout else 20.0 + (n % 97) * 1.37
        init = 150.25 if cold else 0.0
        fields = [
            f"REPORT RequestId: {rid}",
            f"Duration: {duration:.2f} ms",
            f"Billed Duration: {-(-round((duration + init) * 100) // 100)} ms",
            "Memory Size: 512 MB",
            f"Max Memory Used: {60 + n % 40} MB",
        ]
        if cold:
            fields.append(f"Init Duration: {init:.2f} ms")
        if timeout:
            fields.append("Status: timeout")
        chunk.append(f"START RequestId: {rid} Version: $LATEST")
        for k in range(app_lines):
            chunk.append(f"[INFO]\t2025-09-01T10:00:00.000Z\t{rid}\tprocessed order {n} step {k}")
        chunk.append(f"END RequestId: {rid}")
        chunk.append("\t".join(fields))
    return chunk


def generate(path: Path, size_bytes: int, app_lines: int) -> int:
    """Write the log of one environment (a log stream); the number of lines written."""
    lines = 1
    block = 0
    with path.open("w", encoding="utf-8") as out:
        out.write("INIT_START Runtime Version: python:3.13.v14\tRuntime Version ARN: arn:x\n")
        while out.tell() < size_bytes:
            block += 1
            chunk = invocations(block, app_lines)
            out.write("\n".join(chunk) + "\n")
            lines += len(chunk)
    return lines


CHILD = """\
import resource
import sys
from lambda_lifecycle.tools.cli import main
status = main(["check", "--format", "json", sys.argv[1]])
try:
    with open("/proc/self/status") as proc:
        peak = next(line.split()[1] for line in proc if line.startswith("VmHWM:"))
except OSError:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(peak, file=sys.stderr)
sys.exit(status)
"""


def run_check(path: Path) -> tuple[float, float, int, dict[str, object]]:
    """Seconds, CPU seconds, the peak RSS of the checking process in KiB, and the JSON summary.

    The CPU seconds (user + system of the child) are steadier than the wall time on a shared
    machine.

    The peak is the process's own high-water mark after it started (``VmHWM``), which does not
    count what it shared with this process before ``exec``.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"check exited {done.returncode}: {done.stdout[-2000:]}{done.stderr}")
    report = json.loads(done.stdout)
    return seconds, cpu, int(done.stderr.split()[-1]), report["summary"]


def head(source: Path, target: Path, size: int) -> int:
    """The first ``size`` bytes of ``source`` cut at a line end; its number of lines."""
    lines = 0
    with source.open(encoding="utf-8") as src, target.open("w", encoding="utf-8") as dst:
        for line in src:
            if dst.tell() >= size and line.startswith("START"):
                break
            dst.write(line)
            lines += 1
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200, help="size of the log (default 200)")
    parser.add_argument("--gb", action="store_true", help="a 1 GB log instead")
    parser.add_argument(
        "--app-lines",
        type=int,
        default=1,
        help="lines of the function's own output per invocation (default 1)",
    )
    parser.add_argument("--keep", type=Path, help="write the log here instead of a temp file")
    args = parser.parse_args(argv)
    size = (1 << 30) if args.gb else args.size_mb << 20
    with tempfile.TemporaryDirectory() as directory:
        full = args.keep or Path(directory) / "big.log"
        started = time.perf_counter()
        total = generate(full, size, args.app_lines)
        print(
            f"generated {full.stat().st_size / 1e6:,.0f} MB, {total:,} lines"
            f" in {time.perf_counter() - started:.1f} s"
        )
        quarter = Path(directory) / "quarter.log"
        quarter_lines = head(full, quarter, size // 4)
        print(
            f"{'input':>10} {'lines':>14} {'seconds':>9} {'lines/s':>12} {'CPU s':>7}"
            f" {'lines/CPU s':>12} {'peak RSS MB':>12}"
        )
        for name, path, lines in (("quarter", quarter, quarter_lines), ("whole", full, total)):
            seconds, cpu, peak_kib, summary = run_check(path)
            print(
                f"{name:>10} {lines:>14,} {seconds:>9.1f} {lines / seconds:>12,.0f}"
                f" {cpu:>7.1f} {lines / cpu:>12,.0f} {peak_kib / 1024:>12.1f}"
            )
            assert summary["invokes"], summary
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; figures are indicative")


if __name__ == "__main__":
    main()
