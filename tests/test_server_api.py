"""The emulator's HTTP APIs at the protocol level: routes, headers, and AWS's refusals.

The runtime here is an in-process placeholder that never calls the API itself: the test plays
the runtime (and the extensions) over real HTTP with httpx, so every request and every refusal
is visible. Real time, ephemeral ports, no subprocess.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import anyio
import httpx
import pytest
from anyio.abc import TaskGroup

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.clients import ExtensionClient, RuntimeClient
from lambda_lifecycle.engine.environment import Environment
from lambda_lifecycle.engine.inprocess import InProcessExtension, InProcessRuntime
from lambda_lifecycle.server import Emulator, InvokeAPI, RuntimeAPI
from lambda_lifecycle.server.sockets import split_address
from lambda_lifecycle.server.telemetry import parse_destination
from tests.fixtures.helpers import until

RUNTIME = "/2018-06-01/runtime"
EXTENSION = "/2020-01-01/extension"


async def idle(client: RuntimeClient) -> None:
    """A runtime process that leaves the Runtime API to the test."""
    await anyio.sleep_forever()


@asynccontextmanager
async def puppet(**config: Any) -> AsyncIterator[tuple[Emulator, httpx.AsyncClient]]:
    emulator = Emulator(
        InProcessRuntime(idle),
        (),
        FunctionConfig(function_name="fn", timeout=config.pop("timeout", 5), **config),
        runtime_api=("127.0.0.1", 0),
        invoke=("127.0.0.1", 0),
    )
    async with emulator:
        base = f"http://{emulator.runtime_api_address}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            yield emulator, http


class Caller:
    """An invoke made in the background, answered later."""

    def __init__(self, emulator: Emulator, http: httpx.AsyncClient) -> None:
        self.emulator = emulator
        self.http = http
        self.response: httpx.Response | None = None
        self.done = anyio.Event()

    async def run(self, body: bytes, headers: dict[str, str]) -> None:
        self.response = await self.http.post(
            self.emulator.invoke_url, content=body, headers=headers
        )
        self.done.set()

    async def start(self, tg: TaskGroup, body: bytes = b'{"x": 1}', **headers: str) -> None:
        """Invoke in the background; return once the runtime can call the Runtime API."""
        tg.start_soon(self.run, body, headers)
        await until(lambda: self.emulator.env.runtime_client is not None)

    async def result(self) -> httpx.Response:
        with anyio.fail_after(5):
            await self.done.wait()
        assert self.response is not None
        return self.response


async def finish_phase(emulator: Emulator, http: httpx.AsyncClient, tg: TaskGroup) -> None:
    """Play the runtime's next after its answer, so the phase ends; then stop playing."""
    tg.start_soon(http.get, f"{RUNTIME}/invocation/next")
    await until(lambda: emulator.env.state == "Frozen")
    tg.cancel_scope.cancel()


def error_of(response: httpx.Response) -> tuple[int, str]:
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if response.url.path.startswith("/2015-03-31/"):  # the Invoke API's own fields too
        assert set(body) == {"errorMessage", "errorType", "Type", "message"}
        assert response.headers["x-amzn-errortype"] == body["errorType"]
    else:
        assert set(body) == {"errorMessage", "errorType"}
    return response.status_code, body["errorType"]


# -- the Runtime API ---------------------------------------------------------------------------


