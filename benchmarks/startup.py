"""Start-up of ``lambda-lifecycle serve``: time to listen and time to the first response.

``python -m benchmarks.startup`` starts ``serve`` as a new process, again and again (``--rounds``),
with a trivial runtime (a standard-library Python loop over the Runtime API, started with
``-S`` so that its own start-up stays small), and measures from the moment the process is
started

- **listen**: until the invoke endpoint accepts a TCP connection (polled every 0.5 ms);
- **first response**: until the answer to a first invocation sent the moment it listens
  arrives (the imports, the listeners, the Init phase and the invocation);

then prints a table of the best and the median of each. Python's bytecode is cached as in an
installed package (pip compiles a wheel's modules when it installs them): the processes write
and read it under a temporary ``PYTHONPYCACHEPREFIX``, and one start before the measured ones
fills it. ``--no-bytecode`` measures with ``PYTHONDONTWRITEBYTECODE=1`` instead, every module
compiled at every start. ``--compare COMMAND`` measures another
emulator the same way, side by side (for example ``--compare aws-lambda-rie``: it is given the
same runtime command and ``--runtime-interface-emulator-address``). ``--imports`` adds the
cumulative import time of the command-line module and of the package, from
``python -X importtime``.

The machine's load changes every figure: they are indicative, and only comparable within one run.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNTIME = """\
import http.client, os
host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
connection = http.client.HTTPConnection(host, int(port))
while True:
    connection.request("GET", "/2018-06-01/runtime/invocation/next")
    response = connection.getresponse()
    event = response.read()
    request_id = response.getheader("Lambda-Runtime-Aws-Request-Id")
    connection.request("POST", f"/2018-06-01/runtime/invocation/{request_id}/response", event)
    connection.getresponse().read()
"""
PATH = "/2015-03-31/functions/function/invocations"
POLL_S = 0.0005
GIVE_UP_S = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve_command(runtime: list[str], port: int, api_port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "lambda_lifecycle",
        "serve",
        "--port",
        str(port),
        "--runtime-api-address",
        f"127.0.0.1:{api_port}",
        "--",
        *runtime,
    ]


def other_command(program: str, runtime: list[str], port: int, api_port: int) -> list[str]:
    return [
        *shlex.split(program),
        "--runtime-interface-emulator-address",
        f"127.0.0.1:{port}",
        "--runtime-api-address",
        f"127.0.0.1:{api_port}",
        *runtime,
    ]


def child_environment(folder: str, bytecode: bool) -> dict[str, str]:
    """The environment of the measured processes: bytecode cached under ``folder``, or none."""
    environ = dict(os.environ)
    if bytecode:
        environ.pop("PYTHONDONTWRITEBYTECODE", None)
        environ["PYTHONPYCACHEPREFIX"] = str(Path(folder) / "pycache")
    else:
        environ["PYTHONDONTWRITEBYTECODE"] = "1"
    return environ


def one_round(command: list[str], port: int, environ: dict[str, str]) -> tuple[float, float]:
    """(seconds to listen, seconds to the first response) of one start of ``command``."""
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
        env=environ,
    )
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited with {process.returncode}")
            if time.perf_counter() - started > GIVE_UP_S:
                raise RuntimeError(f"{command[0]} did not listen within {GIVE_UP_S:g} s")
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=1)
            except OSError:
                time.sleep(POLL_S)
                continue
            listening = time.perf_counter() - started
            sock.close()
            break
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=GIVE_UP_S)
        connection.request("POST", PATH, b'{"hello": "world"}')
        response = connection.getresponse()
        response.read()
        answered = time.perf_counter() - started
        if response.status != 200:
            raise RuntimeError(f"the first invocation answered {response.status}")
        connection.close()
        return listening, answered
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


AFTER_LISTEN = "lambda_lifecycle.server.function_emulator"


def import_times(environ: dict[str, str]) -> list[tuple[str, float]]:
    """Cumulative import time (ms) of the command-line module, of the package and of what
    ``serve`` imports once it listens (the emulator, with the engine, anyio and uvicorn)."""
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            f"import lambda_lifecycle.tools.cli, lambda_lifecycle.tools.serve, {AFTER_LISTEN}",
        ],
        capture_output=True,
        text=True,
        check=True,
        env=environ,
    )
    wanted = {
        "lambda_lifecycle",
        "lambda_lifecycle.tools.cli",
        "lambda_lifecycle.tools.serve",
        AFTER_LISTEN,
    }
    found: list[tuple[str, float]] = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s+(\S+)", line)
        if match and match[2] in wanted:
            found.append((match[2], int(match[1]) / 1000))
    return found


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="starts per emulator (default 5)")
    parser.add_argument(
        "--compare", metavar="COMMAND", help="another emulator, e.g. aws-lambda-rie"
    )
    parser.add_argument("--imports", action="store_true", help="also report import times")
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="compile every module at every start (PYTHONDONTWRITEBYTECODE=1)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        environ = child_environment(folder, bytecode=not args.no_bytecode)
        script = Path(folder) / "runtime.py"
        script.write_text(RUNTIME)
        runtime = [sys.executable, "-S", str(script)]
        emulators = [("lambda-lifecycle serve", None)]
        if args.compare:
            emulators.append((args.compare, args.compare))
        header = ("emulator", "listen best", "median", "1st answer best", "median")
        print("{:<26} {:>12} {:>8} {:>16} {:>8}".format(*header))
        for name, program in emulators:
            listens: list[float] = []
            answers: list[float] = []
            for round_number in range(args.rounds + 1):
                port, api_port = free_port(), free_port()
                command = (
                    serve_command(runtime, port, api_port)
                    if program is None
                    else other_command(program, runtime, port, api_port)
                )
                listen, answer = one_round(command, port, environ)
                if round_number == 0:
                    continue  # fills the bytecode cache and the page cache; not counted
                listens.append(listen)
                answers.append(answer)
            print(
                f"{name:<26} {ms(min(listens)):>12} {ms(statistics.median(listens)):>8} "
                f"{ms(min(answers)):>16} {ms(statistics.median(answers)):>8}"
            )
        if args.imports:
            imports = import_times(environ)
    if args.imports:
        for module, took in imports:
            print(f"import {module:<32} {took:6.1f} ms (cumulative, -X importtime)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
