"""SnapStart across a pool, in virtual time: one publish-time Init and snapshot, every new
environment restored from it with its own copy of the state, and the uniqueness guard."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
import structlog

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.environment import EnvironmentCore
from lambda_lifecycle.core.errors import TransitionRefused
from lambda_lifecycle.engine.clients import ExtensionClient, RuntimeClient
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess_snapstart import SnapStartExtension, SnapStartRuntime
from lambda_lifecycle.engine.observe import LifecycleEvent
from lambda_lifecycle.engine.pool import Function
from lambda_lifecycle.engine.snapshot import SnapshotError
from lambda_lifecycle.sinks.cloudwatch import LogSink, attach_log_sink

from .support import EchoRuntime
from .test_engine_chaos import check_walk
from .test_pool import at_once, no_tasks_left, until

pytestmark = pytest.mark.looptime


@pytest.fixture(autouse=True)
def unconfigured_structlog() -> Iterator[None]:
    """capture_logs leaves structlog configured: put the defaults back for the other tests."""
    yield
    structlog.reset_defaults()


CONFIG = FunctionConfig(
    function_name="orders", initialization_type="snap-start", function_version="3", timeout=5
)


class App:
    """A SnapStart function: Init makes a random instance id (marked unique) and a list of the
    payloads served; ``refresh`` makes the id again in an after-restore hook."""

    def __init__(self, *, refresh: bool = False, sleep: float = 1.0) -> None:
        self.refresh = refresh
        self.sleep = sleep
        self.inits = 0
        self.restores = 0
        self.variables: list[str] = []

    async def init(self, client: RuntimeClient) -> dict[str, Any]:
        self.inits += 1
        await anyio.sleep(0.5)  # the static code takes a while: only the publish pays it
        state: dict[str, Any] = {"instance": uuid.uuid4().hex, "served": []}
        client.mark_unique(state["instance"], "instance id")
        return state

    async def main(self, client: RuntimeClient, state: dict[str, Any]) -> None:
        self.restores += 1
        if self.refresh:  # the after-restore hook AWS recommends
            state["instance"] = uuid.uuid4().hex
        while True:
            event = await client.next()
            payload = event.json()
            if payload.get("crash"):
                raise SystemExit(2)
            await anyio.sleep(self.sleep)
            state["served"].append(payload.get("n"))
            body = {"instance": state["instance"], "served": list(state["served"])}
            client.respond(event.request_id, json.dumps(body).encode())

    def runtime(self) -> SnapStartRuntime[dict[str, Any]]:
        return SnapStartRuntime(self.init, self.main)


async def ext_init(client: ExtensionClient) -> dict[str, Any]:
    client.register(["INVOKE", "SHUTDOWN"])
    return {"invokes": 0}


async def ext_main(client: ExtensionClient, state: dict[str, Any]) -> None:
    while True:
        event = await client.next()
        if event["eventType"] == "SHUTDOWN":
            return
        state["invokes"] += 1


class Fleet:
    """Makes the pool's environments; keeps each one's events and CloudWatch lines."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.runtime = app.runtime()
        self.extension = SnapStartExtension(ext_init, ext_main, "counter")
        self.events: dict[str, list[LifecycleEvent]] = {}
        self.lines: list[str] = []
        self.sinks: list[LogSink] = []
        self.envs: list[Environment] = []
        self.reset = anyio.Event()  # set at the first reset_end of any environment

    def __call__(self, config: FunctionConfig) -> Environment:
        env = Environment(self.runtime, [self.extension], config)
        self.events[env.id] = events = []
        env.listen(events.append)
        env.listen(lambda _: self.reset.set(), ("reset_end",))
        self.sinks.append(attach_log_sink(env, self.lines.append))
        self.envs.append(env)
        return env

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()

    def count(self, event_type: str) -> int:
        return sum(1 for events in self.events.values() for e in events if e.type == event_type)

    def walks(self) -> None:
        for events in self.events.values():
            check_walk(events)

    def rows(self, env: Environment) -> list[str]:
        return [e.data["transition"] for e in self.events[env.id] if e.type == "transition"]


def served(result: Any) -> dict[str, Any]:
    body: dict[str, Any] = result.json()
    return body


