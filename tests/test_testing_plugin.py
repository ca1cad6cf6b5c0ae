"""The pytest plugin for function and extension authors, tested as its users run it.

Each test writes a user's test file and runs pytest on it with ``pytester`` (the plugin is
loaded through its ``pytest11`` entry point, as in a user's project): the worked example of
``docs/testing.md`` passes, a wrong expectation fails with a message that says what the
environment did, and a hanging handler is stopped by the function timeout.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = (Path(__file__).resolve().parent.parent / "docs" / "testing.md").read_text()
INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"


def example() -> str:
    return re.findall(r"```python\n(.*?)```", DOC, re.DOTALL)[0]


def test_the_plugin_is_registered_by_its_entry_point(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    result = pytester.runpytest("--fixtures", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*lambda_harness*", "*lambda_processes*"])


def test_the_documented_example_passes(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_lifecycle=example())
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_a_wrong_expectation_fails_with_what_the_environment_did(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_wrong="""
import pytest

pytestmark = [pytest.mark.asyncio, pytest.mark.looptime]


def handler(event, context):
    return {"ok": True}


async def test_expects_a_timeout(lambda_harness):
    async with lambda_harness(handler, timeout=3) as fn:
        (await fn.invoke({})).assert_error("Sandbox.Timedout")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*LifecycleMismatch: expected an error 'Sandbox.Timedout', but the environment gave"
            ' the answer {"ok": true}.',
            "*transitions: init -> init-complete-invoke -> invoke-complete*",
            "*START RequestId:*",
        ]
    )


def test_a_hanging_handler_is_stopped_by_the_timeout(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_hang="""
import anyio
import pytest

pytestmark = [pytest.mark.asyncio, pytest.mark.looptime]


async def handler(event, context):
    await anyio.sleep_forever()


async def test_times_out(lambda_harness):
    async with lambda_harness(handler, timeout=900) as fn:
        t0 = anyio.current_time()
        answer = (await fn.invoke({})).assert_error("Sandbox.Timedout")
        assert anyio.current_time() - t0 == pytest.approx(900)
        assert "Task timed out after 900.00 seconds" in answer.json()["errorMessage"]
        assert [line.split()[0] for line in fn.lines][-2:] == ["END", "REPORT"]
        fn.assert_conforms()
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_an_exception_in_the_handler_and_in_init(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_errors="""
import pytest

pytestmark = [pytest.mark.asyncio, pytest.mark.looptime]


def handler(event, context):
    raise KeyError("missing")


def broken_init():
    raise RuntimeError("no configuration")


async def test_handler_error(lambda_harness):
    async with lambda_harness(handler) as fn:
        answer = (await fn.invoke({})).assert_error("KeyError")
        assert answer.json()["stackTrace"]


async def test_init_error_is_served_to_the_first_invoke(lambda_harness):
    async with lambda_harness(handler, init=broken_init) as fn:
        (await fn.invoke({})).assert_error("RuntimeError")
        assert fn.lines_starting("INIT_REPORT")
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@pytest.mark.processes
def test_real_processes_with_awslambdaric(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        app="""
import time

def handler(event, context):
    if event.get("sleep"):
        time.sleep(event["sleep"])
    return {"request": context.aws_request_id}
"""
    )
    pytester.makepyfile(
        test_real="""
import pytest

pytestmark = pytest.mark.asyncio


async def test_my_real_function(lambda_processes):
    async with lambda_processes("app.handler", timeout=1) as fn:
        (await fn.invoke({})).assert_ok()
        (await fn.invoke({"sleep": 5})).assert_error("Sandbox.Timedout")
        last = (await fn.invoke({})).assert_ok()
        assert (await last.report()).suppressed_init
        fn.assert_took("invoke-timeout", "suppressed-init")
        assert len(fn.lines_starting("REPORT")) == 3
"""
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
