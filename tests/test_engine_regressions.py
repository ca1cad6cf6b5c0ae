"""Regressions at the lifecycle's edges: busy extensions at a Reset, ``next`` during a Reset,
SnapStart after a Reset, and participants whose process lacks the optional members.

Each test here failed before the core owned these rules (virtual time, in-process)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
import structlog

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.errors import APIError
from lambda_lifecycle.engine.clients import ExtensionClient, RuntimeClient, RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess import InProcessExtension, InProcessRuntime
from lambda_lifecycle.engine.participant import ExitStatus, StartContext

from .support import EchoRuntime

pytestmark = pytest.mark.looptime


def transitions(sub: Any) -> list[str]:
    return [e.data["transition"] for e in sub.drain() if e.type == "transition"]


class BusyExtension:
    """Waits ``work`` seconds on each INVOKE before calling next (as an extension that waits
    for ``platform.runtimeDone``), then spends ``cleanup`` seconds on SHUTDOWN and exits."""

    def __init__(self, work: float, cleanup: float, name: str = "busy") -> None:
        self.work = work
        self.cleanup = cleanup
        self.name = name
        self.received: list[dict[str, Any]] = []
        self.finished_cleanup = 0
        self.errors: list[str] = []

    def participant(self) -> InProcessExtension:
        return InProcessExtension(self.main, self.name)

    async def main(self, client: ExtensionClient) -> None:
        client.register(["INVOKE", "SHUTDOWN"])
        while True:
            try:
                event = await client.next()
            except APIError as err:  # pragma: no cover - the regression's symptom
                self.errors.append(err.error_type)
                raise
            self.received.append(event)
            if event["eventType"] == "SHUTDOWN":
                await anyio.sleep(self.cleanup)
                self.finished_cleanup += 1
                return
            await anyio.sleep(self.work)


async def test_an_extension_busy_at_a_reset_gets_shutdown_and_keeps_its_budget() -> None:
    async def sleepy(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        if rt.inits == 1:
            await anyio.sleep(5)  # over the 1 s timeout
        return b"{}"

    ext = BusyExtension(work=1.2, cleanup=0.5)
    config = FunctionConfig(timeout=1)
    async with Environment(
        EchoRuntime(handler=sleepy).participant(), [ext.participant()], config
    ) as env:
        sub = env.subscribe()
        t0 = anyio.current_time()
        timed = await env.invoke({})
        assert timed.error_type == "Sandbox.Timedout"
        # still busy with INVOKE at the Reset (1.2 s of work), then 0.5 s of cleanup: 1.7 s,
        # well inside the 2 s budget that started at 1 s
        await env.invoke({})
        events = sub.drain()
    shutdowns = [e for e in ext.received if e["eventType"] == "SHUTDOWN"]
    assert shutdowns[0]["shutdownReason"] == "timeout"
    assert ext.finished_cleanup == 2  # the Reset's and the final spin-down's
    exits = [e.data for e in events if e.type == "process_exit" and e.data["name"] == "busy"]
    assert exits[0]["code"] == 0 and exits[0]["signal"] is None  # it exited; nobody killed it
    reset_end = next(e for e in events if e.type == "reset_end")
    assert reset_end.time - t0 == pytest.approx(1.2 + 0.5, abs=0.01)


async def test_an_extension_calling_next_during_the_runtimes_sigterm_share_is_held() -> None:
    # The runtime answers at once; the extension works 1.1 s on a 1 s timeout, so its next
    # comes during the Reset, while the runtime (ignoring SIGTERM) uses its 300 ms share.
    ext = BusyExtension(work=1.1, cleanup=0.0)
    rt = EchoRuntime(ignore_sigterm=True)
    config = FunctionConfig(timeout=1)
    async with Environment(rt.participant(), [ext.participant()], config) as env:
        sub = env.subscribe()
        first = await env.invoke({})
        assert first.ok
        await first.report()
        second = await env.invoke({})
        path = transitions(sub)
    assert second.ok
    assert ext.errors == []
    assert [e["eventType"] for e in ext.received] == ["INVOKE", "SHUTDOWN", "INVOKE", "SHUTDOWN"]
    assert ext.received[1]["shutdownReason"] == "timeout"
    assert "invoke-timeout" in path and "reset-complete" in path


async def test_a_runtime_calling_next_from_its_sigterm_handler_is_held_until_stopped() -> None:
    sigterm = anyio.Event()
    outcomes: list[str] = []

    async def runtime(client: RuntimeClient) -> None:
        client.on_sigterm(sigterm.set)
        event = await client.next()
        if event.json().get("hang"):
            await sigterm.wait()  # the handler asks the main loop to finish
            try:
                client.respond(event.request_id, b"{}")
            except APIError as err:
                outcomes.append(err.error_type)  # the timeout answered it already
            try:
                await client.next()  # held: the Reset stops this process
            except BaseException as exc:
                cancelled = isinstance(exc, anyio.get_cancelled_exc_class())
                outcomes.append("stopped" if cancelled else type(exc).__name__)
                raise
        client.respond(event.request_id, b"{}")
        while True:
            ev = await client.next()
            client.respond(ev.request_id, b"{}")

    async def internal(client: ExtensionClient) -> None:
        client.register([])  # an internal extension: the runtime then gets SIGTERM
        await client.next()

    exts = [InProcessExtension(internal, "int", "internal")]
    config = FunctionConfig(timeout=1)
    async with Environment(InProcessRuntime(runtime), exts, config) as env:
        timed = await env.invoke({"hang": True})
        assert timed.error_type == "Sandbox.Timedout"
        again = await env.invoke({})
    assert again.ok
    assert outcomes == ["InvalidStateTransition", "stopped"]


async def test_snapstart_restores_again_after_a_reset() -> None:
    calls: list[str] = []

    async def hooks(generation: int, client: RuntimeClient) -> None:
        calls.append(f"before-snapshot {generation}")
        await client.restore_next()
        calls.append(f"after-restore {generation}")

    async def sleepy(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        if event.json().get("sleep"):
            await anyio.sleep(5)
        return b'{"count": %d}' % rt.counter

    rt = EchoRuntime(init_hook=hooks, handler=sleepy)
    config = FunctionConfig(initialization_type="snap-start", function_version="3", timeout=1)
    async with Environment(rt.participant(), config=config) as env:
        sub = env.subscribe()
        assert (await env.invoke({})).ok
        timed = await env.invoke({"sleep": True})
        assert timed.error_type == "Sandbox.Timedout"
        after = await env.invoke({})
        report = await after.report()
        later = await env.invoke({})
        path = transitions(sub)
    assert after.json() == {"count": 1} and later.json() == {"count": 2}
    assert report.restore_duration_ms is not None
    assert calls == ["before-snapshot 1", "after-restore 1", "before-snapshot 2", "after-restore 2"]
    reset = path.index("reset-complete")
    assert path[reset + 1 : reset + 5] == [
        "init",
        "init-complete-freeze",
        "restore",
        "restore-complete-invoke",
    ]


async def test_snapstart_recovers_from_a_failed_after_restore_hook() -> None:
    async def hooks(generation: int, client: RuntimeClient) -> None:
        await client.restore_next()
        if generation == 1:
            client.restore_error({"errorMessage": "hook", "errorType": "HookError"})
            await anyio.sleep_forever()

    rt = EchoRuntime(init_hook=hooks)
    config = FunctionConfig(initialization_type="snap-start", function_version="3")
    async with Environment(rt.participant(), config=config) as env:
        failed = await env.invoke({})
        recovered = await env.invoke({})
    assert failed.error_type == "HookError"
    assert recovered.ok


class BareProcess:
    """A process with only the required members: no freezable, freeze, thaw or memory."""

    def __init__(self, scope: anyio.CancelScope) -> None:
        self.scope = scope

    def terminate(self) -> None:
        self.scope.cancel()

    def kill(self) -> None:
        self.scope.cancel()


class BareRuntime:
    name = "bare"

    async def start(self, client: RuntimeClient, ctx: StartContext) -> BareProcess:
        scope = anyio.CancelScope()

        async def run() -> None:
            with scope:
                while True:
                    event = await client.next()
                    client.respond(event.request_id, b'"ok"')
            ctx.on_exit(_killed())

        ctx.task_group.start_soon(run)
        return BareProcess(scope)


def _killed() -> ExitStatus:
    return ExitStatus(None, "killed")


async def test_a_process_with_only_the_required_members_works() -> None:
    async with Environment(BareRuntime()) as env:
        first = await env.invoke({})
        second = await env.invoke({})
        report = await second.report()
    assert first.json() == "ok" and second.json() == "ok"
    assert report.max_memory_used_mb is None


class NotAProcessRuntime:
    name = "broken"

    async def start(self, client: RuntimeClient, ctx: StartContext) -> object:
        return object()


async def test_a_participant_that_returns_no_process_is_a_runtime_exit_not_an_engine_crash() -> (
    None
):
    with structlog.testing.capture_logs() as logs:
        async with Environment(NotAProcessRuntime(), config=FunctionConfig(timeout=1)) as env:
            result = await env.invoke({})
    assert result.error_type == "Runtime.ExitError"
    failed = [e for e in logs if e["event"] == "lambda_lifecycle.participant_start_failed"]
    assert failed and "terminate()" in failed[0]["error"] and failed[0]["name"] == "broken"


async def test_every_participant_of_an_environment_sees_its_one_log_stream() -> None:
    seen: list[str] = []

    class Noting:
        name = "noting"

        async def start(self, client: RuntimeClient, ctx: StartContext) -> Any:
            seen.append(ctx.environment["AWS_LAMBDA_LOG_STREAM_NAME"])
            return await EchoRuntime().participant().start(client, ctx)

    async def ext(client: ExtensionClient) -> None:
        client.register([])
        await client.next()

    class NotingExtension(InProcessExtension):
        async def start(self, client: ExtensionClient, ctx: StartContext) -> Any:
            seen.append(ctx.environment["AWS_LAMBDA_LOG_STREAM_NAME"])
            return await super().start(client, ctx)

    async with Environment(Noting(), [NotingExtension(ext, "x", "internal")]) as env:
        assert (await env.invoke({})).ok
    assert len(seen) == 2 and seen[0] == seen[1]
    assert seen[0].endswith(f"]{env.id[:32]}")
