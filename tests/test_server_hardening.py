"""The emulator against hostile or careless clients: limits, malformed input, foreign origins.

As in ``test_server_api``, the runtime is an in-process placeholder and the test plays it over
real HTTP; requests the HTTP clients would refuse to send are written on a raw socket.
Real time, ephemeral ports, short timeouts.
"""

from __future__ import annotations

import argparse
import base64
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import httpx
import pytest

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.clients import RuntimeClient
from lambda_lifecycle.engine.inprocess import InProcessRuntime
from lambda_lifecycle.processes import ProcessRuntime
from lambda_lifecycle.server import Emulator, memory
from lambda_lifecycle.server.guard import Guard, host_name
from lambda_lifecycle.server.http import TooLarge, parse_json, read_body
from lambda_lifecycle.server.limits import Limits
from lambda_lifecycle.server.names import FunctionNames
from lambda_lifecycle.tools.serve import configure_serve
from tests.fixtures.helpers import FIXTURES, PYTHON, until

RUNTIME = "/2018-06-01/runtime"
EXTENSION = "/2020-01-01/extension"
NESTED = b"[" * 1000 + b"]" * 1000
FAST = Limits(header_timeout=0.3, body_timeout=0.3)


async def idle(client: RuntimeClient) -> None:
    await anyio.sleep_forever()


@asynccontextmanager
async def served(**options: Any) -> AsyncIterator[tuple[Emulator, httpx.AsyncClient]]:
    emulator = Emulator(
        InProcessRuntime(idle),
        (),
        FunctionConfig(function_name="fn", timeout=options.pop("timeout", 5)),
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
        **options,
    )
    async with emulator:
        base = f"http://{emulator.runtime_api_address}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield emulator, http


