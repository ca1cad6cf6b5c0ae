"""A bounded fuzz of every route: malformed requests never get a 5xx, and the emulator survives.

Hypothesis writes requests on raw sockets (so they can be anything: bad request lines, odd or
huge headers, wrong methods, unknown paths, bad ids, bodies that are not JSON or nest thousands
of levels deep) to the Runtime, Extensions and Telemetry APIs and to the invoke endpoint of one
emulator, started once for the module and warmed by a first invocation (so the environment is
frozen, as it mostly is). Every answer must be below 500 and, when it is an error, a JSON body
``{"errorMessage", "errorType"}``; afterwards the emulator still answers a normal invoke
correctly. Real time; the number of examples is bounded (a few hundred requests in all). The
long polls (``GET .../next``) are left out: they park by design.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lambda_lifecycle.core.config import FunctionConfig
from lambda_lifecycle.engine.clients import RuntimeClient
from lambda_lifecycle.engine.inprocess import InProcessRuntime
from lambda_lifecycle.server import Emulator
from lambda_lifecycle.server.limits import Limits

pytestmark = pytest.mark.processes  # a real server, real time

STATUSES: Counter[int] = Counter()
FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


async def echo(client: RuntimeClient) -> None:
    while True:
        event = await client.next()
        client.respond(event.request_id, b'{"echo": %s}' % (event.payload or b"null"))


class Server:
    """An emulator served from its own thread and event loop."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.stop: asyncio.Event | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.api = ""
        self.invoke = ""
        self.path = ""
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.stop = asyncio.Event()
        emulator = Emulator(
            InProcessRuntime(echo),
            (),
            FunctionConfig(function_name="fn", timeout=3),
            runtime_api=("127.0.0.1", 0),
            invoke=("127.0.0.1", 0),
            limits=Limits(header_timeout=1.0, body_timeout=1.0),
        )
        async with emulator:
            self.api = emulator.runtime_api_address
            self.invoke = emulator.invoke_url.split("/")[2]
            self.path = "/" + emulator.invoke_url.split("/", 3)[3]
            self.ready.set()
            await self.stop.wait()

    def close(self) -> None:
        assert self.loop is not None
        assert self.stop is not None
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=15)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    running = Server()
    running.thread.start()
    assert running.ready.wait(timeout=15)
    status, _, body = exchange(running.invoke, request("POST", running.path, b'{"warm": 1}'))
    assert (status, json.loads(body)) == (200, {"echo": {"warm": 1}})
    yield running
    running.close()


def request(
    method: str, path: str, body: bytes = b"", headers: list[tuple[bytes, bytes]] | None = None
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1".encode("latin-1"), b"Host: 127.0.0.1"]
    lines += [name + b": " + value for name, value in headers or []]
    lines += [b"Content-Length: %d" % len(body), b"Connection: close", b"", b""]
    return b"\r\n".join(lines) + body


def exchange(address: str, data: bytes) -> tuple[int, dict[bytes, bytes], bytes]:
    """Send ``data``, read the answer to its end; (status, headers, body)."""
    host, port = address.rsplit(":", 1)
    # Longer than the emulator's 10 s header timeout: a request that never completes its head
    # (say, only blank lines, which HTTP lets a server skip) is answered 408 then, not never.
    with socket.create_connection((host, int(port)), timeout=20) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # refused early
            sock.sendall(data)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def check(status: int, headers: dict[bytes, bytes], body: bytes, method: str) -> None:
    STATUSES[status] += 1
    assert status < 500, (status, body[:300])
    if status >= 400 and method != "HEAD":
        assert headers[b"content-type"] == b"application/json"
        error = json.loads(body)
        assert isinstance(error["errorMessage"], str)
        assert isinstance(error["errorType"], str)


# -- strategies --------------------------------------------------------------------------------

ids = st.one_of(
    st.uuids().map(str),
    st.text(alphabet="abcdefABCDEF0123456789-_.~%", min_size=0, max_size=80),
    st.just("x" * 3000),
)
methods = st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1, max_size=12),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.just(b""),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda v: json.dumps({"events": v}).encode(), json_values),
    st.integers(min_value=50, max_value=5000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(min_value=50, max_value=3000).map(lambda n: b'{"a":' * n + b"1" + b"}" * n),
    st.binary(max_size=300),
)
header_names = st.sampled_from(
    [
        b"Lambda-Extension-Name",
        b"Lambda-Extension-Identifier",
        b"Lambda-Extension-Function-Error-Type",
        b"Lambda-Runtime-Function-Error-Type",
        b"Lambda-Extension-Accept-Feature",
        b"Content-Type",
        b"X-Amz-Invocation-Type",
        b"X-Amz-Client-Context",
        b"X-Amzn-Trace-Id",
        b"X-Odd",
    ]
)
header_values = st.one_of(
    st.binary(max_size=60).map(lambda b: bytes(c for c in b if 32 <= c < 127)),
    st.uuids().map(lambda u: str(u).encode()),
    st.sampled_from([b"Event", b"DryRun", b"RequestResponse", b"Later", b"accountId"]),
    st.integers(min_value=16_000, max_value=40_000).map(lambda n: b"h" * n),
    json_values.map(lambda v: base64.b64encode(json.dumps(v).encode())),
)
headers = st.lists(st.tuples(header_names, header_values), max_size=4)

