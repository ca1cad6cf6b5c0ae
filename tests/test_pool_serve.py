"""The pool in front ends: the invoke endpoint's throttle answer, and ``serve``'s pool flags."""

from __future__ import annotations

import argparse

import anyio
import httpx
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.clients import RuntimeEvent
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.pool import Function
from lambda_lifecycle.server import InvokeAPI
from lambda_lifecycle.tools.cli import main
from lambda_lifecycle.tools.serve import _seconds, _whole
from tests.fixtures.helpers import FIXTURES

from .support import EchoRuntime

URL = "http://lambda/2015-03-31/functions/function/invocations"


async def slow(event: RuntimeEvent, rt: EchoRuntime) -> bytes:
    await anyio.sleep(1)
    return b'{"ok": true}'


@pytest.mark.looptime
async def test_the_invoke_endpoint_answers_a_throttle_as_lambda_does() -> None:
    def make(config: FunctionConfig) -> Environment:
        return Environment(EchoRuntime(handler=slow).participant(), config=config)

    async with Function(make, reserved_concurrency=1) as fn:
        app = InvokeAPI(fn.invoke, {"function"}, "$LATEST")
        answers: list[httpx.Response] = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app)) as http:

            async def post() -> None:
                answers.append(await http.post(URL, content=b"{}"))

            async with anyio.create_task_group() as tg:
                tg.start_soon(post)
                await anyio.sleep(0.1)
                tg.start_soon(post)
    throttled, served = answers
    assert served.status_code == 200
    assert throttled.status_code == 429
    assert throttled.headers["x-amzn-errortype"] == "TooManyRequestsException"
    assert throttled.headers["content-type"] == "application/json"
    assert throttled.json() == {
        "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
        "Type": "User",
        "message": "Rate Exceeded.",
        "errorMessage": "Rate Exceeded.",
        "errorType": "TooManyRequestsException",
    }
    assert fn.started == 1


def test_provisioned_concurrency_over_the_reserved_is_one_error_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        [
            "serve",
            "--handler",
            "handlers.count",
            "--task-root",
            str(FIXTURES / "functions"),
            "--reserved-concurrency",
            "2",
            "--provisioned-concurrency",
            "3",
        ]
    )
    _, err = capsys.readouterr()
    assert code == 1
    assert err.strip() == (
        "lambda-lifecycle: error: --provisioned-concurrency 3 is more than --reserved-concurrency 2"
    )


def test_the_pool_flags_parse_durations_and_counts() -> None:
    assert _seconds("0") is None  # never
    assert _seconds("1.5") == 1.5
    for bad in ("-1", "soon", "inf", "nan"):
        with pytest.raises(argparse.ArgumentTypeError):
            _seconds(bad)
    assert _whole(1)("3") == 3
    with pytest.raises(argparse.ArgumentTypeError):
        _whole(1)("0")
    with pytest.raises(argparse.ArgumentTypeError):
        _whole(0)("2.5")