def json_error(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert isinstance(body["errorMessage"], str)
    return response.status_code, body["errorType"]


def raw_exchange(address: str, request: bytes) -> bytes:
    """Send ``request`` and read until the server closes the connection (blocking: for a
    worker thread)."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        return _read_to_end(sock)


def _read_to_end(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)


def parsed(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, json.loads(body)


def invoke_address(emulator: Emulator) -> str:
    return emulator.invoke_url.split("/")[2]


# -- malformed JSON never answers 5xx ------------------------------------------------------------


def test_parse_json_bounds_the_nesting() -> None:
    assert parse_json(b'{"a": [1, {"b": null}]}') == {"a": [1, {"b": None}]}
    with pytest.raises(ValueError, match="nests deeper"):
        parse_json(b"[" * 65 + b"]" * 65)
    with pytest.raises(ValueError, match="nests deeper"):
        parse_json(NESTED)


async def test_deeply_nested_json_is_a_client_error_on_every_route() -> None:
    async with served(timeout=1) as (emulator, http), anyio.create_task_group() as tg:
        context = base64.b64encode(b'{"a":' * 900 + b"1" + b"}" * 900).decode()
        invoke = await http.post(
            emulator.invoke_url, content=b"{}", headers={"X-Amz-Client-Context": context}
        )
        assert json_error(invoke) == (400, "InvalidRequestContentException")
        tg.start_soon(partial(http.post, emulator.invoke_url, content=b"{}"))
        await until(lambda: emulator.env.state == "Init")
        register = await http.post(
            f"{EXTENSION}/register", content=NESTED, headers={"Lambda-Extension-Name": "x"}
        )
        assert json_error(register) == (403, "InvalidRequestFormat")
        ok = await http.post(
            f"{EXTENSION}/register",
            content=b'{"events": []}',
            headers={"Lambda-Extension-Name": "ext"},
        )
        ext_id = ok.headers["lambda-extension-identifier"]
        telemetry = await http.put(
            "/2022-07-01/telemetry", content=NESTED, headers={"Lambda-Extension-Identifier": ext_id}
        )
        assert json_error(telemetry) == (400, "ValidationError")
        init_error = await http.post(f"{RUNTIME}/init/error", content=NESTED)
        assert init_error.status_code == 202  # any body is accepted: this one as text
        tg.cancel_scope.cancel()


async def test_a_nested_error_body_is_kept_as_text() -> None:
    async with served(timeout=1) as (emulator, http), anyio.create_task_group() as tg:
        answers: list[httpx.Response] = []

        async def call() -> None:
            answers.append(await http.post(emulator.invoke_url, content=b"{}"))

        tg.start_soon(call)
        await until(lambda: emulator.env.runtime_client is not None)
        nxt = await http.get(f"{RUNTIME}/invocation/next")
        request_id = nxt.headers["lambda-runtime-aws-request-id"]
        posted = await http.post(f"{RUNTIME}/invocation/{request_id}/error", content=NESTED)
        assert posted.status_code == 202
        await until(lambda: bool(answers))
        assert answers[0].json()["errorMessage"] == NESTED.decode()
        tg.cancel_scope.cancel()


# -- every error is JSON -------------------------------------------------------------------------


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_the_http_parsers_refusals_are_json(http: str) -> None:
    async with served(http=http) as (emulator, _):
        for address in (emulator.runtime_api_address, invoke_address(emulator)):
            raw = await anyio.to_thread.run_sync(raw_exchange, address, b"NOT HTTP AT ALL\r\n\r\n")
            status, headers, body = parsed(raw)
            assert status == 400
            assert headers["content-type"] == "application/json"
            assert body["errorType"] == "InvalidRequest"


async def test_an_unexpected_exception_is_a_json_500_and_no_traceback() -> None:
    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("a bug")

    transport = httpx.ASGITransport(app=Guard(broken))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
        response = await http.get("/anything")
    assert json_error(response) == (500, "ServiceException")
    assert "a bug" not in response.text


# -- the invoke payload limit --------------------------------------------------------------------


async def test_an_oversized_event_is_413_before_any_phase() -> None:
    async with served() as (emulator, http):
        too_big = await http.post(emulator.invoke_url, content=b"x" * 6_291_457)
        assert json_error(too_big) == (413, "RequestEntityTooLargeException")
        assert too_big.json()["message"] == (
            "Request must be smaller than 6291456 bytes for the InvokeFunction operation"
        )

        async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted while read
            for _ in range(200):
                yield b"y" * 65536

        streamed = await http.post(emulator.invoke_url, content=chunks())
        assert json_error(streamed) == (413, "RequestEntityTooLargeException")
        event = await http.post(
            emulator.invoke_url,
            content=b"z" * 1_048_577,
            headers={"X-Amz-Invocation-Type": "Event"},
        )
        assert json_error(event) == (413, "RequestEntityTooLargeException")
        assert emulator.env.state == "Uninitialized"
        fits = await http.post(
            emulator.invoke_url,
            content=b"z" * 1_048_576,
            headers={"X-Amz-Invocation-Type": "DryRun"},
        )
        assert fits.status_code == 204


# -- header size and slow requests ---------------------------------------------------------------


async def test_an_oversized_head_is_431() -> None:
    async with served() as (emulator, _):
        request = (
            b"POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: localhost\r\n"
            + b"X-Big: "
            + b"a" * 40_000
            + b"\r\n\r\n"
        )
        raw = await anyio.to_thread.run_sync(raw_exchange, invoke_address(emulator), request)
        status, _, body = parsed(raw)
        assert status == 431
        assert body["errorType"] == "RequestHeaderFieldsTooLarge"


@pytest.mark.parametrize("http", ["httptools", "h11"])
@pytest.mark.parametrize(
    ("request_bytes", "part"),
    [
        (b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: local", "head"),
        (
            b"POST /2020-01-01/extension/register HTTP/1.1\r\nHost: localhost\r\n"
            b"Lambda-Extension-Name: slow\r\nContent-Length: 100\r\n\r\n{",
            "body",
        ),
    ],
)
async def test_a_request_that_drips_is_408(request_bytes: bytes, part: str, http: str) -> None:
    async with served(limits=FAST, http=http) as (emulator, _):
        with anyio.fail_after(5):
            raw = await anyio.to_thread.run_sync(
                raw_exchange, emulator.runtime_api_address, request_bytes
            )
        status, _, body = parsed(raw)
        assert status == 408
        assert body["errorType"] == "RequestTimeout"
        assert part in body["errorMessage"]


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_only_blank_lines_are_answered_not_held_forever(http: str) -> None:
    # The blank lines a parser may skip before a request line begin no request: the
    # connection is still bounded (httptools: 408 at the header timeout; h11 refuses the bare
    # line feed at once, 400).
    async with served(limits=FAST, http=http) as (emulator, _):
        with anyio.fail_after(5):
            raw = await anyio.to_thread.run_sync(
                raw_exchange, invoke_address(emulator), b"\n\r\n\r\n"
            )
        status, _, body = parsed(raw)
        assert (status, body["errorType"]) in ((408, "RequestTimeout"), (400, "InvalidRequest"))


@pytest.mark.parametrize("http_parser", ["httptools", "h11"])
async def test_the_long_polls_are_not_bounded_by_the_read_limits(http_parser: str) -> None:
    async with (
        served(limits=FAST, timeout=1, http=http_parser) as (emulator, http),
        anyio.create_task_group() as tg,
    ):
        polled: list[httpx.Response] = []

        async def poll() -> None:
            polled.append(await http.get(f"{RUNTIME}/invocation/next"))

        tg.start_soon(partial(http.post, emulator.invoke_url, content=b"{}"))
        await until(lambda: emulator.env.runtime_client is not None)
        first = await http.get(f"{RUNTIME}/invocation/next")
        request_id = first.headers["lambda-runtime-aws-request-id"]
        await http.post(f"{RUNTIME}/invocation/{request_id}/response", content=b"{}")
        tg.start_soon(poll)
        await until(lambda: emulator.env.state == "Frozen")
        await anyio.sleep(1.0)  # parked for more than three read timeouts
        assert not polled
        tg.start_soon(partial(http.post, emulator.invoke_url, content=b'{"late": true}'))
        await until(lambda: bool(polled))
        assert polled[0].status_code == 200
        assert polled[0].content == b'{"late": true}'
        tg.cancel_scope.cancel()


# -- function names ------------------------------------------------------------------------------


ARN = "arn:aws:lambda:us-east-1:000000000000:function:fn"


def test_the_forms_of_a_function_name() -> None:
    names = FunctionNames.of(FunctionConfig(function_name="fn"))
    for name in ("fn", "function", "fn:$LATEST", "000000000000:function:fn", ARN, f"{ARN}:$LATEST"):
        assert names.lookup(name).found, name
    assert names.lookup("fn", b"Qualifier=%24LATEST").found
    for name in (
        "x:function",
        "fn:7",
        "fn:live",
        "other",
        "111111111111:function:fn",
        "arn:aws:lambda:eu-west-1:000000000000:function:fn",
        "function:fn",
        "fn/x",
        "",
    ):
        lookup = names.lookup(name)
        assert not lookup.found, name
        assert (lookup.status, lookup.error_type) == (404, "ResourceNotFoundException")
    assert names.lookup("x:function").message == (
        "Function not found: arn:aws:lambda:us-east-1:000000000000:function:x:function"
    )
    mismatch = names.lookup("fn:$LATEST", b"Qualifier=3")
    assert (mismatch.status, mismatch.error_type) == (400, "InvalidParameterValueException")
    published = FunctionNames.of(FunctionConfig(function_name="fn", function_version="3"))
    assert published.lookup("fn:3").found
    assert not published.lookup("fn:$LATEST").found


async def test_the_invoke_path_accepts_arns_and_refuses_loose_names() -> None:
    async with served() as (emulator, http):
        base = emulator.invoke_url.rsplit("/functions/", 1)[0] + "/functions"
        dry = {"X-Amz-Invocation-Type": "DryRun"}
        encoded = ARN.replace(":", "%3A") + "%3A%24LATEST"  # as the AWS SDKs send it
        for name in (f"{ARN}:$LATEST", encoded, "000000000000:function:fn"):
            answer = await http.post(f"{base}/{name}/invocations", content=b"{}", headers=dry)
            assert answer.status_code == 204, name
        for name in ("x:function", "fn:9", "arn:aws:lambda:us-east-1:000000000000:function:zz"):
            refused = await http.post(f"{base}/{name}/invocations", content=b"{}", headers=dry)
            assert json_error(refused) == (404, "ResourceNotFoundException")
            assert refused.json()["Type"] == "User"
            assert refused.headers["x-amzn-errortype"] == "ResourceNotFoundException"


# -- origins and hosts ---------------------------------------------------------------------------


def test_host_names() -> None:
    assert host_name("localhost:8080") == "localhost"
    assert host_name("[::1]:9001") == "::1"
    assert host_name("Example.COM") == "example.com"


async def test_cross_site_and_rebinding_requests_are_refused() -> None:
    async with served() as (emulator, http):
        dry = {"X-Amz-Invocation-Type": "DryRun"}
        page = await http.post(
            emulator.invoke_url, content=b"{}", headers={**dry, "Origin": "https://evil.example"}
        )
        assert json_error(page) == (403, "AccessDeniedException")
        rebound = await http.post(
            emulator.invoke_url, content=b"{}", headers={**dry, "Host": "evil.example:8080"}
        )
        assert json_error(rebound) == (403, "AccessDeniedException")
        runtime_side = await http.get(
            f"{RUNTIME}/invocation/next", headers={"Host": "evil.example:9001"}
        )
        assert json_error(runtime_side) == (403, "AccessDeniedException")
        for host in ("localhost:1234", "127.0.0.1", "[::1]:8080", "app.localhost"):
            fine = await http.post(
                emulator.invoke_url, content=b"{}", headers={**dry, "Host": host}
            )
            assert fine.status_code == 204, host
        assert emulator.env.state == "Uninitialized"


async def test_an_allowed_origin_gets_cors_answers() -> None:
    async with served(allow_origins=["http://app.test"]) as (emulator, http):
        origin = {"Origin": "http://app.test"}
        preflight = await http.options(
            emulator.invoke_url,
            headers={**origin, "Access-Control-Request-Headers": "content-type"},
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == "http://app.test"
        assert preflight.headers["access-control-allow-headers"] == "content-type"
        dry = await http.post(
            emulator.invoke_url,
            content=b"{}",
            headers={**origin, "X-Amz-Invocation-Type": "DryRun"},
        )
        assert dry.status_code == 204
        assert dry.headers["access-control-allow-origin"] == "http://app.test"
        other = await http.post(
            emulator.invoke_url, content=b"{}", headers={"Origin": "http://other.test"}
        )
        assert json_error(other) == (403, "AccessDeniedException")


# -- register with {"events": null} --------------------------------------------------------------


@pytest.mark.processes
async def test_an_internal_extension_may_register_with_null_events() -> None:
    script = FIXTURES / "runtimes" / "null_events.py"
    emulator = Emulator(
        ProcessRuntime([PYTHON, str(script)]),
        (),
        FunctionConfig(function_name="fn", timeout=5),
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
    )
    async with emulator, httpx.AsyncClient(timeout=20) as http:
        answer = await http.post(emulator.invoke_url, content=b'{"n": 1}')
    assert answer.status_code == 200
    assert "x-amz-function-error" not in answer.headers, answer.text
    body = answer.json()
    assert body["event"] == {"n": 1}
    assert body["registered"]["status"] == 200
    assert body["registered"]["body"]["functionName"] == "fn"


def test_serve_takes_allowed_origins() -> None:
    parser = argparse.ArgumentParser()
    configure_serve(parser)
    args = parser.parse_args(["--allow-origin", "http://a.test", "--allow-origin", "*"])
    assert args.allow_origin == ["http://a.test", "*"]
    assert parser.parse_args([]).allow_origin == []


# -- giving memory back --------------------------------------------------------------------------


async def test_a_large_body_is_followed_by_one_trim(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(memory, "_loaded", True)
    monkeypatch.setattr(memory, "_trim", calls.append)
    monkeypatch.setattr(memory, "_pending", None)
    memory.trim_soon()
    memory.trim_soon()  # a second large body before the trim: still one
    assert calls == []
    await anyio.sleep(0.2)
    assert calls == [0]


def test_the_allocator_can_be_trimmed_where_it_is_glibc() -> None:
    assert memory.trim_now() is (memory._malloc_trim() is not None)


# -- bodies are read up to their limit -----------------------------------------------------------


async def test_reading_stops_at_the_limit() -> None:
    chunks = [b"a" * 1000] * 50
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return {"type": "http.request", "body": chunks[calls - 1], "more_body": calls < 50}

    with pytest.raises(TooLarge):
        await read_body(receive, 2500)
    assert calls == 3  # not one chunk more
    calls = 0
    assert len(await read_body(receive)) == 50_000


async def test_a_streamed_oversized_response_is_refused_as_the_engine_refuses_it() -> None:
    async with served(timeout=1) as (emulator, http), anyio.create_task_group() as tg:
        answers: list[httpx.Response] = []

        async def call() -> None:
            answers.append(await http.post(emulator.invoke_url, content=b"{}"))

        tg.start_soon(call)
        await until(lambda: emulator.env.runtime_client is not None)
        nxt = await http.get(f"{RUNTIME}/invocation/next")
        request_id = nxt.headers["lambda-runtime-aws-request-id"]

        async def chunks() -> AsyncIterator[bytes]:  # 12.5 MiB, no Content-Length
            for _ in range(200):
                yield b"r" * 65536

        big = await http.post(f"{RUNTIME}/invocation/{request_id}/response", content=chunks())
        assert json_error(big) == (413, "Function.ResponseSizeTooLarge")
        await until(lambda: bool(answers))
        assert answers[0].json()["errorType"] == "Function.ResponseSizeTooLarge"
        tg.cancel_scope.cancel()


async def test_any_host_name_can_be_allowed() -> None:
    async with served(allow_hosts=["*"]) as (emulator, http):
        answer = await http.post(
            emulator.invoke_url,
            content=b"{}",
            headers={"Host": "build-box.lan:8080", "X-Amz-Invocation-Type": "DryRun"},
        )
        assert answer.status_code == 204
