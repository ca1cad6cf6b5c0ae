"""``serve`` as a drop-in for the AWS emulator: its command line, the runtime's variables, the
runtime label, and real runtime clients other than Python's (Node.js's ``aws-lambda-ric`` from
npm, a bash runtime in the shape of AWS's tutorial).

The Node.js client is installed by ``.ci/run`` into ``tests/.node`` (or the directory named by
``LAMBDA_LIFECYCLE_NODE_MODULES``); without it its test is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.errors import ConfigurationError
from lambda_lifecycle.core.variables import participant_variables, runtime_settings
from lambda_lifecycle.processes import sandbox
from lambda_lifecycle.tools import runtimes
from lambda_lifecycle.tools.cli import main
from lambda_lifecycle.tools.serve import default_bootstrap, resolve_handler
from tests.fixtures.helpers import FIXTURES, PYTHON

FUNCTIONS = FIXTURES / "functions"
BASH_RUNTIME = FIXTURES / "bash_runtime"
NODE_FUNCTION = FIXTURES / "node_function"
NODE_MODULES = Path(
    os.environ.get("LAMBDA_LIFECYCLE_NODE_MODULES")
    or Path(__file__).resolve().parent / ".node" / "node_modules"
)
BANNER = re.compile(r"on (http://\S+) \(Runtime API (\S+)\)")


# -- the command line, without processes -------------------------------------------------------


def test_the_handler_is_the_last_word_of_a_longer_command() -> None:
    assert resolve_handler(None, ["npx", "aws-lambda-ric", "app.handler"], {}) == "app.handler"
    assert resolve_handler(None, ["./bootstrap", "fn.handler"], {"_HANDLER": "x.y"}) == (
        "fn.handler"
    )
    assert resolve_handler("a.b", ["./bootstrap", "fn.handler"], {}) == "a.b"


def test_the_handler_of_a_one_word_command_comes_from_the_environment() -> None:
    both = {"AWS_LAMBDA_FUNCTION_HANDLER": "first.h", "_HANDLER": "second.h"}
    assert resolve_handler(None, ["./bootstrap"], both) == "first.h"
    assert resolve_handler(None, ["./bootstrap"], {"_HANDLER": "second.h"}) == "second.h"
    assert resolve_handler(None, ["./bootstrap"], {}) is None


def test_no_command_runs_the_task_roots_bootstrap(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="bootstrap"):
        default_bootstrap(tmp_path)
    (tmp_path / "bootstrap").write_text("#!/bin/sh\n")
    assert default_bootstrap(tmp_path) == [str(tmp_path / "bootstrap")]


def test_runtime_names_give_the_execution_env_and_the_label() -> None:
    python = runtimes.LambdaRuntime.parse("python3.13")
    assert (python.execution_env, python.version_label) == ("AWS_Lambda_python3.13", "python:3.13")
    node = runtimes.LambdaRuntime.parse("nodejs22.x")
    assert (node.execution_env, node.version_label) == ("AWS_Lambda_nodejs22.x", "nodejs:22")
    custom = runtimes.LambdaRuntime.parse("provided.al2023")
    assert (custom.execution_env, custom.version_label) == (None, "provided:al2023")
    with pytest.raises(ConfigurationError, match="not a Lambda runtime name"):
        runtimes.LambdaRuntime.parse("cobol1")


def test_only_what_the_command_certainly_is_gets_a_label() -> None:
    bash = runtimes.detect(["./bootstrap", "fn.handler"], shortcut=False, environ={})
    assert (bash.execution_env, bash.version_label) == (None, None)
    python = runtimes.detect(
        [sys.executable, "-m", "awslambdaric", "app.handler"], shortcut=False, environ={}
    )
    assert python.version_label == f"python:{sys.version_info[0]}.{sys.version_info[1]}"
    declared = runtimes.detect(
        ["./bootstrap"], shortcut=False, environ={"AWS_EXECUTION_ENV": "AWS_Lambda_nodejs22.x"}
    )
    assert declared.version_label == "nodejs:22"


def test_the_configurations_variables_are_not_overridden(tmp_path: Path) -> None:
    config = FunctionConfig(initialization_type="provisioned-concurrency", region="eu-west-1")
    extra = {
        "AWS_REGION": "us-west-2",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "TZ": "Europe/Paris",  # a function variable may set TZ, as on Lambda
        **runtime_settings(execution_env="AWS_Lambda_python3.13", log_format="json"),
    }
    runtime = participant_variables(config, "runtime", tmp_path, extra, 0.0)
    assert runtime["AWS_REGION"] == runtime["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert runtime["AWS_LAMBDA_INITIALIZATION_TYPE"] == "provisioned-concurrency"
    assert runtime["TZ"] == "Europe/Paris"
    assert runtime["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.13"
    assert runtime["AWS_LAMBDA_LOG_FORMAT"] == "JSON"
    assert "AWS_LAMBDA_LOG_LEVEL" not in runtime
    extension = participant_variables(config, "external", tmp_path, extra, 0.0)
    assert "AWS_EXECUTION_ENV" not in extension


# -- serving real runtimes ---------------------------------------------------------------------


@contextmanager
def served(
    *arguments: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """``serve`` with the AWS emulator's options on ephemeral ports; yields its URL, process."""
    command = [
        PYTHON,
        "-m",
        "lambda_lifecycle",
        "serve",
        "--runtime-interface-emulator-address",
        "127.0.0.1:0",
        "--runtime-api-address",
        "127.0.0.1:0",
        *arguments,
    ]
    root = str(Path(__file__).resolve().parent.parent)
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        p for p in (root, environment.get("PYTHONPATH")) if p
    )
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
        env=environment,
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


