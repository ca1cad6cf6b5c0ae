"""What an invocation keeps once it is over: no reference loop holding its request or response.

Virtual time, in-process participants.
"""

from __future__ import annotations

import gc

import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.invocation import Invocation

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