async def test_three_environments_one_init_and_three_restores() -> None:
    app = App()
    fleet = Fleet(app)
    async with Function(fleet, CONFIG, reserved_concurrency=3) as fn:
        assert fn.snapshot is not None and fn.snapshot_error is None
        results = await at_once(fn, 3, {"n": 1})
        reports = [await r.report() for r in results]
        assert len(fn.environments) == 3
        made = fleet.envs[1:]
        assert all(fleet.rows(env)[0] == "load-snapshot" for env in made)
    fleet.close()
    assert app.inits == 1  # one publish-time Init, for the whole pool
    assert fleet.count("init_start") == 1
    assert fleet.count("restore_start") == 3
    assert all(r.ok for r in results)
    assert all(rep.init_duration_ms is None for rep in reports)
    assert all(rep.restore_duration_ms is not None for rep in reports)
    assert sum(line.startswith("INIT_START") for line in fleet.lines) == 1
    assert sum(line.startswith("EXTENSION") for line in fleet.lines) == 1  # one registration
    report_lines = [line for line in fleet.lines if line.startswith("REPORT")]
    assert len(report_lines) == 3
    assert all("\tRestore Duration: " in line for line in report_lines)
    assert all("\tBilled Restore Duration: " in line for line in report_lines)
    assert not any("Init Duration" in line for line in report_lines)
    fleet.walks()
    no_tasks_left()


async def test_a_restored_environment_starts_frozen_with_its_restore_pending() -> None:
    app = App(sleep=0)
    fleet = Fleet(app)
    async with Environment(app.runtime(), [fleet.extension], CONFIG) as published:
        await published.init()
        snapshot = published.snapshot()
        env = fleet(CONFIG).restore_from(snapshot)
        async with env:
            assert env.state == "Frozen" and env.core.plan == "restore"
            assert env.core.snapshot_pending and env.generation == 1
            assert [e.type for e in fleet.events[env.id]][:1] == ["transition"]
            assert [p.kind for p in env.procs.entries] == ["external", "runtime"]
            result = await env.invoke({"n": 1})
            report = await result.report()
            assert report.restore_duration_ms is not None and report.init_duration_ms is None
            assert env.core.plan == "thaw"
        fleet.close()
    assert fleet.rows(env) == [
        "load-snapshot",
        "restore",
        "restore-complete-invoke",
        "invoke-complete",
        "spindown",
    ]
    assert not any(e.type == "init_start" for e in fleet.events[env.id])
    assert app.inits == 1
    assert not any(line.startswith("INIT_") for line in fleet.lines)


async def test_restored_participants_see_the_snapstart_initialization_type() -> None:
    seen: list[str] = []

    class Recording(SnapStartRuntime[dict[str, Any]]):
        async def resume(self, client: RuntimeClient, ctx: Any, state: Any) -> Any:
            seen.append(ctx.environment["AWS_LAMBDA_INITIALIZATION_TYPE"])
            return await super().resume(client, ctx, state)

    app = App()
    runtime = Recording(app.init, app.main)
    async with Function(lambda c: Environment(runtime, config=c), CONFIG) as fn:
        await at_once(fn, 2, {"n": 1})
    assert seen == ["snap-start"]  # one environment made from the snapshot, the other published


async def test_each_environment_mutates_its_own_copy_of_the_state() -> None:
    app = App()
    fleet = Fleet(app)
    async with Function(fleet, CONFIG, reserved_concurrency=3) as fn:
        snapshot = fn.snapshot
        assert snapshot is not None
        first = await at_once(fn, 3, {"n": 1})
        second = await at_once(fn, 3, {"n": 2})  # warm: the same three environments
        states = [env.participant_states() for env in fleet.envs]
    assert fn.started == 3
    assert [served(r)["served"] for r in first] == [[1]] * 3
    assert [served(r)["served"] for r in second] == [[1, 2]] * 3
    assert [s["runtime"]["served"] for s in states] == [[1, 2]] * 3
    assert [s["counter"]["invokes"] for s in states] == [2, 2, 2]
    runtime_states = [s["runtime"] for s in states]
    assert len({id(s) for s in runtime_states}) == 3  # three objects, not one shared
    assert snapshot.states["runtime"]["served"] == []  # the snapshot itself is untouched
    assert snapshot.states["counter"] == {"invokes": 0}
    fleet.walks()


