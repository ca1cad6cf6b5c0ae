"""``lambda-lifecycle serve`` and ``invoke`` as a user runs them: a real command, real signals.

The mistakes (a bad handler, a missing bootstrap, a port in use, a non-executable file in the
extensions directory) are checked in process: one line on stderr, exit status 1, no traceback.
The serving tests start the command as a subprocess on ephemeral ports, invoke it, and stop it
with SIGINT, which must spin the environment down (SHUTDOWN to the extensions) and exit 0.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lambda_lifecycle.tools.cli import main
from lambda_lifecycle.tools.serve import invocation_url
from tests.fixtures.helpers import FIXTURES, PYTHON, alive, children_of

pytestmark = pytest.mark.processes

FUNCTIONS = FIXTURES / "functions"
RECORDER = FIXTURES / "extensions" / "recorder.py"
BANNER = re.compile(r"on (http://\S+) \(Runtime API (\S+)\)")


def one_error_line(capsys: pytest.CaptureFixture[str], code: int) -> str:
    _, err = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("lambda-lifecycle: error: ")
    return lines[0]


# -- mistakes, reported before anything starts ---------------------------------------------------


def test_a_handler_that_is_not_module_function(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "--handler", "nodot", "--task-root", str(FUNCTIONS)])
    assert "not of the form module.function" in one_error_line(capsys, code)


def test_a_handler_whose_module_is_missing(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["serve", "--handler", "nothere.handler", "--task-root", str(FUNCTIONS)])
    assert "no module 'nothere'" in one_error_line(capsys, code)


def test_a_missing_bootstrap(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code = main(["serve", "--", str(tmp_path / "bootstrap")])
    assert "does not exist" in one_error_line(capsys, code)


def test_a_bootstrap_that_is_not_executable(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bootstrap = tmp_path / "bootstrap"
    bootstrap.write_text("#!/bin/sh\n")
    code = main(["serve", "--", str(bootstrap)])
    assert "not an executable file" in one_error_line(capsys, code)


def test_a_non_executable_file_in_the_extensions_dir(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "README").write_text("not an extension")
    code = main(
        [
            "serve",
            "--handler",
            "handlers.count",
            "--task-root",
            str(FUNCTIONS),
            "--extensions-dir",
            str(tmp_path),
        ]
    )
    line = one_error_line(capsys, code)
    assert "README" in line and "not executable" in line


def test_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(
            [
                "serve",
                "--handler",
                "handlers.count",
                "--task-root",
                str(FUNCTIONS),
                "--port",
                str(port),
                "--runtime-api-address",
                "127.0.0.1:0",
            ]
        )
    line = one_error_line(capsys, code)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "in use" in line
    assert children_of(os.getpid()) == []


def test_a_timeout_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        ["serve", "--handler", "handlers.count", "--task-root", str(FUNCTIONS), "--timeout", "0"]
    )
    assert "timeout" in one_error_line(capsys, code)


def test_serve_with_nothing_to_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert "--handler" in one_error_line(capsys, main(["serve"]))


def test_invoke_with_nothing_listening(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
    assert "cannot invoke" in one_error_line(capsys, main(["invoke", "--url", url, "{}"]))


# -- serving -----------------------------------------------------------------------------------


@contextmanager
def served(
    *arguments: str, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``lambda-lifecycle serve`` on ephemeral ports; yields the invoke URL and the process."""
    command = [
        PYTHON,
        "-m",
        "lambda_lifecycle",
        "serve",
        "--port",
        "0",
        "--runtime-api-address",
        "127.0.0.1:0",
        *arguments,
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert process.stderr is not None
        banner = process.stderr.readline()
        match = BANNER.search(banner)
        assert match, banner + (process.stderr.read() if process.poll() is not None else "")
        yield match[1], process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def invoke(url: str, payload: str = "{}") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "lambda_lifecycle", "invoke", "--url", url, payload],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=15)
    return process.returncode, out, err


