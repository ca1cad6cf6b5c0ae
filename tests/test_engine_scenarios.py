"""Engine scenarios in virtual time: every documented path of the lifecycle, end to end."""

from __future__ import annotations

import dataclasses
from typing import Any

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.errors import APIError, EnvironmentBusy, EnvironmentClosed
from lambda_lifecycle.engine.clients import ExtensionClient, RuntimeClient, RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess import InProcessExtension
from lambda_lifecycle.engine.observe import LifecycleEvent, Subscription

from .support import EchoRuntime, RecordingExtension

pytestmark = pytest.mark.looptime


def drain(sub: Subscription) -> list[LifecycleEvent]:
    sub.close()
    out = []
    while True:
        try:
            out.append(sub._receive.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream):
            return out


def path(events: list[LifecycleEvent]) -> list[str]:
    return [e.data["transition"] for e in events if e.type == "transition"]


def of_type(events: list[LifecycleEvent], kind: str) -> list[dict[str, Any]]:
    return [e.data for e in events if e.type == kind]


async def test_cold_start_then_warm_invokes_reuse_the_runtime() -> None:
    rt = EchoRuntime()
    async with Environment(rt.participant(), config=FunctionConfig(timeout=3)) as env:
        sub = env.subscribe()
        first = await env.invoke({"n": 1})
        assert env.state == "Frozen"
        second = await env.invoke({"n": 2})
        first_report, second_report = await first.report(), await second.report()
    assert first.json() == {"count": 1, "echo": {"n": 1}}
    assert second.json() == {"count": 2, "echo": {"n": 2}}  # the module global survived
    assert rt.inits == 1
    assert first_report.init_duration_ms is not None
    assert second_report.init_duration_ms is None
    assert path(drain(sub)) == [
        "init",
        "init-complete-invoke",
        "invoke-complete",
        "thaw-invoke",
        "invoke-complete",
        "spindown",
    ]


async def test_init_timeout_at_ten_seconds_is_retried_at_the_first_invoke() -> None:
    async def slow_first_init(generation: int, _: RuntimeClient) -> None:
        if generation == 1:
            await anyio.sleep(11)  # over the 10 s on-demand limit
        else:
            await anyio.sleep(2)

    rt = EchoRuntime(init_hook=slow_first_init)
    async with Environment(rt.participant(), config=FunctionConfig(timeout=5)) as env:
        sub = env.subscribe()
        t0 = anyio.current_time()
        result = await env.invoke({})
        elapsed = anyio.current_time() - t0
        report = await result.report()
    assert result.ok, result.body
    assert rt.inits == 2
    assert elapsed == pytest.approx(12, abs=0.01)  # 10 s lost, then a 2 s suppressed init
    events = drain(sub)
    ends = of_type(events, "init_end")
    assert [(e["phase"], e["status"]) for e in ends] == [("init", "timeout"), ("invoke", "success")]
    assert ends[0]["duration_ms"] == pytest.approx(10_000, abs=1)
    assert report.suppressed_init
    assert report.init_duration_ms is None
    assert report.duration_ms == pytest.approx(2_000, abs=1)  # REPORT Duration includes the init
    assert path(events)[:5] == [
        "init",
        "init-timeout",
        "reset-complete",
        "suppressed-init",
        "init-complete-invoke",
    ]


async def test_retried_init_is_bounded_by_the_function_timeout() -> None:
    async def always_slow(_: int, __: RuntimeClient) -> None:
        await anyio.sleep(30)

    rt = EchoRuntime(init_hook=always_slow)
    async with Environment(rt.participant(), config=FunctionConfig(timeout=4)) as env:
        t0 = anyio.current_time()
        result = await env.invoke({})
        assert anyio.current_time() - t0 == pytest.approx(14, abs=0.01)
    assert result.error_type == "Sandbox.Timedout"
    assert result.error is not None
    assert result.error["errorMessage"] == (
        f"RequestId: {result.request_id} Error: Task timed out after 4.00 seconds"
    )