async def test_next_response_and_the_refusals_of_answers() -> None:
    async with puppet() as (emulator, http), anyio.create_task_group() as tg:
        caller = Caller(emulator, http)
        await caller.start(tg, b'{"x": 1}', **{"X-Amzn-Trace-Id": "Root=1-abc;Sampled=1"})
        nxt = await http.get(f"{RUNTIME}/invocation/next")
        assert nxt.status_code == 200
        assert nxt.content == b'{"x": 1}'
        request_id = nxt.headers["lambda-runtime-aws-request-id"]
        assert nxt.headers["lambda-runtime-trace-id"] == "Root=1-abc;Sampled=1"
        assert nxt.headers["lambda-runtime-invoked-function-arn"].endswith(":function:fn")
        assert int(nxt.headers["lambda-runtime-deadline-ms"]) > 0
        assert nxt.headers["content-type"] == "application/json"
        assert "lambda-runtime-client-context" not in nxt.headers

        wrong = await http.post(f"{RUNTIME}/invocation/{uuid.uuid4()}/response", content=b"{}")
        assert error_of(wrong) == (400, "InvalidRequestID")
        pending = await http.get(f"{RUNTIME}/invocation/next")
        assert error_of(pending) == (403, "InvalidStateTransition")

        ok = await http.post(
            f"{RUNTIME}/invocation/{request_id}/response",
            content=b"plain words",
            headers={"content-type": "text/plain"},
        )
        assert (ok.status_code, ok.json()) == (202, {"status": "OK"})
        second = await http.post(f"{RUNTIME}/invocation/{request_id}/response", content=b"{}")
        assert error_of(second) == (403, "InvalidStateTransition")
        late_error = await http.post(f"{RUNTIME}/invocation/{request_id}/error", content=b"{}")
        assert error_of(late_error) == (403, "InvalidStateTransition")

        answer = await caller.result()
        assert answer.status_code == 200
        assert answer.content == b"plain words"
        assert answer.headers["content-type"] == "text/plain"  # the runtime's own
        assert answer.headers["x-amzn-requestid"] == request_id
        assert "x-amz-function-error" not in answer.headers
        init_error = await http.post(f"{RUNTIME}/init/error", content=b"{}")
        assert error_of(init_error) == (403, "InvalidStateTransition")
        await finish_phase(emulator, http, tg)


async def test_a_posted_error_reaches_the_caller_as_a_function_error() -> None:
    async with puppet() as (emulator, http), anyio.create_task_group() as tg:
        caller = Caller(emulator, http)
        await caller.start(tg)
        request_id = (await http.get(f"{RUNTIME}/invocation/next")).headers[
            "lambda-runtime-aws-request-id"
        ]
        error = {"errorMessage": "no", "errorType": "MyError", "stackTrace": ["a", "b"]}
        posted = await http.post(
            f"{RUNTIME}/invocation/{request_id}/error",
            content=json.dumps(error).encode(),
            headers={"Lambda-Runtime-Function-Error-Type": "MyError"},
        )
        assert posted.status_code == 202
        answer = await caller.result()
        assert answer.status_code == 200
        assert answer.headers["x-amz-function-error"] == "Unhandled"
        assert answer.json() == error

        caller = Caller(emulator, http)
        await caller.start(tg)
        request_id = (await http.get(f"{RUNTIME}/invocation/next")).headers[
            "lambda-runtime-aws-request-id"
        ]
        await http.post(
            f"{RUNTIME}/invocation/{request_id}/error",
            content=b"not json at all",
            headers={"Lambda-Runtime-Function-Error-Type": "Runtime.Weird"},
        )
        assert (await caller.result()).json() == {
            "errorMessage": "not json at all",
            "errorType": "Runtime.Weird",
        }
        await finish_phase(emulator, http, tg)


async def test_an_init_error_is_served_to_the_first_invoke_with_a_body() -> None:
    async with puppet() as (emulator, http), anyio.create_task_group() as tg:
        caller = Caller(emulator, http)
        await caller.start(tg)
        await until(lambda: emulator.env.state == "Init")
        posted = await http.post(
            f"{RUNTIME}/init/error",
            content=json.dumps({"errorMessage": "bad config", "errorType": "Oops"}).encode(),
        )
        assert posted.status_code == 202
        # The suppressed init retried at once: the new runtime fails the same way.
        await until(lambda: emulator.env.state == "Init" and emulator.env.generation == 2)
        await http.post(
            f"{RUNTIME}/init/error",
            content=json.dumps({"errorMessage": "bad config", "errorType": "Oops"}).encode(),
        )
        answer = await caller.result()
    assert answer.status_code == 200
    assert answer.headers["x-amz-function-error"] == "Unhandled"
    assert answer.json() == {"errorMessage": "bad config", "errorType": "Oops"}


