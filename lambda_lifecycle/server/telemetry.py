"""The Telemetry API and the Logs API over HTTP: subscriptions from real extensions, batches
delivered by HTTP or TCP.

``PUT /2022-07-01/telemetry`` from an extension (its ``Lambda-Extension-Identifier``) becomes an
in-process subscription of :mod:`lambda_lifecycle.sinks.telemetry`, which owns AWS's buffering
rules (``maxItems``, ``maxBytes``, ``timeoutMs``, Init events held until the subscriber listens).
This module adds what is particular to real extensions:

- **Validation** of the request as the API validates it: ``schemaVersion`` (``2022-07-01``,
  ``2022-12-13``, ``2025-01-29``), ``destination`` (``protocol`` ``HTTP`` or ``TCP``, and a
  ``URI`` with a host and a port), ``types`` and ``buffering``. A bad body is answered 400
  ``ValidationError`` naming the field. A subscription is accepted during Init only, as on AWS
  (afterwards: 403 ``Telemetry.SubscriptionClosed``, this project's wording). Success is 200 ``OK``.
- **The Logs API** (``PUT /2020-08-15/logs``, the older API extensions in the wild still use)
  shares all of it: the same ``destination``, ``types`` and ``buffering`` rules and delivery,
  through :mod:`lambda_lifecycle.sinks.logs`. ``schemaVersion`` is optional (``2020-08-15``,
  or ``2021-03-18`` for ``platform.runtimeDone``); a bad body is answered 400
  ``Logs.ValidationError``, as AWS's documentation shows. An extension subscribes through one
  of the two APIs: subscribing through the other is refused (400), as AWS documents.
- **Delivery**: each batch (a JSON array of ``{time, type, record}`` events) is POSTed to the
  destination (``HTTP``), or written as newline-delimited JSON on a TCP connection (``TCP``).
  ``sandbox.localdomain``, the name extensions use on AWS, means ``127.0.0.1`` here. A failed
  delivery (no listener, a non-2xx status) is retried with backoff (0.1, 0.2, 0.4, 0.8 s), then
  the batch is dropped. Delivery is one batch at a time, in order. A subscriber that is frozen
  between invocations simply receives its batch when it is thawed, as on AWS.
- **Lifetime**: a subscription belongs to the extension's processes of one generation. When a
  Reset or a Shutdown begins, what it has buffered is delivered at once (the extension is still
  alive to read it, inside the shutdown budget); when the processes are torn down it ends, so
  the next Init's events go only to the subscription the new processes make.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import anyio

from ..core.errors import APIError
from ..formats.jsonlog import encode_json
from ..formats.logsapi import DEFAULT_SCHEMA_VERSION, LOGS_SCHEMA_VERSIONS, LogsSchemaVersion
from ..sinks.batch import TelemetryBatch
from ..sinks.logs import LogsSubscriber, subscribe_logs
from ..sinks.telemetry import TelemetrySubscriber, subscribe_telemetry

if TYPE_CHECKING:
    from ..engine.clients import ExtensionClient
    from ..engine.environment import Environment

SCHEMA_VERSIONS = ("2022-07-01", "2022-12-13", "2025-01-29")
PROTOCOLS = ("HTTP", "TCP")
SANDBOX_HOST = "sandbox.localdomain"
RETRY_DELAYS = (0.1, 0.2, 0.4, 0.8)
CLOSE_GRACE = 0.5  # seconds left to deliver what is buffered when the emulator closes

Spawn = Callable[[Callable[[], Coroutine[Any, Any, None]]], None]


def _invalid(message: str) -> APIError:
    return APIError("ValidationError", message, 400)


def local_host(host: str) -> str:
    """The address to reach ``host`` at from here (``sandbox.localdomain`` is this machine)."""
    return "127.0.0.1" if host.lower() == SANDBOX_HOST else host


def parse_destination(value: Any) -> tuple[str, str, int, str]:
    """``(protocol, host, port, url)`` of a request's ``destination``; ValidationError if bad."""
    if not isinstance(value, dict):
        raise _invalid(f"destination must be an object with protocol and URI, got {value!r}")
    protocol = value.get("protocol")
    if protocol not in PROTOCOLS:
        raise _invalid(f"destination.protocol must be HTTP or TCP, got {protocol!r}")
    uri = value.get("URI")
    if not isinstance(uri, str) or not uri:
        raise _invalid(f"destination.URI must be a URI string, got {uri!r}")
    parts = urlsplit(uri if "://" in uri else f"http://{uri}")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None:
        raise _invalid(f"destination.URI {uri!r} must name a host and a port")
    host = local_host(parts.hostname)
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    url = f"http://{host}:{port}{path}"
    return str(protocol), host, port, url


