"""The Runtime API's streamed responses as the engine's clients take them (virtual time)."""

from __future__ import annotations

import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.core.errors import APIError
from lambda_lifecycle.engine.clients import RuntimeClient
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess import InProcessRuntime

pytestmark = pytest.mark.looptime


async def streaming_runtime(client: RuntimeClient) -> None:
    while True:
        event = await client.next()
        mode = event.json()["mode"]
        client.begin_stream(event.request_id)
        with pytest.raises(APIError) as again:
            client.begin_stream(event.request_id)
        assert again.value.status == 403
        with pytest.raises(APIError) as refused:
            client.error(event.request_id, {"errorMessage": "no"})
        assert refused.value.status == 403
        if mode == "ok":
            client.end_stream(event.request_id, b"rest", "text/plain")
        elif mode == "trailer":
            client.end_stream(event.request_id, error={"errorMessage": "mid"}, error_type="Mid")
        else:
            client.stream_too_large(event.request_id, 1000)
        with pytest.raises(APIError) as late:
            client.end_stream(event.request_id)
        assert late.value.status == 403


async def test_a_streamed_response_ends_with_its_body_its_error_or_too_large() -> None:
    async with Environment(
        InProcessRuntime(streaming_runtime), config=FunctionConfig(timeout=3)
    ) as env:
        ok = await env.invoke({"mode": "ok"})
        trailer = await env.invoke({"mode": "trailer"})
        large = await env.invoke({"mode": "large"})
        with pytest.raises(APIError) as unknown:
            env.runtime_client.begin_stream("not-the-current-id")  # type: ignore[union-attr]
    assert (ok.body, ok.content_type, ok.function_error) == (b"rest", "text/plain", None)
    assert trailer.function_error == "Unhandled"
    assert trailer.error == {"errorMessage": "mid", "errorType": "Mid"}
    assert large.error_type == "Function.ResponseSizeTooLarge"
    assert "(1000 bytes)" in str(large.error)
    assert unknown.value.status == 400