async def test_unknown_routes_and_methods_answer_json() -> None:
    async with puppet() as (_, http):
        assert error_of(await http.get("/2018-06-01/runtime/nothing")) == (404, "NotFound")
        assert error_of(await http.get("/elsewhere")) == (404, "NotFound")
        assert error_of(await http.post(f"{RUNTIME}/invocation/next")) == (
            405,
            "MethodNotAllowed",
        )
        assert error_of(await http.get(f"{RUNTIME}/invocation/abc/response")) == (
            405,
            "MethodNotAllowed",
        )
        assert error_of(await http.get(f"{EXTENSION}/register")) == (405, "MethodNotAllowed")
        assert error_of(await http.get(f"{RUNTIME}/restore/next")) == (
            403,
            "InvalidStateTransition",
        )


# -- the Extensions API ------------------------------------------------------------------------


async def test_register_and_its_refusals() -> None:
    async with puppet() as (emulator, http), anyio.create_task_group() as tg:
        events = json.dumps({"events": ["INVOKE"]}).encode()
        missing = await http.post(f"{EXTENSION}/register", content=events)
        assert error_of(missing) == (403, "Extension.InvalidExtensionName")
        caller = Caller(emulator, http)
        await caller.start(tg)
        await until(lambda: emulator.env.state == "Init")

        name = {"Lambda-Extension-Name": "in-runtime"}
        bad = await http.post(f"{EXTENSION}/register", content=b"[]", headers=name)
        assert error_of(bad) == (403, "InvalidRequestFormat")
        not_json = await http.post(f"{EXTENSION}/register", content=b"{", headers=name)
        assert error_of(not_json) == (403, "InvalidRequestFormat")
        shutdown = json.dumps({"events": ["SHUTDOWN"]}).encode()
        internal = await http.post(f"{EXTENSION}/register", content=shutdown, headers=name)
        assert error_of(internal) == (403, "Extension.InvalidEventType")

        ok = await http.post(
            f"{EXTENSION}/register",
            content=events,
            headers={**name, "Lambda-Extension-Accept-Feature": "accountId"},
        )
        assert ok.status_code == 200
        ext_id = ok.headers["lambda-extension-identifier"]
        assert uuid.UUID(ext_id)
        assert ok.json() == {
            "functionName": "fn",
            "functionVersion": "$LATEST",
            "handler": emulator.config.handler,
            "accountId": emulator.config.account_id,
        }
        again = await http.post(f"{EXTENSION}/register", content=events, headers=name)
        assert error_of(again) == (403, "Extension.InvalidExtensionState")

        no_id = await http.get(f"{EXTENSION}/event/next")
        assert error_of(no_id) == (403, "Extension.MissingExtensionIdentifier")
        bad_id = await http.get(
            f"{EXTENSION}/event/next", headers={"Lambda-Extension-Identifier": "nope"}
        )
        assert error_of(bad_id) == (403, "Extension.InvalidExtensionIdentifier")
        unknown = await http.get(
            f"{EXTENSION}/event/next", headers={"Lambda-Extension-Identifier": str(uuid.uuid4())}
        )
        assert error_of(unknown) == (403, "Extension.UnknownExtensionIdentifier")
        identity = {"Lambda-Extension-Identifier": ext_id}
        no_type = await http.post(f"{EXTENSION}/init/error", headers=identity)
        assert error_of(no_type) == (403, "Extension.MissingHeader")

        # The extension and the runtime call next: Init ends, the invocation starts.
        extension_next: dict[str, httpx.Response] = {}

        async def wait_event() -> None:
            extension_next["r"] = await http.get(f"{EXTENSION}/event/next", headers=identity)

        tg.start_soon(wait_event)
        nxt = await http.get(f"{RUNTIME}/invocation/next")
        request_id = nxt.headers["lambda-runtime-aws-request-id"]
        await until(lambda: "r" in extension_next)
        invoke = extension_next["r"]
        assert invoke.status_code == 200
        assert uuid.UUID(invoke.headers["lambda-extension-event-identifier"])
        event = invoke.json()
        assert event["eventType"] == "INVOKE"
        assert event["requestId"] == request_id
        assert event["tracing"]["type"] == "X-Amzn-Trace-Id"

        late = await http.post(
            f"{EXTENSION}/register",
            content=events,
            headers={"Lambda-Extension-Name": "latecomer"},
        )
        assert error_of(late) == (403, "Extension.RegistrationClosed")
        await http.post(f"{RUNTIME}/invocation/{request_id}/response", content=b"{}")
        assert (await caller.result()).status_code == 200
        tg.start_soon(partial(http.get, f"{EXTENSION}/event/next", headers=identity))
        await finish_phase(emulator, http, tg)


