"""What an invocation keeps once it is over: no reference loop holding its request or response.

Virtual time, in-process participants.
"""

from __future__ import annotations

import gc
import weakref

import anyio.lowlevel
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.invocation import Invocation
from lambda_lifecycle.engine.observe import EventHub

from .support import EchoRuntime, RecordingExtension

pytestmark = pytest.mark.looptime


async def test_a_finished_invocation_drops_its_payload_and_its_result_holds_no_loop() -> None:
    ext = RecordingExtension("ext")
    config = FunctionConfig(function_name="fn", timeout=3)
    async with Environment(EchoRuntime().participant(), [ext.participant()], config) as env:
        events = env.subscribe()
        big = b'"' + b"x" * 1_000_000 + b'"'
        first = await env.invoke(big)
        report = await first.report()
        ends = [e for e in events.drain() if e.type == "invoke_end"]
        inv = ends[0].invocation
        assert isinstance(inv, Invocation)
        assert inv.payload == b""  # the runtime had it; nothing keeps it now
        assert inv not in gc.get_referents(first)  # the result does not point back
        second = await env.invoke(b"{}")
        # A report asked for after later invocations is still the invocation's own.
        again = await first.report()
        assert again == report
        assert again.request_id == first.request_id != second.request_id
        assert len(first.body) > 1_000_000  # the caller still has its body


async def test_a_frozen_environment_keeps_neither_the_job_it_ran_nor_that_jobs_event() -> None:
    # The scheduler's task sleeps between jobs: what it ran last must not stay alive with it
    # (the job closes over its invocation; its done-event is an asyncio.Event and a deque).
    async with Environment(EchoRuntime().participant(), [], FunctionConfig()) as env:
        ran: list[bool] = []

        async def job() -> None:
            ran.append(True)

        job_ref = weakref.ref(job)
        finished = await env.scheduler.submit(job)
        await finished.wait()
        done_ref = weakref.ref(finished)
        del job, finished
        for _ in range(5):  # the task goes back to sleep
            await anyio.lowlevel.checkpoint()
        gc.collect()
        assert ran == [True]
        assert job_ref() is None
        assert done_ref() is None
        first = await env.invoke(b"{}")  # a cold invoke goes through the scheduler too
        assert first.ok
        assert env.state == "Frozen"


def test_hubs_nobody_listens_to_share_one_empty_set_of_wanted_types() -> None:
    a, b = EventHub(), EventHub()
    assert a.wanted == frozenset()
    assert a.wanted is b.wanted
    listener = a.listen(lambda event: None, frozenset({"invoke_end"}))
    assert a.wanted == {"invoke_end"}
    listener.close()
    assert a.wanted is b.wanted
    assert not a.wants("invoke_end")