async def test_the_guard_warns_when_two_restored_environments_share_an_init_id() -> None:
    app = App()
    fleet = Fleet(app)
    with structlog.testing.capture_logs() as logs:
        async with Function(fleet, CONFIG, reserved_concurrency=3) as fn:
            results = await at_once(fn, 3, {"n": 1})
    fleet.close()
    assert len({served(r)["instance"] for r in results}) == 1  # the hazard itself
    warnings = fn.uniqueness_warnings
    assert len(warnings) == 2  # the second and third environments repeat the first
    assert {w.label for w in warnings} == {"instance id"}
    holders = {w.environment_id for w in warnings} | {w.first_environment_id for w in warnings}
    assert holders == {env.id for env in fleet.envs}
    assert fn.snapshot is not None
    assert all(w.snapshot == fn.snapshot.name for w in warnings)
    logged = [e for e in logs if e["event"] == "lambda_lifecycle.snapstart_uniqueness"]
    assert len(logged) == 2 and all(e["log_level"] == "warning" for e in logged)
    assert all(served(results[0])["instance"] not in str(e) for e in logged)  # digest only
    fleet.walks()


async def test_the_guard_stays_quiet_when_each_environment_refreshes_after_restore() -> None:
    app = App(refresh=True)
    fleet = Fleet(app)
    with structlog.testing.capture_logs() as logs:
        async with Function(fleet, CONFIG, reserved_concurrency=3) as fn:
            results = await at_once(fn, 3, {"n": 1})
    fleet.close()
    assert len({served(r)["instance"] for r in results}) == 3
    assert fn.uniqueness_warnings == ()
    assert all(env.unique_held == () for env in fleet.envs)
    assert not [e for e in logs if e["event"] == "lambda_lifecycle.snapstart_uniqueness"]
    fleet.walks()


async def test_a_reset_in_one_restored_environment_recovers_without_disturbing_the_others() -> None:
    app = App()
    fleet = Fleet(app)
    async with Function(fleet, CONFIG, reserved_concurrency=3) as fn:
        await at_once(fn, 3, {"n": 1})
        crashed = await fn.invoke({"crash": True})  # the most recently used environment
        assert not crashed.ok
        with anyio.fail_after(10):  # the Reset runs after the caller has its answer
            await fleet.reset.wait()
        (victim,) = [env for env in fleet.envs if "reset_end" in types(fleet, env)]
        others = [env for env in fleet.envs if env is not victim]
        assert victim.state == "Uninitialized" and victim.core.plan == "init"
        before = [env.participant_states()["runtime"]["instance"] for env in others]
        again = await fn.invoke({"n": 2})  # the free, most recently used one: the victim
        report = await again.report()
        assert again.ok and report.restore_duration_ms is not None
        assert served(again)["served"] == [2]  # a new Init: a state of its own again
        assert fn.snapshot is not None and victim.snapshot_name != fn.snapshot.name
        after = [env.participant_states()["runtime"] for env in others]
        assert [s["instance"] for s in after] == before
        assert [s["served"] for s in after] == [[1], [1]]
        assert all(env.state == "Frozen" for env in others)
    fleet.close()
    assert app.inits == 2  # the publish, and the victim's Init after its Reset
    kinds = types(fleet, victim)
    tail = kinds[kinds.index("reset_end") :]
    assert tail.index("init_start") < tail.index("restore_start")
    assert fn.started == 3
    fleet.walks()
    no_tasks_left()


def types(fleet: Fleet, env: Environment) -> list[str]:
    return [e.type for e in fleet.events[env.id]]


async def test_participants_that_cannot_be_snapshotted_fall_back_to_their_own_init() -> None:
    runtime = EchoRuntime()
    with structlog.testing.capture_logs() as logs:
        async with Function(lambda c: Environment(runtime.participant(), config=c), CONFIG) as fn:
            results = await at_once(fn, 2, {})
    assert fn.snapshot is None and fn.snapshot_error is not None
    assert "runtime 'bootstrap' cannot be snapshotted" in str(fn.snapshot_error)
    assert "InProcessRuntime has no resume()" in str(fn.snapshot_error)
    assert all(r.ok for r in results)
    assert runtime.inits == 2
    assert any(e["event"] == "lambda_lifecycle.snapshot_unavailable" for e in logs)