# -- the Telemetry API -------------------------------------------------------------------------


def telemetry_request(**changes: Any) -> bytes:
    request: dict[str, Any] = {
        "schemaVersion": "2022-12-13",
        "types": ["platform"],
        "buffering": {"maxItems": 1000, "maxBytes": 262144, "timeoutMs": 100},
        "destination": {"protocol": "HTTP", "URI": "http://sandbox.localdomain:1234/t"},
    }
    request.update(changes)
    return json.dumps(request).encode()


async def test_telemetry_subscription_validation() -> None:
    async with puppet() as (emulator, http), anyio.create_task_group() as tg:
        caller = Caller(emulator, http)
        await caller.start(tg)
        await until(lambda: emulator.env.state == "Init")
        registered = await http.post(
            f"{EXTENSION}/register",
            content=b'{"events": []}',
            headers={"Lambda-Extension-Name": "otel"},
        )
        identity = {
            "Lambda-Extension-Identifier": registered.headers["lambda-extension-identifier"]
        }
        put = "/2022-07-01/telemetry"
        assert error_of(await http.put(put, content=telemetry_request())) == (
            403,
            "Extension.MissingExtensionIdentifier",
        )
        for bad in (
            telemetry_request(schemaVersion="2019-01-01"),
            telemetry_request(types=["platform", "nonsense"]),
            telemetry_request(buffering={"maxItems": 5}),
            telemetry_request(destination={"protocol": "UDP", "URI": "x"}),
            telemetry_request(destination={"protocol": "HTTP", "URI": "http://nohost"}),
            b"not json",
        ):
            assert error_of(await http.put(put, content=bad, headers=identity)) == (
                400,
                "ValidationError",
            )
        ok = await http.put(put, content=telemetry_request(), headers=identity)
        assert (ok.status_code, ok.text) == (200, "OK")

        # The extension's next (in the background) and the runtime's next end Init.
        tg.start_soon(partial(http.get, f"{EXTENSION}/event/next", headers=identity))
        nxt = await http.get(f"{RUNTIME}/invocation/next")
        late = await http.put(put, content=telemetry_request(), headers=identity)
        assert error_of(late) == (403, "Telemetry.SubscriptionClosed")
        request_id = nxt.headers["lambda-runtime-aws-request-id"]
        await http.post(f"{RUNTIME}/invocation/{request_id}/response", content=b"{}")
        await caller.result()
        await finish_phase(emulator, http, tg)


def test_destinations_map_the_sandbox_name_to_this_machine() -> None:
    assert parse_destination({"protocol": "HTTP", "URI": "http://sandbox.localdomain:4243/x"}) == (
        "HTTP",
        "127.0.0.1",
        4243,
        "http://127.0.0.1:4243/x",
    )
    assert parse_destination({"protocol": "TCP", "URI": "sandbox.localdomain:9999"})[1:3] == (
        "127.0.0.1",
        9999,
    )


def test_addresses() -> None:
    assert split_address("127.0.0.1:9001", 1) == ("127.0.0.1", 9001)
    assert split_address("0.0.0.0", 8080) == ("0.0.0.0", 8080)
    assert split_address(":9002", 1) == ("127.0.0.1", 9002)
    assert split_address("[::1]:9003", 1) == ("::1", 9003)
    with pytest.raises(ValueError, match="HOST:PORT"):
        split_address("localhost:http", 1)


# -- the invoke endpoint ---------------------------------------------------------------------