class TelemetryService:
    """The Telemetry API of one emulated environment (``RuntimeAPI``'s telemetry handler)."""

    def __init__(self, env: Environment, spawn: Spawn) -> None:
        self.env = env
        self._spawn = spawn
        self._subscriptions: dict[ExtensionClient, TelemetrySubscriber] = {}
        self.delivered_batches = 0
        self.dropped_batches = 0

    def subscribe(self, extension: ExtensionClient, body: bytes, api: str) -> tuple[int, Any]:
        """Validate and start a subscription through ``api`` (``telemetry`` or ``logs``);
        returns the HTTP status and the body."""
        if api != "logs":
            return self._subscribe(extension, body, "telemetry")
        try:
            return self._subscribe(extension, body, "logs")
        except APIError as exc:  # the Logs API names its errors after itself
            if exc.error_type == "ValidationError":
                raise APIError("Logs.ValidationError", exc.message, exc.status) from None
            if exc.error_type.startswith("Telemetry."):
                name = exc.error_type.removeprefix("Telemetry.")
                raise APIError(f"Logs.{name}", exc.message, exc.status) from None
            raise

    def _subscribe(self, extension: ExtensionClient, body: bytes, api: str) -> tuple[int, Any]:
        try:
            request = json.loads(body)
        except ValueError as exc:
            raise _invalid(f"the body is not JSON: {exc}") from None
        if not isinstance(request, dict):
            raise _invalid("the body must be a JSON object")
        versions = LOGS_SCHEMA_VERSIONS if api == "logs" else SCHEMA_VERSIONS
        default = DEFAULT_SCHEMA_VERSION if api == "logs" else None
        version = request.get("schemaVersion", default)
        if version not in versions:
            raise _invalid(f"schemaVersion must be one of {', '.join(versions)}, got {version!r}")
        protocol, host, port, url = parse_destination(request.get("destination"))
        if "types" not in request:
            raise _invalid("types is required: a list drawn from platform, function, extension")
        env = self.env
        if env.state != "Init" or extension.generation != env.generation:
            raise APIError(
                "Telemetry.SubscriptionClosed",
                "an extension subscribes to the Telemetry API during Init only",
                403,
            )
        self.sweep()
        previous = self._subscriptions.get(extension)
        if previous is not None and isinstance(previous, LogsSubscriber) != (api == "logs"):
            other = "Logs" if api == "telemetry" else "Telemetry"
            raise _invalid(f"extension {extension.name!r} is subscribed through the {other} API")
        deliver = self._http(url) if protocol == "HTTP" else self._tcp(host, port)
        subscriber: TelemetrySubscriber
        if api == "logs":
            subscriber = subscribe_logs(
                env,
                request["types"],
                request.get("buffering"),
                deliver=deliver.send,
                name=extension.name,
                schema_version=cast(LogsSchemaVersion, version),
                generation_bound=True,
            )
        else:
            subscriber = subscribe_telemetry(
                env,
                request["types"],
                request.get("buffering"),
                deliver=deliver.send,
                name=extension.name,
                generation_bound=True,
            )
        if previous is not None:  # subscribing again replaces the subscription
            previous.close()
        self._subscriptions[extension] = subscriber
        self._spawn(lambda: self._listen(subscriber, deliver))
        return 200, b"OK"

    def sweep(self) -> None:
        """End the subscriptions of processes a Reset tore down."""
        generation = self.env.generation
        for client in [c for c in self._subscriptions if c.generation != generation]:
            self._subscriptions.pop(client).close()

    def close(self) -> None:
        """End every subscription (the emulator is closing)."""
        for subscriber in self._subscriptions.values():
            subscriber.close()
        self._subscriptions.clear()

    async def _listen(self, subscriber: TelemetrySubscriber, deliver: _Delivery) -> None:
        try:
            with anyio.CancelScope() as scope:
                async with subscriber:
                    await subscriber.wait_closed()
                    # Leaving delivers what is buffered; the extension may be gone: bound it.
                    scope.deadline = anyio.current_time() + CLOSE_GRACE
        finally:
            self.delivered_batches += deliver.delivered
            self.dropped_batches += deliver.dropped
            with anyio.CancelScope(shield=True):
                await deliver.aclose()

    def _http(self, url: str) -> _Delivery:
        return _HTTPDelivery(url)

    def _tcp(self, host: str, port: int) -> _Delivery:
        return _TCPDelivery(host, port)


class _Delivery:
    """One subscription's destination: sends batches with retries and backoff."""

    delivered = 0
    dropped = 0

    async def send(self, batch: TelemetryBatch) -> None:
        """Deliver ``batch``, retrying with backoff; drop it when every try failed."""
        body = batch.json
        for delay in (*RETRY_DELAYS, None):
            try:
                if await self._send_once(body, batch):
                    self.delivered += 1
                    return
            except Exception as exc:
                if not isinstance(exc, (OSError, anyio.BrokenResourceError, *self._errors())):
                    raise
                await self._reset()
            if delay is None:
                break
            await anyio.sleep(delay)
        self.dropped += 1

    async def _send_once(self, body: bytes, batch: TelemetryBatch) -> bool:
        raise NotImplementedError

    def _errors(self) -> tuple[type[Exception], ...]:
        """The errors of a failed try, besides :class:`OSError`."""
        return ()

    async def _reset(self) -> None:
        """Forget a broken connection."""

    async def aclose(self) -> None:
        """Release the connection."""


class _HTTPDelivery(_Delivery):
    def __init__(self, url: str) -> None:
        import httpx  # noqa: PLC0415 (20 ms of imports, paid only by telemetry subscribers)

        self.url = url
        self._httpx = httpx
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(None, connect=2.0))

    def _errors(self) -> tuple[type[Exception], ...]:
        return (self._httpx.HTTPError,)

    async def _send_once(self, body: bytes, batch: TelemetryBatch) -> bool:
        response = await self._client.post(
            self.url, content=body, headers={"content-type": "application/json"}
        )
        return response.is_success

    async def aclose(self) -> None:
        await self._client.aclose()


class _TCPDelivery(_Delivery):
    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._stream: anyio.abc.SocketStream | None = None

    async def _send_once(self, body: bytes, batch: TelemetryBatch) -> bool:
        if self._stream is None:
            self._stream = await anyio.connect_tcp(self.host, self.port)
        lines = b"".join(encode_json(e) + b"\n" for e in batch)
        await self._stream.send(lines)
        return True

    async def _reset(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            await stream.aclose()

    async def aclose(self) -> None:
        await self._reset()