async def test_init_error_is_served_to_the_first_invoke() -> None:
    async def import_error(_: int, client: RuntimeClient) -> None:
        client.init_error(
            {
                "errorMessage": "Unable to import module 'app'",
                "errorType": "Runtime.ImportModuleError",
            }
        )
        await anyio.sleep_forever()

    rt = EchoRuntime(init_hook=import_error)
    async with Environment(rt.participant()) as env:
        sub = env.subscribe()
        result = await env.invoke({})
        assert env.state in ("Reset", "Uninitialized")
        again = await env.invoke({})
    assert result.function_error == "Unhandled"
    assert result.json() == {
        "errorMessage": "Unable to import module 'app'",
        "errorType": "Runtime.ImportModuleError",
    }
    assert again.error_type == "Runtime.ImportModuleError"
    ends = of_type(drain(sub), "init_end")
    assert [(e["phase"], e["status"], e["error_type"]) for e in ends] == [
        ("init", "error", "Runtime.ImportModuleError"),
        ("invoke", "error", "Runtime.ImportModuleError"),
        ("invoke", "error", "Runtime.ImportModuleError"),
    ]


async def test_invoke_timeout_resets_sends_shutdown_timeout_and_reinitializes() -> None:
    async def sleepy(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        if event.json().get("sleep"):
            await anyio.sleep(2)
        return b'{"count": %d}' % rt.counter

    rt = EchoRuntime(handler=sleepy)
    ext = RecordingExtension()
    config = FunctionConfig(timeout=1)
    async with Environment(rt.participant(), [ext.participant()], config) as env:
        sub = env.subscribe()
        await env.invoke({})
        t0 = anyio.current_time()
        timed = await env.invoke({"sleep": True})
        assert anyio.current_time() - t0 == pytest.approx(1, abs=0.001)
        after = await env.invoke({})
        report = await after.report()
    assert timed.function_error == "Unhandled"
    assert timed.json() == {
        "errorMessage": f"RequestId: {timed.request_id} Error: Task timed out after 1.00 seconds",
        "errorType": "Sandbox.Timedout",
    }
    assert after.json() == {"count": 1}  # a fresh runtime: the global starts again
    assert report.suppressed_init
    shutdowns = [e for e in ext.received if e["eventType"] == "SHUTDOWN"]
    assert shutdowns[0]["shutdownReason"] == "timeout"
    assert shutdowns[-1]["shutdownReason"] == "spindown"
    assert ext.starts == 2 and rt.inits == 2
    events = drain(sub)
    assert "invoke-timeout" in path(events)
    assert path(events).count("suppressed-init") == 1


async def test_shutdown_event_carries_the_deadline_of_the_budget() -> None:
    ext = RecordingExtension()
    async with Environment(EchoRuntime().participant(), [ext.participant()]) as env:
        await env.invoke({})
        start_wall = env.clock.wall(env.clock.now())
    shutdown = ext.received[-1]
    assert shutdown["eventType"] == "SHUTDOWN"
    assert shutdown["deadlineMs"] == pytest.approx(start_wall * 1000 + 2000, abs=2)


@pytest.mark.parametrize(
    ("ending", "message"),
    [
        (SystemExit(0), "Runtime exited without providing a reason"),
        (SystemExit(3), "Runtime exited with error: exit status 3"),
        (RuntimeError("boom"), "Runtime exited with error: exit status 1"),
    ],
)
async def test_runtime_crash_mid_invoke_is_a_runtime_exit_error(
    ending: BaseException, message: str
) -> None:
    async def crash(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        if rt.inits == 1:
            raise ending
        return b"{}"

    rt = EchoRuntime(handler=crash)
    async with Environment(rt.participant()) as env:
        result = await env.invoke({})
        assert result.json() == {
            "errorMessage": f"RequestId: {result.request_id} Error: {message}",
            "errorType": "Runtime.ExitError",
        }
        assert (await env.invoke({})).ok
    assert rt.inits == 2


async def test_killed_runtime_reports_the_signal() -> None:
    procs: list[Any] = []

    async def killed(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        env_procs = procs[0]
        env_procs[0].process.kill()
        await anyio.sleep_forever()
        return b""

    rt = EchoRuntime(handler=killed)
    async with Environment(rt.participant()) as env:
        procs.append(env.procs.entries)
        result = await env.invoke({})
    assert result.error is not None
    assert result.error["errorMessage"].endswith("Runtime exited with error: signal: killed")


async def test_extension_crash_during_invoke_resets_the_environment() -> None:
    ext = RecordingExtension(crash_on_invoke=True)
    rt = EchoRuntime()
    async with Environment(rt.participant(), [ext.participant()]) as env:
        sub = env.subscribe()
        first = await env.invoke({})
        await first.report()
    # the runtime answered before the crash: the caller keeps its answer
    assert first.ok
    assert "invoke-extension-crash" in path(drain(sub))


async def test_extension_crash_before_the_answer_is_served_as_extension_crash() -> None:
    async def slow(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(0.5)
        return b"{}"

    ext = RecordingExtension(crash_on_invoke=True)
    async with Environment(EchoRuntime(handler=slow).participant(), [ext.participant()]) as env:
        result = await env.invoke({})
    assert result.error_type == "Extension.Crash"
    assert result.function_error == "Unhandled"


async def test_extension_crash_during_init_is_retried_then_served() -> None:
    async def crash_at_init(client: Any) -> None:
        client.register(["INVOKE"])
        raise RuntimeError("cannot start")

    async with Environment(
        EchoRuntime().participant(), [InProcessExtension(crash_at_init, "broken")]
    ) as env:
        sub = env.subscribe()
        result = await env.invoke({})
    assert result.error_type == "Extension.Crash"
    assert path(drain(sub))[:5] == [
        "init",
        "init-extension-crash",
        "reset-complete",
        "suppressed-init",
        "init-extension-crash",
    ]


async def test_caller_is_not_kept_waiting_while_extensions_work() -> None:
    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(0.1)
        return b"{}"

    ext = RecordingExtension(work=0.5)
    async with Environment(EchoRuntime(handler=handler).participant(), [ext.participant()]) as env:
        await (await env.invoke({})).report()  # cold start, and its extension work, done
        t0 = anyio.current_time()
        result = await env.invoke({})
        assert anyio.current_time() - t0 == pytest.approx(0.1, abs=0.001)
        assert env.state == "Invoke"  # extensions are still working inside the phase
        report = await result.report()
        assert env.state == "Frozen"
        assert anyio.current_time() - t0 == pytest.approx(0.5, abs=0.001)
        # a following invoke waits for the freeze instead of failing
        third = await env.invoke({})
        assert third.ok
    assert report.response_latency_ms == pytest.approx(100, abs=1)
    assert report.extension_overhead_ms == pytest.approx(400, abs=1)
    assert report.duration_ms == pytest.approx(500, abs=1)


async def test_extension_outliving_the_timeout_resets_with_timeout() -> None:
    ext = RecordingExtension(work=1.5)
    config = FunctionConfig(timeout=1)
    async with Environment(EchoRuntime().participant(), [ext.participant()], config) as env:
        sub = env.subscribe()
        result = await env.invoke({})
        assert result.ok  # the runtime answered in time
        report = await result.report()
        assert env.state in ("Reset", "Uninitialized")
    assert report.duration_ms == pytest.approx(1000, abs=1)
    # SHUTDOWN waited for the extension's next call, 0.5 s later, inside the 2 s budget
    assert ext.received[-1]["eventType"] == "SHUTDOWN"
    assert ext.received[-1]["shutdownReason"] == "timeout"
    events = drain(sub)
    assert "invoke-timeout" in path(events)
    assert of_type(events, "shutdown_start")[0]["reason"] == "timeout"


async def test_shutdown_budget_kills_an_extension_that_ignores_shutdown() -> None:
    ext = RecordingExtension(on_shutdown="ignore")
    env = Environment(EchoRuntime().participant(), [ext.participant()])
    async with env:
        await env.invoke({})
        sub = env.subscribe()
        t0 = anyio.current_time()
        await env.shutdown()
        assert anyio.current_time() - t0 == pytest.approx(2.0, abs=0.001)
    exits = {e["name"]: e for e in of_type(drain(sub), "process_exit")}
    assert exits["recorder"]["signal"] == "killed"
    assert exits["bootstrap"]["signal"] == "terminated"  # SIGTERM's default action


async def test_runtime_ignoring_sigterm_is_killed_after_its_300ms_share() -> None:
    rt = EchoRuntime(ignore_sigterm=True)
    ext = RecordingExtension()
    async with Environment(rt.participant(), [ext.participant()]) as env:
        await env.invoke({})
        sub = env.subscribe()
        t0 = anyio.current_time()
        await env.shutdown()
        times = {e.data["name"]: e.time - t0 for e in drain(sub) if e.type == "process_exit"}
    assert rt.sigterms == 1
    assert times["bootstrap"] == pytest.approx(0.3, abs=0.001)
    assert times["recorder"] == pytest.approx(0.3, abs=0.001)  # it exits on SHUTDOWN at once


async def test_runtime_with_an_internal_extension_gets_500ms() -> None:
    rt = EchoRuntime(ignore_sigterm=True)
    internal = RecordingExtension(name="internal", events=("INVOKE",), kind="internal")
    async with Environment(rt.participant(), [internal.participant()]) as env:
        await env.invoke({})
        t0 = anyio.current_time()
        await env.shutdown()
        assert anyio.current_time() - t0 == pytest.approx(0.5, abs=0.001)
    assert rt.sigterms == 1
    assert "SHUTDOWN" not in internal.types()


async def test_runtime_without_extensions_is_killed_at_once_without_sigterm() -> None:
    rt = EchoRuntime(ignore_sigterm=True)
    async with Environment(rt.participant()) as env:
        await env.invoke({})
        t0 = anyio.current_time()
        await env.shutdown()
        assert anyio.current_time() - t0 == pytest.approx(0, abs=0.001)
    assert rt.sigterms == 0


async def test_tmp_survives_reset_and_is_removed_at_shutdown() -> None:
    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        if event.json().get("write"):
            (tmp / "kept.txt").write_text("42")
            raise SystemExit(1)
        return b'{"kept": %s}' % (b"true" if (tmp / "kept.txt").exists() else b"false")

    rt = EchoRuntime(handler=handler)
    async with Environment(rt.participant()) as env:
        assert env.tmp_dir is not None
        tmp = env.tmp_dir
        crashed = await env.invoke({"write": True})
        assert crashed.error_type == "Runtime.ExitError"
        assert (await env.invoke({})).json() == {"kept": True}
    assert not tmp.exists()


async def test_one_invocation_at_a_time_and_nothing_after_shutdown() -> None:
    async def slow(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(1)
        return b"{}"

    async with Environment(EchoRuntime(handler=slow).participant()) as env:
        async with anyio.create_task_group() as tg:
            tg.start_soon(env.invoke, {})
            await anyio.sleep(0.5)
            with pytest.raises(EnvironmentBusy, match="one invocation at a time"):
                await env.invoke({})
        await env.shutdown()
        assert env.state == "Shutdown"
        with pytest.raises(EnvironmentClosed, match="shut down"):
            await env.invoke({})


async def test_invoke_before_entering_is_a_clear_error() -> None:
    env = Environment(EchoRuntime().participant())
    with pytest.raises(EnvironmentClosed, match="must be entered"):
        await env.invoke({})


async def test_idle_timeout_spins_the_environment_down() -> None:
    ext = RecordingExtension()
    config = FunctionConfig(idle_timeout=60)
    async with Environment(EchoRuntime().participant(), [ext.participant()], config) as env:
        await env.invoke({})
        await anyio.sleep(59)
        assert env.state == "Frozen"
        await env.invoke({})
        await anyio.sleep(61)
        assert env.state == "Shutdown"
    assert ext.received[-1]["shutdownReason"] == "spindown"


async def test_maximum_lifetime_shuts_down_after_the_running_invoke() -> None:
    async def slow(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(10)
        return b"{}"

    config = FunctionConfig(max_lifetime=3600, timeout=60)
    async with Environment(EchoRuntime(handler=slow).participant(), config=config) as env:
        await anyio.sleep(3595)
        result = await env.invoke({})
        assert result.ok
        await anyio.sleep(0.01)
        assert env.state == "Shutdown"


async def test_provisioned_concurrency_inits_ahead_with_the_130s_limit() -> None:
    async def slow_init(_: int, __: RuntimeClient) -> None:
        await anyio.sleep(100)

    rt = EchoRuntime(init_hook=slow_init)
    config = FunctionConfig(initialization_type="provisioned-concurrency", timeout=3)
    async with Environment(rt.participant(), config=config) as env:
        await env.init()
        assert env.state == "Frozen"
        t0 = anyio.current_time()
        result = await env.invoke({})
        assert anyio.current_time() - t0 == pytest.approx(0, abs=0.001)
        report = await result.report()
    assert rt.inits == 1
    assert report.init_duration_ms is None


async def test_provisioned_init_limit_is_the_function_timeout_when_larger() -> None:
    async def slow_init(generation: int, _: RuntimeClient) -> None:
        await anyio.sleep(200 if generation == 1 else 0)

    rt = EchoRuntime(init_hook=slow_init)
    config = FunctionConfig(initialization_type="provisioned-concurrency", timeout=300)
    async with Environment(rt.participant(), config=config) as env:
        await env.init()
        assert env.state == "Frozen"
    assert rt.inits == 1


async def test_snapstart_publishes_then_restores_with_hooks() -> None:
    calls: list[str] = []

    async def snapshot_hooks(_: int, client: RuntimeClient) -> None:
        calls.append("before-snapshot")
        await client.restore_next()
        calls.append("after-restore")
        await anyio.sleep(0.25)

    rt = EchoRuntime(init_hook=snapshot_hooks)
    config = FunctionConfig(initialization_type="snap-start", function_version="1")
    async with Environment(rt.participant(), config=config) as env:
        sub = env.subscribe()
        await env.init()
        assert env.state == "Frozen" and calls == ["before-snapshot"]
        result = await env.invoke({})
        report = await result.report()
    assert result.ok and calls == ["before-snapshot", "after-restore"]
    assert report.restore_duration_ms == pytest.approx(250, abs=1)
    assert report.init_duration_ms is None
    assert path(drain(sub))[:4] == [
        "init",
        "init-complete-freeze",
        "restore",
        "restore-complete-invoke",
    ]


async def test_snapstart_restore_timeout() -> None:
    async def hang_after_restore(_: int, client: RuntimeClient) -> None:
        await client.restore_next()
        await anyio.sleep(60)

    config = FunctionConfig(initialization_type="snap-start", function_version="7", timeout=30)
    async with Environment(
        EchoRuntime(init_hook=hang_after_restore).participant(), config=config
    ) as env:
        sub = env.subscribe()
        t0 = anyio.current_time()
        result = await env.invoke({})
        assert anyio.current_time() - t0 == pytest.approx(10, abs=0.01)
    assert result.error_type == "SnapStartTimeoutException"
    assert "restore-timeout" in path(drain(sub))


async def test_snapstart_restore_error() -> None:
    async def failing_hook(_: int, client: RuntimeClient) -> None:
        await client.restore_next()
        client.restore_error({"errorType": "HookError", "errorMessage": "after_restore failed"})
        await anyio.sleep_forever()

    config = FunctionConfig(initialization_type="snap-start", function_version="2")
    async with Environment(EchoRuntime(init_hook=failing_hook).participant(), config=config) as env:
        result = await env.invoke({})
    assert result.error_type == "HookError"


async def test_runtime_api_refusals_match_aws() -> None:
    outcomes: dict[str, Any] = {}

    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> None:
        client = rt_client[0]
        with pytest.raises(APIError) as wrong:
            client.respond("not-the-id", b"{}")
        outcomes["wrong"] = (wrong.value.status, wrong.value.error_type)
        with pytest.raises(APIError) as early:
            await client.next()
        outcomes["early"] = (early.value.status, early.value.error_type)
        with pytest.raises(APIError) as big:
            client.respond(event.request_id, b"x" * 6_291_557)
        outcomes["big"] = (big.value.status, big.value.error_type)
        with pytest.raises(APIError) as twice:
            client.respond(event.request_id, b"{}")
        outcomes["twice"] = (twice.value.status, twice.value.error_type)
        with pytest.raises(APIError) as late_init:
            client.init_error({"errorType": "X"})
        outcomes["late_init"] = late_init.value.status
        return

    rt_client: list[RuntimeClient] = []

    async def grab(_: int, client: RuntimeClient) -> None:
        rt_client.append(client)

    rt = EchoRuntime(handler=handler, init_hook=grab)
    async with Environment(rt.participant()) as env:
        result = await env.invoke({})
        assert env.state == "Frozen"
    assert outcomes == {
        "wrong": (400, "InvalidRequestID"),
        "early": (403, "InvalidStateTransition"),
        "big": (413, "Function.ResponseSizeTooLarge"),
        "twice": (403, "InvalidStateTransition"),
        "late_init": 403,
    }
    assert result.json() == {
        "errorMessage": "Response payload size exceeded maximum allowed payload size "
        "(6291556 bytes).",
        "errorType": "Function.ResponseSizeTooLarge",
    }


async def test_a_response_of_exactly_the_limit_is_accepted() -> None:
    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        return b"x" * 6_291_556

    async with Environment(EchoRuntime(handler=handler).participant()) as env:
        result = await env.invoke({})
    assert result.ok and len(result.body) == 6_291_556


async def test_runtime_content_type_and_function_error_pass_through() -> None:
    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> None:
        client = clients[0]
        if event.json().get("fail"):
            client.error(
                event.request_id,
                {"errorMessage": "nope", "errorType": "ValueError", "stackTrace": ["line 1"]},
            )
        else:
            client.respond(event.request_id, b"hello", "text/plain")

    clients: list[RuntimeClient] = []

    async def grab(_: int, client: RuntimeClient) -> None:
        clients.append(client)

    async with Environment(EchoRuntime(handler=handler, init_hook=grab).participant()) as env:
        plain = await env.invoke({})
        failed = await env.invoke({"fail": True})
        assert env.state == "Frozen"  # a handled error does not reset the environment
    assert (plain.body, plain.content_type, plain.function_error) == (b"hello", "text/plain", None)
    assert failed.function_error == "Unhandled"
    assert failed.json()["stackTrace"] == ["line 1"]


async def test_invoke_event_always_carries_tracing_and_the_deadline() -> None:
    ext = RecordingExtension()
    async with Environment(
        EchoRuntime().participant(),
        [ext.participant()],
        FunctionConfig(timeout=7, function_name="orders"),
    ) as env:
        result = await env.invoke({}, trace_id="Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1")
        await env.invoke({})
        now_ms = env.clock.wall_ms(env.clock.now())
    first, second = ext.received[0], ext.received[1]
    assert first == {
        "eventType": "INVOKE",
        "deadlineMs": first["deadlineMs"],
        "requestId": result.request_id,
        "invokedFunctionArn": "arn:aws:lambda:us-east-1:000000000000:function:orders",
        "tracing": {
            "type": "X-Amzn-Trace-Id",
            "value": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1",
        },
    }
    assert abs(first["deadlineMs"] - (now_ms + 7000)) < 5
    assert second["tracing"]["value"].startswith("Root=1-")


async def test_registration_rules() -> None:
    outcomes: list[tuple[str, str]] = []

    async def internal_wants_shutdown(client: Any) -> None:
        try:
            client.register(["INVOKE", "SHUTDOWN"])
        except APIError as err:
            outcomes.append(("internal", err.error_type))
        client.register(["INVOKE"])
        try:
            client.register(["INVOKE"])
        except APIError as err:
            outcomes.append(("twice", err.error_type))
        while True:
            await client.next()

    async def bad_event(client: Any) -> None:
        try:
            client.register(["BOGUS"])
        except APIError as err:
            outcomes.append(("bogus", err.error_type))
        client.register([])
        await client.next()

    exts = [
        InProcessExtension(internal_wants_shutdown, "int", "internal"),
        InProcessExtension(bad_event, "ext"),
    ]
    async with Environment(EchoRuntime().participant(), exts) as env:
        await env.invoke({})
        late = env.ext_clients[next(iter(env.ext_clients))]
        newcomer = ExtensionClient(env, env.generation, "late", "external")
        with pytest.raises(APIError) as closed:
            newcomer.register(["INVOKE"])
        assert late.name in ("int", "ext")
    assert sorted(outcomes) == [
        ("bogus", "Extension.InvalidEventType"),
        ("internal", "Extension.InvalidEventType"),
        ("twice", "Extension.InvalidExtensionState"),
    ]
    assert closed.value.error_type == "Extension.RegistrationClosed"


async def test_front_end_accessors_route_to_the_current_generation() -> None:
    ext = RecordingExtension(name="watcher")
    async with Environment(EchoRuntime().participant(), [ext.participant()]) as env:
        assert env.runtime_client is None  # nothing before Init
        await env.invoke({})
        first = env.runtime_client
        attached = env.extension_client("watcher")
        assert first is not None
        assert attached.kind == "external"
        assert attached.id is not None
        assert env.extension_client_by_id(attached.id) is attached
        stranger = env.extension_client("in-runtime-agent")
        assert stranger.kind == "internal"
        with pytest.raises(APIError, match="RegistrationClosed"):
            stranger.register(["INVOKE"])
        assert env.extension_client_by_id("no-such-id") is None


async def test_an_exception_in_the_block_kills_everything_and_propagates_unwrapped() -> None:
    ext = RecordingExtension(on_shutdown="ignore")
    env = Environment(EchoRuntime().participant(), [ext.participant()])

    async def failing_block() -> None:
        async with env:
            await env.invoke({})
            raise KeyError("boom")

    with pytest.raises(KeyError, match="boom"):
        await failing_block()
    assert env.tmp_dir is not None
    assert not env.tmp_dir.exists()
    assert ext.types() == ["INVOKE"]  # killed at once: no SHUTDOWN, no budget waited


async def test_cancelled_caller_does_not_cancel_the_invocation() -> None:
    async def slow(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        await anyio.sleep(1)
        return b'{"done": true}'

    rt = EchoRuntime(handler=slow)
    async with Environment(rt.participant()) as env:
        await env.invoke({})
        with anyio.move_on_after(0.5):
            await env.invoke({"second": True})
        assert env.state == "Invoke"  # Lambda does not stop a function when the caller leaves
        await anyio.sleep(0.6)
        assert env.state == "Frozen"
        assert rt.counter == 2
        assert (await env.invoke({})).json() == {"done": True}


async def test_the_invocation_under_way_and_the_events_about_it() -> None:
    seen: list[str | None] = []
    env: Environment

    async def handler(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        current = env.invocation
        seen.append(None if current is None else current.request_id)
        await anyio.sleep(0.5)
        return b'{"ok": true}'

    env = Environment(EchoRuntime(handler).participant(), config=FunctionConfig(timeout=3))
    async with env:
        sub = env.subscribe()
        assert env.invocation is None
        result = await env.invoke({}, request_id="r1", trace_id="Root=1-abc;Sampled=0")
        report = await result.report()
        assert env.invocation is None  # the phase ended
    assert seen == ["r1"]
    events = {e.type: e for e in drain(sub) if e.invocation is not None}
    assert set(events) == {"invoke_start", "runtime_done", "invoke_end"}
    invocation = events["invoke_start"].invocation
    assert invocation is not None
    assert invocation.request_id == result.request_id
    assert all(e.invocation is invocation for e in events.values())
    assert events["invoke_start"].data == {
        "request_id": "r1",
        "version": "$LATEST",
        "trace_id": "Root=1-abc;Sampled=0",
    }
    assert events["runtime_done"].data == {
        "request_id": "r1",
        "status": "success",
        "error_type": None,
        "error_message": None,
        "duration_ms": pytest.approx(500.0),
        "produced_bytes": len(b'{"ok": true}'),
    }
    assert events["invoke_end"].data == dataclasses.asdict(report)
    assert report.request_id == "r1"