async def test_invoke_endpoint_routes_and_invocation_types() -> None:
    async with puppet(timeout=1) as (emulator, http):
        base = emulator.invoke_url.rsplit("/functions/", 1)[0]
        unknown = await http.post(f"{base}/functions/other/invocations", content=b"{}")
        assert error_of(unknown) == (404, "ResourceNotFoundException")
        wrong_method = await http.get(emulator.invoke_url)
        assert error_of(wrong_method) == (405, "MethodNotAllowed")
        dry = await http.post(
            f"{base}/functions/fn/invocations",
            content=b"{}",
            headers={"X-Amz-Invocation-Type": "DryRun"},
        )
        assert dry.status_code == 204
        odd = await http.post(
            emulator.invoke_url, content=b"{}", headers={"X-Amz-Invocation-Type": "Later"}
        )
        assert error_of(odd) == (400, "InvalidParameterValueException")
        queued = await http.post(
            emulator.invoke_url,
            content=b'{"async": true}',
            headers={"X-Amz-Invocation-Type": "Event"},
        )
        assert queued.status_code == 202
        nxt = await http.get(f"{RUNTIME}/invocation/next")
        assert nxt.content == b'{"async": true}'
        request_id = nxt.headers["lambda-runtime-aws-request-id"]
        accepted = await http.post(f"{RUNTIME}/invocation/{request_id}/response", content=b"{}")
        assert accepted.status_code == 202


async def test_the_apps_serve_without_a_server_too() -> None:
    async def runtime(client: RuntimeClient) -> None:
        while True:
            event = await client.next()
            client.respond(event.request_id, b'{"echo": %s}' % event.payload)

    async with Environment(InProcessRuntime(runtime)) as env:

        async def invoke(payload: bytes, **options: Any) -> Any:
            return await env.invoke(payload, **options)

        app = InvokeAPI(invoke, {"function"}, "$LATEST")
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
            response = await http.post(
                "/2015-03-31/functions/function/invocations", content=b'{"a": 1}'
            )
        assert response.json() == {"echo": {"a": 1}}
        api_transport = httpx.ASGITransport(app=RuntimeAPI(env))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=api_transport, base_url="http://x") as http:
            missing = await http.post(f"{EXTENSION}/register", content=b'{"events": []}')
        assert error_of(missing) == (403, "Extension.InvalidExtensionName")


# -- queuing -----------------------------------------------------------------------------------


async def test_an_invoke_right_after_an_answer_waits_for_the_extensions_and_gets_its_own() -> None:
    async def runtime(client: RuntimeClient) -> None:
        count = 0
        while True:
            event = await client.next()
            count += 1
            client.respond(event.request_id, b'{"count": %d}' % count)

    async def slow_extension(client: ExtensionClient) -> None:
        client.register(["INVOKE"])
        while True:
            await client.next()
            await anyio.sleep(0.1)  # works on after the runtime's answer

    emulator = Emulator(
        InProcessRuntime(runtime),
        [InProcessExtension(slow_extension, "slow")],
        runtime_api=("127.0.0.1", 0),
        invoke=None,
    )
    async with emulator:
        first = await emulator.invoke({})
        second = await emulator.invoke({})  # the first phase is still running here
        results: list[Any] = []

        async def one() -> None:
            results.append((await emulator.invoke({})).json())

        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            tg.start_soon(one)
    assert (first.json(), second.json()) == ({"count": 1}, {"count": 2})
    assert sorted(r["count"] for r in results) == [3, 4]


async def test_an_oversized_response_is_413_to_the_runtime() -> None:
    async with puppet() as (emulator, http), anyio.create_task_group() as tg:
        caller = Caller(emulator, http)
        await caller.start(tg)
        request_id = (await http.get(f"{RUNTIME}/invocation/next")).headers[
            "lambda-runtime-aws-request-id"
        ]
        big = await http.post(
            f"{RUNTIME}/invocation/{request_id}/response", content=b"x" * 6_291_557
        )
        assert error_of(big) == (413, "Function.ResponseSizeTooLarge")
        answer = await caller.result()
        assert answer.headers["x-amz-function-error"] == "Unhandled"
        assert answer.json()["errorType"] == "Function.ResponseSizeTooLarge"
        await finish_phase(emulator, http, tg)