async def test_a_state_that_cannot_be_copied_is_a_clear_error() -> None:
    async def init(client: RuntimeClient) -> dict[str, Any]:
        return {"lock": threading.Lock()}

    async def main(client: RuntimeClient, state: dict[str, Any]) -> None:
        while True:
            event = await client.next()
            client.respond(event.request_id, b"{}")

    async with Environment(SnapStartRuntime(init, main), config=CONFIG) as env:
        await env.init()
        with pytest.raises(SnapshotError, match="state of runtime 'bootstrap' cannot be copied"):
            env.snapshot()
        assert (await env.invoke({})).ok  # the environment itself restores from its processes


async def test_restore_from_refuses_what_the_snapshot_cannot_make() -> None:
    app = App(sleep=0)
    async with Environment(app.runtime(), config=CONFIG) as published:
        with pytest.raises(SnapshotError, match="publish-time Init has not completed"):
            published.snapshot()
        await published.init()
        snapshot = published.snapshot()
        on_demand = FunctionConfig(timeout=5)
        with pytest.raises(SnapshotError, match="only a snap-start environment"):
            Environment(app.runtime(), config=on_demand).restore_from(snapshot)
        with pytest.raises(SnapshotError, match="holds runtime 'bootstrap' and extensions"):
            Environment(
                app.runtime(), [SnapStartExtension(ext_init, ext_main, "x")], CONFIG
            ).restore_from(snapshot)
        with pytest.raises(SnapshotError, match="has no resume"):
            Environment(EchoRuntime().participant(), config=CONFIG).restore_from(snapshot)
        with pytest.raises(SnapshotError, match="not new"):
            published.restore_from(snapshot)


def test_the_core_makes_only_a_new_snapstart_environment_from_a_snapshot(machine: Any) -> None:
    core = EnvironmentCore(machine, "snap-start")
    assert core.plan == "init"
    row = core.load_snapshot([])
    assert (row.id, row.source, row.dest) == ("load-snapshot", "Uninitialized", "Frozen")
    assert core.plan == "restore" and core.snapshot_pending and core.generation == 1
    with pytest.raises(Exception, match="only a new environment"):
        core.load_snapshot([])
    on_demand = EnvironmentCore(machine, "on-demand")
    with pytest.raises(Exception, match="only a SnapStart environment"):
        on_demand.load_snapshot([])
    assert on_demand.state == "Uninitialized" and not on_demand.snapshot_pending
    # The spec's guard: the row cannot fire without a snapshot pending.
    bare = EnvironmentCore(machine, "snap-start")
    assert not bare.can_fire("load_snapshot")
    with pytest.raises(TransitionRefused):
        machine.fire(bare, "load_snapshot")


async def test_an_environment_replaced_after_its_lifetime_is_made_from_the_same_snapshot() -> None:
    app = App(sleep=0)
    fleet = Fleet(app)
    async with Function(fleet, CONFIG, max_lifetime=60, idle_timeout=None) as fn:
        snapshot = fn.snapshot
        assert (await fn.invoke({"n": 1})).ok
        (first,) = fn.environments
        await anyio.sleep(61)  # its lifetime is over: it spins itself down
        await until(lambda: first not in fn.environments)
        again = await fn.invoke({"n": 2})
        (second,) = fn.environments
        assert second is not first and fn.snapshot is snapshot
    fleet.close()
    assert again.ok and served(again)["served"] == [2]  # the snapshot's state, not first's
    assert (await again.report()).restore_duration_ms is not None
    assert fleet.rows(second)[0] == "load-snapshot"
    assert app.inits == 1
    fleet.walks()


async def test_an_environment_made_from_a_snapshot_and_never_invoked_shuts_down_cleanly() -> None:
    app = App(sleep=0)
    fleet = Fleet(app)
    async with Environment(app.runtime(), [fleet.extension], CONFIG) as published:
        await published.init()
        env = fleet(CONFIG).restore_from(published.snapshot())
        async with env:
            assert env.state == "Frozen"
    fleet.close()
    assert fleet.rows(env) == ["load-snapshot", "spindown"]
    assert [e.data["name"] for e in fleet.events[env.id] if e.type == "process_exit"] == [
        "bootstrap",
        "counter",
    ]
    fleet.walks()
    no_tasks_left()
