"""Real-process participants: exits, signals to the process group, freezing, output, cleanup.

Real processes, real time, short timeouts (never virtual time with real processes).
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import anyio
import pytest

from lambda_lifecycle.core.errors import ConfigurationError
from lambda_lifecycle.engine.participant import ExitStatus
from lambda_lifecycle.processes import (
    ProcessExtension,
    ProcessRuntime,
    discover_extensions,
    exit_status,
    signal_name,
)
from lambda_lifecycle.processes.process import MAX_LINE_BYTES, OSProcess
from tests.fixtures.helpers import (
    PYTHON,
    Context,
    FakeRuntimeClient,
    alive,
    children_of,
    group_members,
    proc_state,
    until,
)

pytestmark = pytest.mark.processes

PATH = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}


async def start(
    ctx: Context, command: list[str], *, output: bool = False, cwd: Path | None = None
) -> OSProcess:
    runtime = ProcessRuntime(command, cwd=cwd, output=ctx.output if output else None)
    process = await runtime.start(FakeRuntimeClient(), ctx.start_context())  # type: ignore[arg-type]
    assert isinstance(process, OSProcess)
    return process


async def exited(ctx: Context) -> ExitStatus:
    with anyio.fail_after(5):
        await ctx.exited.wait()
    assert len(ctx.exits) == 1
    return ctx.exits[0]


# -- exit statuses ---------------------------------------------------------------------------------


def test_signal_names_are_gos() -> None:
    assert signal_name(signal.SIGKILL) == "killed"
    assert signal_name(signal.SIGTERM) == "terminated"
    assert signal_name(signal.SIGSEGV) == "segmentation fault"
    assert signal_name(signal.SIGABRT) == "aborted"
    assert signal_name(200) == "signal 200"
    assert exit_status(-9) == ExitStatus(None, "killed")
    assert exit_status(3) == ExitStatus(3)
    assert exit_status(-9).describe() == "signal: killed"
    assert exit_status(127).describe() == "exit status 127"
    assert exit_status(0).describe() is None


@pytest.mark.parametrize(("script", "expected"), [("exit 0", 0), ("exit 3", 3), ("exit 127", 127)])
async def test_exit_codes_are_reported_once(tmp_path: Path, script: str, expected: int) -> None:
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        await start(ctx, ["sh", "-c", script])
        assert await exited(ctx) == ExitStatus(expected)
    assert ctx.exits == [ExitStatus(expected)]


async def test_a_signal_the_program_sends_itself_is_named(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        await start(ctx, ["sh", "-c", "kill -SEGV $$"])
        status = await exited(ctx)
    assert status == ExitStatus(None, "segmentation fault")
    assert status.describe() == "signal: segmentation fault"


@pytest.mark.parametrize(("how", "expected"), [("kill", "killed"), ("terminate", "terminated")])
async def test_kill_and_terminate(tmp_path: Path, how: str, expected: str) -> None:
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        process = await start(ctx, ["sleep", "30"])
        await until(lambda: alive(process.pid))
        getattr(process, how)()
        assert await exited(ctx) == ExitStatus(None, expected)
    assert not alive(process.pid)


async def test_exit_is_detected_at_once(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        process = await start(ctx, [PYTHON, "-c", "import time; time.sleep(0.2)"])
        started = anyio.current_time()
        await exited(ctx)
        took = anyio.current_time() - started
    assert 0.15 < took < 0.6
    assert not alive(process.pid)


# -- freezing --------------------------------------------------------------------------------------


async def test_freeze_really_stops_the_whole_group_and_thaw_resumes_it(tmp_path: Path) -> None:
    script = "sleep 30 & echo $!; while true; do sleep 0.01; done"
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        process = await start(ctx, ["sh", "-c", script], output=True)
        await until(lambda: ctx.lines)
        grandchild = int(ctx.lines[0][1])
        assert process.freezable
        process.freeze()
        await until(lambda: proc_state(process.pid) == "T" and proc_state(grandchild) == "T")
        await anyio.sleep(0.05)
        assert proc_state(process.pid) == "T"  # still stopped: nothing thawed it
        process.thaw()
        await until(lambda: proc_state(process.pid) != "T" and proc_state(grandchild) != "T")
        process.kill()
        await exited(ctx)
    await until(lambda: not alive(grandchild))  # SIGKILLed: gone in a moment


async def test_a_frozen_process_can_be_killed(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        process = await start(ctx, ["sleep", "30"])
        process.freeze()
        await until(lambda: proc_state(process.pid) == "T")
        process.kill()
        assert await exited(ctx) == ExitStatus(None, "killed")


# -- the process group -----------------------------------------------------------------------------


async def test_kill_takes_the_grandchildren(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        process = await start(ctx, ["sh", "-c", "sleep 30 & echo $!; wait"], output=True)
        await until(lambda: ctx.lines)
        grandchild = int(ctx.lines[0][1])
        assert alive(grandchild)
        assert set(group_members(process.pid)) >= {process.pid, grandchild}
        process.kill()
        await exited(ctx)
    await until(lambda: not alive(grandchild))
    assert group_members(process.pid) == []


async def test_a_leader_that_exits_takes_its_group_with_it(tmp_path: Path) -> None:
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        await start(ctx, ["sh", "-c", "sleep 30 & echo $!; exit 4"], output=True)
        assert await exited(ctx) == ExitStatus(4)
    grandchild = int(ctx.lines[0][1])
    await until(lambda: not alive(grandchild))


async def test_cancelling_the_task_group_kills_the_group_and_reports_nothing(
    tmp_path: Path,
) -> None:
    with anyio.move_on_after(5):
        async with anyio.create_task_group() as tg:
            ctx = Context(tg, tmp_path, dict(PATH))
            process = await start(ctx, ["sh", "-c", "sleep 30 & echo $!; wait"], output=True)
            await until(lambda: ctx.lines)
            tg.cancel_scope.cancel()
    grandchild = int(ctx.lines[0][1])
    assert proc_state(process.pid) is None  # killed and reaped: not even a zombie
    await until(lambda: not alive(grandchild))
    assert ctx.exits == []
    assert children_of(os.getpid()) == []


# -- output and environment ------------------------------------------------------------------------


async def test_output_lines_arrive_from_stdout_and_stderr(tmp_path: Path) -> None:
    script = "import sys; print('one'); print('two', file=sys.stderr); sys.stdout.write('tail')"
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        await start(ctx, [PYTHON, "-c", script], output=True)
        await exited(ctx)
    assert sorted(ctx.lines) == [("bootstrap", "one"), ("bootstrap", "tail"), ("bootstrap", "two")]


async def test_output_arrives_while_the_program_runs(tmp_path: Path) -> None:
    script = "import time; print('ready', flush=True); time.sleep(30)"
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        process = await start(ctx, [PYTHON, "-c", script], output=True)
        await until(lambda: ctx.lines == [("bootstrap", "ready")])
        process.kill()
        await exited(ctx)


async def test_a_very_long_line_is_cut(tmp_path: Path) -> None:
    script = f"import sys; sys.stdout.write('x' * {MAX_LINE_BYTES + 10} + '\\n')"
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        await start(ctx, [PYTHON, "-c", script], output=True)
        await exited(ctx)
    assert [len(line) for _, line in ctx.lines] == [MAX_LINE_BYTES, 10]


async def test_the_environment_is_exactly_the_given_one_and_cwd_the_task_root(
    tmp_path: Path,
) -> None:
    environment = {"LAMBDA_TASK_ROOT": str(tmp_path), "ONLY": "this"}
    script = "import os, json; print(json.dumps(dict(os.environ))); print(os.getcwd())"
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, environment)
        await start(ctx, [PYTHON, "-c", script], output=True)
        await exited(ctx)
    seen = json.loads(ctx.lines[0][1])
    seen.pop("LC_CTYPE", None)  # CPython's own locale coercion may add it
    assert seen == environment
    assert ctx.lines[1][1] == str(tmp_path)


async def test_a_runtime_that_cannot_start_reports_an_invalid_entrypoint(tmp_path: Path) -> None:
    client = FakeRuntimeClient()
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        runtime = ProcessRuntime([str(tmp_path / "bootstrap")])
        process = await runtime.start(client, ctx.start_context())  # type: ignore[arg-type]
        assert not process.freezable
        assert await exited(ctx) == ExitStatus(127)
    assert client.init_errors == [
        {
            "errorType": "Runtime.InvalidEntrypoint",
            "errorMessage": f"fork/exec {tmp_path / 'bootstrap'}: no such file or directory",
        }
    ]


async def test_an_extension_that_cannot_start_exits_127(tmp_path: Path) -> None:
    target = tmp_path / "ext"
    target.write_text("#!/bin/sh\n")  # not executable
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        extension = ProcessExtension(target)
        assert (extension.name, extension.kind) == ("ext", "external")
        await extension.start(None, ctx.start_context())  # type: ignore[arg-type]
        assert await exited(ctx) == ExitStatus(127)


# -- /opt/extensions ---------------------------------------------------------------------------


def make_program(path: Path, executable: bool = True) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755 if executable else 0o644)
    return path


def test_discover_extensions_takes_every_executable_file_in_name_order(tmp_path: Path) -> None:
    make_program(tmp_path / "zeta")
    make_program(tmp_path / "alpha")
    (tmp_path / "subdir").mkdir()
    found = discover_extensions(tmp_path)
    assert [e.name for e in found] == ["alpha", "zeta"]
    assert all(e.kind == "external" for e in found)
    assert found[0].path == tmp_path / "alpha"


def test_discover_extensions_names_a_non_executable_file(tmp_path: Path) -> None:
    make_program(tmp_path / "good")
    make_program(tmp_path / "notes.txt", executable=False)
    with pytest.raises(ConfigurationError, match=r"notes\.txt.*not executable"):
        discover_extensions(tmp_path)


def test_discover_extensions_of_a_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        discover_extensions(tmp_path / "nope")
    assert discover_extensions(tmp_path) == []


def test_no_process_is_left_behind() -> None:
    assert children_of(os.getpid()) == []


async def test_a_freeze_delay_stops_later_and_a_thaw_before_it_costs_no_signal(
    tmp_path: Path,
) -> None:
    async with anyio.create_task_group() as tg:
        ctx = Context(tg, tmp_path, dict(PATH))
        runtime = ProcessRuntime(["sleep", "30"], freeze_delay=0.2)
        process = await runtime.start(FakeRuntimeClient(), ctx.start_context())  # type: ignore[arg-type]
        assert isinstance(process, OSProcess)
        process.freeze()
        await anyio.sleep(0.05)
        assert proc_state(process.pid) != "T"  # not yet
        process.thaw()  # the next event came first: the stop is cancelled
        await anyio.sleep(0.3)
        assert proc_state(process.pid) != "T"
        process.freeze()
        await until(lambda: proc_state(process.pid) == "T")  # idle for the delay: frozen
        process.thaw()
        await until(lambda: proc_state(process.pid) != "T")
        process.kill()
        assert await exited(ctx) == ExitStatus(None, "killed")
