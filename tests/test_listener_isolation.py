"""A listener's failure is never a participant's failure: it is logged and the listener detached."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog
from structlog.testing import capture_logs

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.observe import LifecycleEvent

from .support import EchoRuntime, RecordingExtension

pytestmark = pytest.mark.looptime


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def unconfigured_structlog() -> Iterator[None]:
    """capture_logs leaves structlog configured: put the defaults back for the other tests."""
    yield
    structlog.reset_defaults()


async def test_a_raising_listener_is_logged_detached_and_the_invocations_succeed() -> None:
    rt = EchoRuntime()
    ext = RecordingExtension()
    calls: list[str] = []
    before: list[str] = []
    after: list[str] = []

    def bad(event: LifecycleEvent) -> None:
        calls.append(event.type)
        if event.type == "invoke_end":
            raise Boom("listener bug")

    with capture_logs() as logs:
        async with Environment(
            rt.participant(), [ext.participant()], config=FunctionConfig(timeout=3)
        ) as env:
            env.listen(lambda e: before.append(e.type))
            env.listen(bad)
            env.listen(lambda e: after.append(e.type))
            sub = env.subscribe()
            results = [await env.invoke({"n": n}) for n in range(3)]
            sub.close()
            streamed = [e.type for e in sub.drain()]

    assert [r.json()["count"] for r in results] == [1, 2, 3]  # no Reset: the runtime kept going
    assert rt.inits == 1
    assert all(r.error_type is None for r in results)
    assert calls.count("invoke_end") == 1  # detached after its first failure
    assert calls[-1] == "invoke_end"
    # The others got every event, the one that made the listener fail included.
    assert before == after
    assert after.count("invoke_end") == 3
    assert streamed == after[: len(streamed)]
    failures = [entry for entry in logs if entry["event"] == "lambda_lifecycle.listener_failed"]
    assert len(failures) == 1
    (failure,) = failures
    assert failure["log_level"] == "error"
    assert failure["event_type"] == "invoke_end"
    assert "bad" in failure["listener"]
    assert isinstance(failure["exc_info"], Boom)


async def test_every_raising_listener_is_detached_and_a_closed_subscription_is_dropped() -> None:
    rt = EchoRuntime()
    seen: list[str] = []

    def first(_: LifecycleEvent) -> None:
        raise Boom("first")

    def second(_: LifecycleEvent) -> None:
        raise Boom("second")

    with capture_logs() as logs:
        async with Environment(rt.participant(), config=FunctionConfig(timeout=3)) as env:
            gone = env.subscribe()
            gone._receive.close()  # the consumer went away without closing the subscription
            env.listen(first)
            env.listen(second)
            env.listen(lambda e: seen.append(e.type))
            results = [await env.invoke(b"1"), await env.invoke(b"2")]

    assert [r.json()["count"] for r in results] == [1, 2]
    failures = [entry for entry in logs if entry["event"] == "lambda_lifecycle.listener_failed"]
    assert sorted(str(entry["exc_info"]) for entry in failures) == ["first", "second"]
    assert seen.count("invoke_end") == 2
    assert seen[0] == failures[0]["event_type"]  # the first event still reached the last one