RUNTIME_ROUTES = [
    "/2018-06-01/runtime/invocation/{id}/response",
    "/2018-06-01/runtime/invocation/{id}/error",
    "/2018-06-01/runtime/invocation/{id}/other",
    "/2018-06-01/runtime/invocation/next",
    "/2018-06-01/runtime/init/error",
    "/2018-06-01/runtime/restore/next",
    "/2018-06-01/runtime/restore/error",
    "/2018-06-01/runtime/{id}",
    "/2020-01-01/extension/register",
    "/2020-01-01/extension/event/next",
    "/2020-01-01/extension/init/error",
    "/2020-01-01/extension/exit/error",
    "/2020-01-01/extension/{id}",
    "/2022-07-01/telemetry",
    "/2020-08-15/logs",
    "/{id}",
]
PARKING = {
    ("GET", "/2018-06-01/runtime/invocation/next"),
    ("GET", "/2018-06-01/runtime/restore/next"),
    ("HEAD", "/2018-06-01/runtime/invocation/next"),
    ("HEAD", "/2018-06-01/runtime/restore/next"),
}
INVOKE_NAMES = [
    "function",
    "fn",
    "fn:$LATEST",
    "fn:1",
    "x:function",
    "%66unction",
    "000000000000:function:fn",
    "arn:aws:lambda:us-east-1:000000000000:function:fn",
    "arn:aws:lambda:us-east-1:000000000000:function:other:$LATEST",
    "{id}",
]


@FUZZ
@given(
    route=st.sampled_from(RUNTIME_ROUTES),
    request_id=ids,
    method=methods,
    body=bodies,
    extra=headers,
)
def test_the_runtime_extensions_and_telemetry_apis(
    server: Server, route: str, request_id: str, method: str, body: bytes, extra: Any
) -> None:
    path = route.replace("{id}", request_id)
    if (method, path) in PARKING:
        method = "POST"
    status, answer_headers, answer = exchange(server.api, request(method, path, body, extra))
    check(status, answer_headers, answer, method)


@FUZZ
@given(
    name=st.sampled_from(INVOKE_NAMES),
    name_id=ids,
    method=st.one_of(st.just("POST"), methods),
    body=bodies,
    extra=headers,
    origin=st.sampled_from([None, b"https://evil.example", b"null"]),
)
def test_the_invoke_endpoint(
    server: Server,
    name: str,
    name_id: str,
    method: str,
    body: bytes,
    extra: Any,
    origin: bytes | None,
) -> None:
    path = f"/2015-03-31/functions/{name.replace('{id}', name_id)}/invocations"
    if origin is not None:
        extra = [*extra, (b"Origin", origin)]
    status, answer_headers, answer = exchange(server.invoke, request(method, path, body, extra))
    check(status, answer_headers, answer, method)


@settings(max_examples=60, deadline=None, database=None)
@given(
    garbage=st.one_of(
        st.binary(min_size=1, max_size=200).map(lambda b: b + b"\r\n\r\n"),
        st.builds(
            lambda m, p: m.encode() + b" " + p + b" HTTP/1.1\r\nHost: x\r\n\r\n",
            methods,
            st.binary(min_size=1, max_size=50).map(lambda b: b.replace(b" ", b"")),
        ),
        st.just(b"GET / HTTP/9.9\r\n\r\n"),
        st.just(b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"),
        st.just(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
    ),
    api=st.booleans(),
)
def test_requests_that_are_not_http(server: Server, garbage: bytes, api: bool) -> None:
    address = server.api if api else server.invoke
    try:
        status, answer_headers, answer = exchange(address, garbage)
    except (IndexError, ValueError):  # closed without an answer: not an error either
        STATUSES[0] += 1
        return
    check(status, answer_headers, answer, "GET")


def test_the_emulator_survives_and_still_invokes_correctly(server: Server) -> None:
    status, _, body = exchange(server.invoke, request("POST", server.path, b'{"after": [1, 2]}'))
    assert (status, json.loads(body)) == (200, {"echo": {"after": [1, 2]}})
    print(f"\nfuzz: {sum(STATUSES.values())} requests, statuses {sorted(STATUSES.items())}")
