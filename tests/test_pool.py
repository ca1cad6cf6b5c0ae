"""The pool of a function's environments, in virtual time: scaling, throttling, reaping."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.errors import (
    ConfigurationError,
    EnvironmentClosed,
    LifecycleError,
    TooManyRequestsException,
)
from lambda_lifecycle.engine.clients import RuntimeClient, RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.invocation import InvokeResult
from lambda_lifecycle.engine.observe import LifecycleEvent
from lambda_lifecycle.engine.pool import Function, PoolEvent

from .support import EchoRuntime, RecordingExtension
from .test_engine_chaos import check_walk

pytestmark = pytest.mark.looptime


async def sleep_a_second(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
    await anyio.sleep(1)
    return b'{"slept": 1}'


class Fleet:
    """A factory of environments that keeps each one's runtime, extension and events."""

    def __init__(self, **runtime: Any) -> None:
        self.runtime = runtime
        self.runtimes: list[EchoRuntime] = []
        self.extensions: list[RecordingExtension] = []
        self.events: dict[str, list[LifecycleEvent]] = {}
        self.configs: list[FunctionConfig] = []

    def __call__(self, config: FunctionConfig) -> Environment:
        rt = EchoRuntime(**self.runtime)
        ext = RecordingExtension()
        env = Environment(rt.participant(), [ext.participant()], config)
        self.runtimes.append(rt)
        self.extensions.append(ext)
        self.configs.append(config)
        events = self.events[env.id] = []
        env.listen(events.append)
        return env


async def at_once(fn: Function, n: int, payload: Any = None) -> list[InvokeResult]:
    """``n`` concurrent invokes; their results in the order they were answered."""
    results: list[InvokeResult] = []

    async def one() -> None:
        results.append(await fn.invoke({} if payload is None else payload))

    async with anyio.create_task_group() as tg:
        for _ in range(n):
            tg.start_soon(one)
    return results