def test_serve_a_handler_invoke_it_and_stop_with_ctrl_c(tmp_path: Path) -> None:
    folder = tmp_path / "extensions"
    folder.mkdir()
    wrapper = folder / "recorder"
    wrapper.write_text(f'#!/bin/sh\nexec "{PYTHON}" "{RECORDER}" recorder\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)
    with served(
        "--handler",
        "handlers.count",
        "--task-root",
        str(FUNCTIONS),
        "--extensions-dir",
        str(folder),
        "--function-name",
        "orders",
        env={"RECORDER_DIR": str(tmp_path), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256"},
    ) as (url, process):
        first = invoke(url, '{"say": "hello"}')
        second = invoke(url)
        failed = invoke(url, '{"crash": "no"}')
        started = time.monotonic()
        code, out, err = stop(process)
        took = time.monotonic() - started
    assert (first.returncode, second.returncode, failed.returncode) == (0, 0, 1)
    assert json.loads(first.stdout)["count"] == 1
    assert json.loads(second.stdout)["count"] == 2
    assert json.loads(failed.stdout)["errorType"] == "ValueError"
    assert "function error" in failed.stderr
    assert code == 0, err
    assert "Traceback" not in err
    lines = out.splitlines()
    assert lines[0].startswith("INIT_START")
    assert "hello" in lines
    reports = [line for line in lines if line.startswith("REPORT")]
    assert len(reports) == 3
    assert "Memory Size: 256 MB" in reports[0]
    init = re.search(r"Init Duration: ([\d.]+) ms", reports[0])
    assert init and float(init[1]) > 1  # the real Init, not a constant
    request_id = json.loads(first.stdout)["request_id"]
    assert f"START RequestId: {request_id} Version: $LATEST" in lines
    assert reports[0].startswith(f"REPORT RequestId: {request_id}\t")
    assert "Status: error\tError Type: ValueError" in reports[2]
    events = [
        json.loads(line)["event"]
        for line in (tmp_path / "recorder.jsonl").read_text().splitlines()
        if json.loads(line)["kind"] == "event"
    ]
    assert [e["eventType"] for e in events] == ["INVOKE"] * 3 + ["SHUTDOWN"]
    assert events[-1]["shutdownReason"] == "spindown"
    assert events[0]["invokedFunctionArn"].endswith(":function:orders")
    assert took < 5
    pids = {
        json.loads(line)["pid"] for line in (tmp_path / "recorder.jsonl").read_text().splitlines()
    }
    assert not any(alive(pid) for pid in pids)


def test_serve_a_bootstrap_command_as_json_logs() -> None:
    with served(
        "--log-format",
        "json",
        "--task-root",
        str(FUNCTIONS),
        "--",
        sys.executable,
        "-m",
        "awslambdaric",
        "handlers.count",
    ) as (url, process):
        answer = invoke(url, '{"say": "json please"}')
        code, out, _ = stop(process)
    assert answer.returncode == 0 and code == 0
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    types = [r.get("type") for r in records]
    assert "platform.start" in types and "platform.report" in types


def test_a_second_ctrl_c_kills_at_once(tmp_path: Path) -> None:
    with served("--handler", "handlers.count", "--task-root", str(FUNCTIONS)) as (url, process):
        assert invoke(url).returncode == 0
        process.send_signal(signal.SIGINT)
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=15)
    assert process.returncode in (0, 130)


def test_invoke_reads_the_event_from_stdin() -> None:
    with served("--handler", "handlers.echo", "--task-root", str(FUNCTIONS)) as (url, process):
        answer = subprocess.run(
            [PYTHON, "-m", "lambda_lifecycle", "invoke", "--url", url, "-"],
            input='{"from": "stdin"}',
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        code, _, _ = stop(process)
    assert (answer.returncode, code) == (0, 0)
    assert json.loads(answer.stdout) == {"from": "stdin"}


def test_invoke_accepts_a_bare_base_url() -> None:
    assert invocation_url("http://localhost:8080") == (
        "http://localhost:8080/2015-03-31/functions/function/invocations"
    )
    assert invocation_url("http://localhost:8080/") == (
        "http://localhost:8080/2015-03-31/functions/function/invocations"
    )
    custom = "http://h:1/2015-03-31/functions/orders/invocations"
    assert invocation_url(custom) == custom