def post(url: str, payload: object, timeout: float = 30) -> tuple[int, dict[str, str], object]:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _lower(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, _lower(error.headers), json.loads(error.read())


def _lower(headers: object) -> dict[str, str]:
    assert hasattr(headers, "items")
    return {name.lower(): value for name, value in headers.items()}


def stop(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    return process.returncode, out, err


@pytest.mark.processes
@pytest.mark.skipif(shutil.which("curl") is None, reason="the bash runtime needs curl")
def test_a_bash_runtime_started_as_with_the_aws_emulator() -> None:
    host = {"TZ": "Europe/Paris", "AWS_REGION": "eu-west-1", "AWS_LAMBDA_FUNCTION_TIMEOUT": "7"}
    with served(
        "--log-level", "debug", "./bootstrap", "fn.handler", cwd=BASH_RUNTIME, env=host
    ) as (
        url,
        process,
    ):
        status, _, answer = post(url, {"from": "bash"})
        code, out, _ = stop(process)
    assert (status, code) == (200, 0)
    assert answer == {
        "handler": "fn.handler",
        "timeout": "7",
        "tz": ":UTC",
        "region": "eu-west-1",
        "execution_env": "",
        "task_root": str(BASH_RUNTIME),
    }
    lines = out.splitlines()
    assert lines[0] == "INIT_START"  # a custom runtime has no Runtime Version to show
    assert 'got {"from": "bash"}' in lines


@pytest.mark.processes
@pytest.mark.skipif(shutil.which("curl") is None, reason="the bash runtime needs curl")
def test_a_handler_option_does_not_make_a_bash_runtime_python() -> None:
    with served("--handler", "fn.handler", "--", "./bootstrap", cwd=BASH_RUNTIME) as (url, process):
        status, _, answer = post(url, {})
        code, out, _ = stop(process)
    assert (status, code) == (200, 0)
    assert isinstance(answer, dict)
    assert answer["handler"] == "fn.handler"
    assert out.splitlines()[0] == "INIT_START"


@pytest.mark.processes
def test_the_python_runtime_gets_lambdas_variables() -> None:
    with served(
        "--handler",
        "environ.variables",
        "--task-root",
        str(FUNCTIONS),
        "--log-format",
        "json",
        "--application-log-level",
        "info",
        env={"TZ": "Europe/Paris", "AWS_REGION": "eu-west-1"},
    ) as (url, process):
        status, _, answer = post(url, {})
        code, out, _ = stop(process)
    assert (status, code) == (200, 0)
    assert isinstance(answer, dict)
    python = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    assert answer["AWS_EXECUTION_ENV"] == f"AWS_Lambda_{python}"
    assert (
        answer["LAMBDA_RUNTIME_DIR"]
        and (Path(answer["LAMBDA_RUNTIME_DIR"]) / "awslambdaric").is_dir()
    )
    assert answer["LAMBDA_TASK_ROOT"] == str(FUNCTIONS)
    assert answer["_HANDLER"] == "environ.variables"
    assert (answer["AWS_LAMBDA_LOG_FORMAT"], answer["AWS_LAMBDA_LOG_LEVEL"]) == ("JSON", "INFO")
    assert (answer["TZ"], answer["AWS_REGION"]) == (":UTC", "eu-west-1")
    assert answer["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    start = next(r for r in records if r.get("type") == "platform.initStart")
    assert start["record"]["runtimeVersion"] == python.replace("python", "python:")
    assert start["record"]["runtimeVersionArn"].startswith("arn:aws:lambda:eu-west-1::runtime:")


@pytest.mark.processes
@pytest.mark.skipif(
    not (NODE_MODULES / ".bin" / "aws-lambda-ric").exists() or shutil.which("npx") is None,
    reason=f"the Node.js runtime client is not installed in {NODE_MODULES} (.ci/run installs it: "
    "npm install --prefix tests/.node aws-lambda-ric)",
)
def test_the_nodejs_runtime_client_started_with_npx(tmp_path: Path) -> None:
    shutil.copy(NODE_FUNCTION / "app.js", tmp_path / "app.js")
    (tmp_path / "node_modules").symlink_to(NODE_MODULES, target_is_directory=True)
    with served("--", "npx", "--no-install", "aws-lambda-ric", "app.handler", cwd=tmp_path) as (
        url,
        process,
    ):
        status, headers, answer = post(url, {"from": "node"})
        code, out, _ = stop(process)
    assert (status, code) == (200, 0), out
    assert "x-amz-function-error" not in headers
    assert isinstance(answer, dict)
    assert answer["handler"] == "app.handler"
    assert answer["event"] == {"from": "node"}
    assert answer["executionEnv"].startswith("AWS_Lambda_nodejs")
    first = out.splitlines()[0]
    assert first.startswith("INIT_START Runtime Version: nodejs:"), first
    assert "python" not in first
    assert 'node got {"from":"node"}' in out  # console.log, framed on _LAMBDA_TELEMETRY_LOG_FD


@pytest.mark.processes
def test_a_second_ctrl_c_answers_the_waiting_caller() -> None:
    answers: list[tuple[int, dict[str, str], object]] = []
    with served(
        "--handler", "handlers.count", "--task-root", str(FUNCTIONS), "--timeout", "60"
    ) as (url, process):
        caller = threading.Thread(target=lambda: answers.append(post(url, {"sleep": 30})))
        caller.start()
        assert process.stdout is not None
        for line in process.stdout:  # the invocation is under way
            if line.startswith("START"):
                break
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        started = time.monotonic()
        process.communicate(timeout=20)
        took = time.monotonic() - started
        caller.join(timeout=20)
    assert process.returncode == 130
    assert answers, "the caller got no answer"
    status, headers, body = answers[0]
    assert status == 503
    assert headers["content-type"].startswith("application/json")
    assert isinstance(body, dict)
    assert body["errorType"] == "ServiceException"
    assert "Ctrl-C" in body["errorMessage"]
    assert took < 15  # it did not wait for the 30 s handler


# -- sandbox.localdomain and layers --------------------------------------------------------------

LISTENER = FIXTURES / "extensions" / "sandbox_listener.py"
NAMESPACE = sandbox.probe()
needs_namespace = pytest.mark.skipif(
    NAMESPACE is not None, reason=f"no private mount namespace here: {NAMESPACE}"
)


def test_a_hosts_file_that_already_names_the_sandbox(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost\n# 127.0.0.1 sandbox.localdomain\n")
    assert not sandbox.hosts_resolve_sandbox(hosts)
    hosts.write_text("127.0.0.1 localhost\n127.0.0.1\tsandbox sandbox.localdomain\n")
    assert sandbox.hosts_resolve_sandbox(hosts)


def test_layers_merge_in_order(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    for layer, names in ((first, ("a", "b")), (second, ("b",))):
        (layer / "extensions").mkdir(parents=True)
        for name in names:
            (layer / "extensions" / name).write_text(layer.name)
    view = sandbox.SandboxView([first, second], hosts=False)
    assert view.extensions() == {"a": first / "extensions" / "a", "b": second / "extensions" / "b"}
    assert view.host_path("/opt/extensions/b") == second / "extensions" / "b"
    assert view.host_path("/opt/nothing") is None
    assert view.host_path("/var/task/a") is None
    with pytest.raises(ConfigurationError, match="not a directory"):
        sandbox.SandboxView([tmp_path / "missing"], hosts=False)


def test_a_layer_without_a_namespace_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code = main(
        [
            "serve",
            "--handler",
            "handlers.count",
            "--task-root",
            str(FUNCTIONS),
            "--layer",
            str(tmp_path),
            "--no-mount-namespace",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 1
    assert "--layer" in err and "private mount namespace" in err and "Traceback" not in err


def executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


@pytest.mark.processes
@needs_namespace
def test_extensions_resolve_the_sandbox_and_find_their_layers_at_opt(tmp_path: Path) -> None:
    first, second, plain = tmp_path / "one", tmp_path / "two", tmp_path / "extensions"
    executable(
        first / "extensions" / "layered",
        f'#!/bin/sh\nexec "{PYTHON}" /opt/tool/listener.py layered /opt/data.txt\n',
    )
    (first / "tool").mkdir()
    shutil.copy(LISTENER, first / "tool" / "listener.py")
    (first / "data.txt").write_text("from the first layer")
    (second / "data.txt").parent.mkdir()
    (second / "data.txt").write_text("from the second layer")
    executable(plain / "plain", f'#!/bin/sh\nexec "{PYTHON}" "{LISTENER}" plain\n')
    with served(
        "--handler",
        "handlers.count",
        "--task-root",
        str(FUNCTIONS),
        "--layer",
        str(first),
        "--layer",
        str(second),
        "--extensions-dir",
        str(plain),
        env={"RECORDER_DIR": str(tmp_path)},
    ) as (url, process):
        status, _, _ = post(url, {})
        code, _, err = stop(process)
    assert (status, code) == (200, 0), err
    layered = json.loads((tmp_path / "layered.json").read_text())
    assert layered == {"bound": "127.0.0.1", "data": "from the second layer"}
    assert json.loads((tmp_path / "plain.json").read_text()) == {"bound": "127.0.0.1"}


@pytest.mark.processes
@pytest.mark.skipif(
    sandbox.hosts_resolve_sandbox(), reason="this machine's /etc/hosts names sandbox.localdomain"
)
def test_without_a_namespace_serve_says_how_to_resolve_the_sandbox(tmp_path: Path) -> None:
    plain = tmp_path / "extensions"
    executable(plain / "plain", f'#!/bin/sh\nexec "{PYTHON}" "{LISTENER}" plain\n')
    with served(
        "--handler",
        "handlers.count",
        "--task-root",
        str(FUNCTIONS),
        "--extensions-dir",
        str(plain),
        "--no-mount-namespace",
        env={"RECORDER_DIR": str(tmp_path)},
    ) as (url, process):
        assert process.stderr is not None
        warning = process.stderr.readline()  # the line after the one about where it listens
        status, _, _ = post(url, {})
        code, _, _ = stop(process)
    assert (status, code) == (200, 0)
    assert "warning: extensions cannot resolve sandbox.localdomain" in warning
    assert "127.0.0.1\tsandbox.localdomain sandbox" in warning
    found = json.loads((tmp_path / "plain.json").read_text())
    assert "bound" not in found and "address" in found["error"]  # the name did not resolve


@pytest.mark.processes
def test_log_level_error_leaves_the_banner_out() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [PYTHON, "-m", "lambda_lifecycle", "serve", "--handler", "handlers.count"]
    command += ["--task-root", str(FUNCTIONS), "--runtime-api-address", "127.0.0.1:0"]
    command += ["--runtime-interface-emulator-address", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "LOG_LEVEL": "ERROR"},
    )
    try:
        url = f"http://127.0.0.1:{port}/2015-03-31/functions/function/invocations"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, _, _ = post(url, {}, timeout=30)
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.05)
        code, _, err = stop(process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert (status, code) == (200, 0)
    assert err == ""