async def until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition``: a Shutdown removes ``/tmp`` in a worker thread, which takes real
    time. Each turn blocks the loop for 2 ms of real time (the thread runs) and then lets 10 ms
    of virtual time pass, so the virtual clock does not race ahead to later deadlines."""
    for _ in range(1000):
        if condition():
            return
        time.sleep(0.002)  # noqa: ASYNC251 (on purpose: real time for the worker thread)
        await anyio.sleep(0.01)
    raise AssertionError("the condition never held")


def no_tasks_left() -> None:
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == [], f"tasks left behind: {leftovers}"


def walks(fleet: Fleet) -> None:
    for events in fleet.events.values():
        check_walk(events)


async def test_concurrent_invokes_scale_out_then_reuse_the_most_recent() -> None:
    fleet = Fleet(handler=sleep_a_second)
    async with Function(fleet, FunctionConfig(timeout=5), reserved_concurrency=4) as fn:
        t0 = anyio.current_time()
        answered = await at_once(fn, 4)
        elapsed = anyio.current_time() - t0
        assert all(r.ok for r in answered)
        assert len(fn.environments) == 4
        assert fn.started == 4
        reports = [await r.report() for r in answered]
        assert all(rep.init_duration_ms is not None for rep in reports)  # 4 cold starts
        # Then reuse: sequential invokes stay in one (warm) environment.
        await anyio.sleep(1)
        for _ in range(3):
            warm = await fn.invoke({})
            assert (await warm.report()).init_duration_ms is None
        assert fn.started == 4
    assert elapsed == pytest.approx(1, abs=0.01)  # they ran at once, not one after another
    assert [rt.inits for rt in fleet.runtimes] == [1, 1, 1, 1]
    served = sorted(len(rt.seen) for rt in fleet.runtimes)
    assert served == [1, 1, 1, 4]  # the three warm ones went to the same environment
    assert all(ext.types()[-1] == "SHUTDOWN" for ext in fleet.extensions)
    walks(fleet)
    no_tasks_left()


async def sleep_as_asked(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
    await anyio.sleep(event.json().get("sleep", 0))
    return b"{}"


async def test_most_recently_used_environment_takes_the_next_invoke() -> None:
    fleet = Fleet(handler=sleep_as_asked)
    async with Function(fleet, FunctionConfig(timeout=5)) as fn:
        async with anyio.create_task_group() as tg:
            tg.start_soon(fn.invoke, {"sleep": 2})
            await anyio.sleep(0.1)
            tg.start_soon(fn.invoke, {"sleep": 1})
        # The first environment was released last: it is the warmest.
        for _ in range(3):
            await fn.invoke({})
    assert [len(rt.seen) for rt in fleet.runtimes] == [4, 1]
    walks(fleet)


async def test_over_the_reserved_concurrency_invokes_are_throttled_before_any_phase() -> None:
    fleet = Fleet(handler=sleep_a_second)
    seen: list[PoolEvent] = []
    async with Function(fleet, FunctionConfig(timeout=5), reserved_concurrency=2) as fn:
        fn.listen(seen.append)
        outcomes: list[str] = []
        refusals: list[TooManyRequestsException] = []

        async def call() -> None:
            try:
                result = await fn.invoke({})
                outcomes.append("ok" if result.ok else "error")
            except TooManyRequestsException as exc:
                refusals.append(exc)
                outcomes.append("throttled")

        async with anyio.create_task_group() as tg:
            for _ in range(5):
                tg.start_soon(call)
        assert sorted(outcomes) == ["ok", "ok", "throttled", "throttled", "throttled"]
        assert fn.throttled == 3
        exc = refusals[0]
        assert exc.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert exc.message == "Rate Exceeded."
        assert exc.status == 429
        assert exc.body()["errorType"] == "TooManyRequestsException"
        assert exc.body()["Reason"] == exc.reason
        assert len(fleet.runtimes) == 2  # no environment was made for a throttled call
        assert (await fn.invoke({})).ok  # a free one again
    assert isinstance(TooManyRequestsException(), LifecycleError)
    assert [e.type for e in seen].count("throttled") == 3
    assert sum(len(rt.seen) for rt in fleet.runtimes) == 3
    walks(fleet)


async def test_provisioned_environments_init_ahead_and_are_used_first() -> None:
    fleet = Fleet(handler=sleep_a_second)
    config = FunctionConfig(timeout=5)
    async with Function(fleet, config, reserved_concurrency=5, provisioned_concurrency=2) as fn:
        assert [rt.inits for rt in fleet.runtimes] == [1, 1]
        assert [c.initialization_type for c in fleet.configs] == ["provisioned-concurrency"] * 2
        assert all(env.state == "Frozen" for env in fn.environments)
        reports = [await r.report() for r in await at_once(fn, 3)]
        # Two went to the provisioned environments (no init), the third spilled over on-demand.
        assert sorted(rep.init_duration_ms is None for rep in reports) == [False, True, True]
        assert [c.initialization_type for c in fleet.configs] == [
            "provisioned-concurrency",
            "provisioned-concurrency",
            "on-demand",
        ]
        await anyio.sleep(2)
        one = await fn.invoke({})
        await one.report()
    assert len(fleet.runtimes[0].seen) + len(fleet.runtimes[1].seen) == 3
    assert len(fleet.runtimes[2].seen) == 1  # the later invoke preferred a provisioned one
    walks(fleet)
    no_tasks_left()


async def test_idle_on_demand_environments_are_reaped_and_provisioned_ones_kept() -> None:
    fleet = Fleet()
    seen: list[PoolEvent] = []
    fn = Function(fleet, provisioned_concurrency=1, idle_timeout=60, reserved_concurrency=3)
    async with fn:
        fn.listen(seen.append)
        await at_once(fn, 2)
        assert len(fn.environments) == 2
        await anyio.sleep(59)
        assert len(fn.environments) == 2
        await anyio.sleep(2)
        await until(lambda: len(fn.environments) == 1)  # the on-demand one spun down
        assert fleet.extensions[1].received[-1]["shutdownReason"] == "spindown"
        await anyio.sleep(3600)
        assert len(fn.environments) == 1  # the provisioned one is never idle-reaped
        assert fleet.runtimes[0].inits == 1
    gone = [e for e in seen if e.type == "environment_gone"]
    assert [e.provisioned for e in gone] == [False, True]
    walks(fleet)
    no_tasks_left()


async def test_maximum_lifetime_replaces_environments() -> None:
    fleet = Fleet()
    fn = Function(fleet, provisioned_concurrency=1, max_lifetime=3600, idle_timeout=None)
    async with fn:
        first = fn.environments[0]
        await anyio.sleep(3599)
        assert (await fn.invoke({})).ok
        await anyio.sleep(2)
        assert first.state == "Shutdown"
        await until(lambda: first not in fn.environments)
        await until(lambda: len(fn.environments) == 1 and fn.environments[0].state == "Frozen")
        # A new provisioned environment took its place, initialized ahead again.
        (second,) = fn.environments
        assert second is not first
        assert second.state == "Frozen"
        assert [c.initialization_type for c in fleet.configs] == ["provisioned-concurrency"] * 2
        result = await fn.invoke({})
        assert (await result.report()).init_duration_ms is None
    assert fleet.extensions[0].received[-1]["shutdownReason"] == "spindown"
    walks(fleet)
    no_tasks_left()


async def test_a_reset_in_one_environment_leaves_the_others_serving() -> None:
    async def crash_on_request(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
        if event.json().get("crash"):
            raise SystemExit(3)
        await anyio.sleep(1)
        return b"{}"

    fleet = Fleet(handler=crash_on_request)
    outcomes: dict[str, Any] = {}
    async with Function(fleet, FunctionConfig(timeout=5)) as fn:

        async def call(name: str, payload: dict[str, Any]) -> None:
            outcomes[name] = await fn.invoke(payload)

        async with anyio.create_task_group() as tg:
            tg.start_soon(call, "crash", {"crash": True})
            tg.start_soon(call, "a", {})
            tg.start_soon(call, "b", {})
        assert outcomes["crash"].error_type == "Runtime.ExitError"
        assert outcomes["a"].ok
        assert outcomes["b"].ok
        await anyio.sleep(1)
        assert sorted(env.state for env in fn.environments) == ["Frozen", "Frozen", "Uninitialized"]
        # Every environment serves on; the reset one through a suppressed init.
        async with anyio.create_task_group() as tg:
            for name in ("x", "y", "z"):
                tg.start_soon(call, name, {})
        assert all(outcomes[n].ok for n in ("x", "y", "z"))
        assert fn.started == 3
    assert sorted(rt.inits for rt in fleet.runtimes) == [1, 1, 2]
    walks(fleet)
    no_tasks_left()


async def test_failing_init_does_not_start_environments_faster_than_invokes_arrive() -> None:
    async def broken(_: int, client: RuntimeClient) -> None:
        raise RuntimeError("import error")

    fleet = Fleet(init_hook=broken)
    async with Function(fleet, FunctionConfig(timeout=3)) as fn:
        for _ in range(5):
            result = await fn.invoke({})
            assert result.error_type == "Runtime.ExitError"
            await anyio.sleep(1)
        await anyio.sleep(600)  # nothing starts while no invocation arrives
        assert fn.started == 1
    assert len(fleet.runtimes) == 1
    walks(fleet)
    no_tasks_left()


async def test_closing_shuts_every_environment_down_at_once() -> None:
    class Stubborn(Fleet):
        def __call__(self, config: FunctionConfig) -> Environment:
            env = super().__call__(config)
            self.extensions[-1].on_shutdown = "ignore"  # uses the whole 2 s budget
            return env

    stubborn = Stubborn()
    fn = Function(stubborn, provisioned_concurrency=3, reserved_concurrency=3)
    async with fn:
        t0 = anyio.current_time()
    elapsed = anyio.current_time() - t0
    assert elapsed == pytest.approx(2, abs=0.05)  # in parallel, not 3 x 2 s
    assert fn.environments == ()
    with pytest.raises(EnvironmentClosed):
        await fn.invoke({})
    walks(stubborn)
    no_tasks_left()


async def test_each_environment_has_its_own_log_stream_and_tmp() -> None:
    fleet = Fleet(handler=sleep_a_second)
    async with Function(fleet) as fn:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(fn.invoke, {})
        envs = fn.environments
        streams = {fn.log_stream(env) for env in envs}
        tmps = {env.tmp_dir for env in envs}
    assert len(streams) == 3
    assert len(tmps) == 3
    for stream in streams:
        assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", stream)


def test_configuration_is_checked() -> None:
    fleet = Fleet()
    with pytest.raises(ConfigurationError, match="reserved_concurrency"):
        Function(fleet, reserved_concurrency=0)
    with pytest.raises(ConfigurationError, match="provisioned_concurrency"):
        Function(fleet, reserved_concurrency=2, provisioned_concurrency=3)
    with pytest.raises(ConfigurationError, match="idle_timeout"):
        Function(fleet, idle_timeout=0)


async def test_a_failed_provisioned_init_is_retried_at_the_first_invoke_not_in_a_loop() -> None:
    async def first_fails(generation: int, client: RuntimeClient) -> None:
        if generation == 1:
            raise RuntimeError("no database")

    fleet = Fleet(init_hook=first_fails)
    async with Function(fleet, provisioned_concurrency=1, reserved_concurrency=1) as fn:
        await anyio.sleep(600)
        assert fn.started == 1  # no replacement for a failed Init
        result = await fn.invoke({})
        assert result.ok
    assert fleet.runtimes[0].inits == 2
    walks(fleet)
    no_tasks_left()


async def test_an_environment_whose_extensions_still_work_is_busy() -> None:
    class Slow(Fleet):
        def __call__(self, config: FunctionConfig) -> Environment:
            env = super().__call__(config)
            self.extensions[-1].work = 2  # 2 s on every INVOKE after the answer
            return env

    fleet = Slow()
    async with Function(fleet, reserved_concurrency=1) as fn:
        first = await fn.invoke({})
        assert first.ok
        with pytest.raises(TooManyRequestsException):
            await fn.invoke({})  # answered, but its phase is not over: not free
        await first.report()
        assert (await fn.invoke({})).ok
    assert fn.started == 1
    walks(fleet)


async def test_a_factory_that_fails_is_the_callers_error_and_frees_its_place() -> None:
    made: list[int] = []

    def flaky(config: FunctionConfig) -> Environment:
        made.append(1)
        if len(made) == 1:
            raise OSError("cannot listen")
        return Environment(EchoRuntime().participant(), config=config)

    async with Function(flaky, reserved_concurrency=1) as fn:
        with pytest.raises(OSError, match="cannot listen"):
            await fn.invoke({})
        assert fn.environments == ()
        assert (await fn.invoke({})).ok
    assert fn.started == 1
    no_tasks_left()


async def test_an_invoke_right_after_an_answer_waits_briefly_for_that_environment() -> None:
    class Quick(Fleet):
        def __call__(self, config: FunctionConfig) -> Environment:
            env = super().__call__(config)
            self.extensions[-1].work = 0.05  # the phase ends 50 ms after the answer
            return env

    fleet = Quick()
    async with Function(fleet, reserved_concurrency=5) as fn:
        for _ in range(3):
            assert (await fn.invoke({})).ok  # no pause: the environment is still finishing
        assert fn.started == 1  # reused each time, no cold start for nothing
    async with Function(Quick(), reserved_concurrency=1, reuse_grace=0) as fn:
        assert (await fn.invoke({})).ok
        with pytest.raises(TooManyRequestsException):
            await fn.invoke({})
    with pytest.raises(ConfigurationError, match="reuse_grace"):
        Function(fleet, reuse_grace=-1)


async def test_a_listener_that_raises_is_detached_and_the_invocation_served() -> None:
    seen: list[PoolEvent] = []

    def broken(event: PoolEvent) -> None:
        raise RuntimeError("listener bug")

    async with Function(Fleet()) as fn:
        fn.listen(broken)
        stop = fn.listen(seen.append)
        assert (await fn.invoke({})).ok
        assert (await fn.invoke({})).ok
        stop()
        await fn.invoke({})
    assert [e.type for e in seen] == [
        "environment_started",
        "invocation_routed",
        "invocation_routed",
    ]
    assert seen[1].cold and not seen[2].cold


async def test_snapstart_publishes_one_environment_ahead_and_others_init_then_restore() -> None:
    fleet = Fleet(handler=sleep_a_second)
    config = FunctionConfig(initialization_type="snap-start", function_version="1", timeout=5)
    async with Function(fleet, config) as fn:
        (published,) = fn.environments
        assert published.state == "Frozen"  # Init and snapshot done at the publish
        assert fleet.runtimes[0].inits == 1
        results = await at_once(fn, 2)
        assert all(r.ok for r in results)
        reports = [await r.report() for r in results]
    # Both restored; the second environment had to run its own Init first (no shared snapshot).
    assert all(rep.restore_duration_ms is not None for rep in reports)
    assert [rt.inits for rt in fleet.runtimes] == [1, 1]
    assert [c.initialization_type for c in fleet.configs] == ["snap-start", "snap-start"]
    walks(fleet)
    no_tasks_left()


def test_the_pool_runs_on_trio_too() -> None:
    trio_testing = pytest.importorskip("trio.testing")
    fleet = Fleet(handler=sleep_a_second)
    seen: list[object] = []

    async def scenario() -> None:
        async with Function(fleet, reserved_concurrency=2, idle_timeout=60) as fn:
            t0 = anyio.current_time()
            answers = await at_once(fn, 2)
            seen.append(round(anyio.current_time() - t0, 3))
            seen.append([a.ok for a in answers])
            outcomes: list[str] = []

            async def one() -> None:
                try:
                    await fn.invoke({})
                    outcomes.append("ok")
                except TooManyRequestsException:
                    outcomes.append("throttled")

            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(one)
            seen.append(sorted(outcomes))
            await anyio.sleep(120)
            await until(lambda: not fn.environments)  # both reaped
            seen.append(len(fn.environments))

    clock = trio_testing.MockClock(autojump_threshold=0)
    anyio.run(scenario, backend="trio", backend_options={"clock": clock})
    assert seen == [1.0, [True, True], ["ok", "ok", "throttled"], 0]
    walks(fleet)


async def test_several_callers_back_at_once_reuse_every_finishing_environment() -> None:
    class Tails(Fleet):
        def __call__(self, config: FunctionConfig) -> Environment:
            env = super().__call__(config)
            # Extensions work 20 ms, 40 ms and 300 ms past each 1 s answer: the most recently
            # used environment finishes last, after the 0.1 s grace.
            self.extensions[-1].work = (1.02, 1.04, 1.3)[len(self.extensions) - 1]
            return env

    fleet = Tails(handler=sleep_a_second)
    async with Function(fleet, reserved_concurrency=3) as fn:
        await at_once(fn, 3)
        outcomes: list[str] = []

        async def one() -> None:
            try:
                outcomes.append("ok" if (await fn.invoke({})).ok else "error")
            except TooManyRequestsException:
                outcomes.append("throttled")

        async with anyio.create_task_group() as tg:  # at once, while all three finish
            for _ in range(3):
                tg.start_soon(one)
        # Two took the environments that finished within the grace; the third found the last
        # one still busy after it.
        assert sorted(outcomes) == ["ok", "ok", "throttled"]
        assert fn.started == 3
    walks(fleet)
    no_tasks_left()
