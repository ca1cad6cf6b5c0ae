"""The Runtime API, the Extensions API and the Telemetry API over HTTP, as one ASGI app.

This is the address a real runtime and real extensions find in ``AWS_LAMBDA_RUNTIME_API``. Each
route maps onto one call of the engine's clients (:mod:`lambda_lifecycle.engine.clients`), which
hold every rule; a refusal (:class:`~lambda_lifecycle.core.errors.APIError`) becomes its status
and the JSON body ``{"errorMessage", "errorType"}``:

=========================================================  ====================================
``GET  /2018-06-01/runtime/invocation/next``               ``RuntimeClient.next`` (long poll)
``POST /2018-06-01/runtime/invocation/{id}/response``      ``respond`` (202, 400, 403, 413)
   (streamed: ``begin_stream`` ... ``end_stream``, :mod:`.streaming_runtime`)
``POST /2018-06-01/runtime/invocation/{id}/error``         ``error`` (202, 400, 403)
``POST /2018-06-01/runtime/init/error``                    ``init_error`` (202, 403)
``GET  /2018-06-01/runtime/restore/next``                  ``restore_next`` (200, 403)
``POST /2018-06-01/runtime/restore/error``                 ``restore_error`` (202, 403)
``POST /2020-01-01/extension/register``                    ``ExtensionClient.register`` (200)
``GET  /2020-01-01/extension/event/next``                  ``ExtensionClient.next`` (long poll)
``POST /2020-01-01/extension/init/error``                  ``init_error`` (202)
``POST /2020-01-01/extension/exit/error``                  ``exit_error`` (202)
``PUT  /2022-07-01/telemetry``                             a telemetry subscription (see below)
=========================================================  ====================================

The Extensions API checks its headers as AWS does: ``Lambda-Extension-Name`` to register
(``Extension.InvalidExtensionName`` when empty), ``Lambda-Extension-Identifier`` on every other
call (``Extension.MissingExtensionIdentifier``, ``Extension.InvalidExtensionIdentifier`` when it
is not a UUID, ``Extension.UnknownExtensionIdentifier``), ``Lambda-Extension-Function-Error-Type``
on the error calls (``Extension.MissingHeader``), and a register body that is not
``{"events": [...]}`` is ``InvalidRequestFormat``; all of them 403.

**Bodies** are read up to 6,291,556 bytes (a response over it is refused as the engine refuses
it, 413, without the rest being held), and their JSON may nest 64 levels: deeper is refused like
any body that is not JSON (an error post keeps it as text). ``{"events": null}`` registers an
extension for no events, as the AWS emulator takes it (aws-lambda-go's ``WithEnableSIGTERM``).

**Long polls.** A ``next`` stays parked until the engine hands it an event, possibly for as long
as the environment is frozen. A parked request whose processes a Reset tore down (their
connections are gone) is released the next time any ``next`` arrives, and every parked request
is released when the emulator closes (500, the Runtime API's "the runtime should exit").

**Telemetry.** ``PUT /2022-07-01/telemetry`` is handed to a :class:`TelemetryHandler` when the
emulator has one (it validates the body, subscribes, and delivers the batches by HTTP); without
one the API answers 202 ``Telemetry.NotSupported``, as the AWS emulator does.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import TYPE_CHECKING, Any, Protocol

from ..core.errors import APIError
from ..core.payloads import MAX_RESPONSE_BYTES
from .http import (
    ACCEPTED,
    JSON,
    Disconnected,
    Receive,
    Scope,
    Send,
    TooLarge,
    header,
    json_bytes,
    parse_json,
    read_body,
    respond,
    respond_error,
    respond_json,
)
from .streaming_runtime import RESPONSE_MODE, check_mode, receive_streamed

if TYPE_CHECKING:
    from ..engine.clients import ExtensionClient, RuntimeClient
    from ..engine.environment import Environment
    from .response_streams import ResponseStreams

RUNTIME = "/2018-06-01/runtime/"
INVOCATION = "/2018-06-01/runtime/invocation/"
NEXT = "/2018-06-01/runtime/invocation/next"
EXTENSION = "/2020-01-01/extension/"
TELEMETRY = "/2022-07-01/telemetry"
LOGS = "/2020-08-15/logs"

ERROR_TYPE = b"lambda-runtime-function-error-type"
EXTENSION_NAME = b"lambda-extension-name"
EXTENSION_ID = b"lambda-extension-identifier"
EXTENSION_ERROR_TYPE = b"lambda-extension-function-error-type"
ACCEPT_FEATURE = b"lambda-extension-accept-feature"

_JSON_CONTENT = (b"content-type", JSON)

MAX_BODY_BYTES = MAX_RESPONSE_BYTES
"""The largest body the API reads (a response, an error, a register or telemetry body)."""


class TelemetryHandler(Protocol):
    """What serves ``PUT /2022-07-01/telemetry`` (and the older Logs API)."""

    def subscribe(self, extension: ExtensionClient, body: bytes, api: str) -> tuple[int, Any]:
        """Subscribe ``extension``; returns the HTTP status and the body to answer."""
        ...

    def sweep(self) -> None:
        """End the subscriptions of processes a Reset tore down."""
        ...

    def close(self) -> None:
        """End every subscription."""
        ...


def _parse_error(body: bytes, error_type: bytes | None) -> dict[str, Any]:
    """The error JSON a runtime posted (any body is accepted, as Lambda accepts any)."""
    try:
        payload = parse_json(body) if body else {}
    except ValueError:  # not JSON, or absurdly nested: kept as text
        payload = None
    if not isinstance(payload, dict):
        text = body.decode("utf-8", errors="replace")
        payload = {"errorMessage": text, "errorType": _text(error_type) or "Unhandled"}
    return payload


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


class _Parked:
    """The long polls waiting in ``next``: each can be released from outside.

    A parked request is its asyncio task (the front end runs on asyncio, under uvicorn):
    releasing it cancels the task, and :meth:`RuntimeAPI._park` turns that cancellation, and
    only that one, into "released". Cheaper than a cancel scope per ``next``, on the invoke path.
    """

    __slots__ = ("released", "tasks")

    def __init__(self) -> None:
        self.tasks: dict[asyncio.Task[Any], RuntimeClient | ExtensionClient] = {}
        self.released: set[asyncio.Task[Any]] = set()

    def release(self, task: asyncio.Task[Any]) -> None:
        if task not in self.released:
            self.released.add(task)
            task.cancel()

    def sweep(self, generation: int) -> None:
        """Release the polls of processes a Reset tore down."""
        for task, client in list(self.tasks.items()):
            if client.generation != generation:
                self.release(task)

    def release_all(self) -> None:
        for task in list(self.tasks):
            self.release(task)


class RuntimeAPI:
    """The ASGI app of ``AWS_LAMBDA_RUNTIME_API`` for one environment."""

    def __init__(
        self,
        env: Environment,
        telemetry: TelemetryHandler | None = None,
        streams: ResponseStreams | None = None,
    ) -> None:
        self.env = env
        self.telemetry = telemetry
        self.streams = streams  # where streamed responses go on to their callers
        self._parked = _Parked()
        self.closed = False

    def close(self) -> None:
        """Release every parked long poll (the emulator is closing)."""
        self.closed = True
        self._parked.release_all()
        if self.telemetry is not None:
            self.telemetry.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            if path == NEXT:
                if method != "GET":
                    await _not_allowed(send, method, path)
                else:
                    await self._next(send)
            elif path.startswith(INVOCATION):
                await self._invocation(path, method, scope, receive, send)
            elif path.startswith(RUNTIME):
                await self._runtime(path, method, scope, receive, send)
            elif path.startswith(EXTENSION):
                await self._extension(path, method, scope, receive, send)
            elif path in (TELEMETRY, LOGS):
                await self._telemetry(path, method, scope, receive, send)
            else:
                await respond_error(send, 404, "NotFound", f"no such route: {method} {path}")
        except APIError as exc:
            await respond_error(send, exc.status, exc.error_type, exc.message)
        except TooLarge as exc:
            await respond_error(send, 413, "RequestEntityTooLarge", str(exc))
        except Disconnected:
            return

    # -- the Runtime API --------------------------------------------------------------------------
    def _runtime_client(self) -> RuntimeClient:
        client = self.env.runtime_client
        if client is None or self.closed:
            raise APIError("InvalidStateTransition", "no runtime is running in the environment")
        return client

    async def _next(self, send: Send) -> None:
        client = self._runtime_client()
        event = await self._park(client, client.next())
        if event is None:
            await respond_error(send, 500, "Runtime.Exit", "the environment is going away")
            return
        headers = [
            (b"content-type", event.content_type.encode()),
            (b"content-length", b"%d" % len(event.payload)),
            (b"lambda-runtime-aws-request-id", event.request_id.encode()),
            (b"lambda-runtime-deadline-ms", b"%d" % event.deadline_ms),
            (b"lambda-runtime-invoked-function-arn", event.invoked_function_arn.encode()),
            (b"lambda-runtime-trace-id", event.trace_id.encode()),
        ]
        if event.client_context is not None:
            headers.append((b"lambda-runtime-client-context", event.client_context.encode()))
        if event.cognito_identity is not None:
            headers.append((b"lambda-runtime-cognito-identity", event.cognito_identity.encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": event.payload})

    async def _park(self, client: RuntimeClient | ExtensionClient, poll: Any) -> Any:
        """Await a long poll that :meth:`close` (or a Reset) can release; None when released."""
        parked = self._parked
        tasks = parked.tasks
        if tasks:
            parked.sweep(self.env.generation)
        task = asyncio.current_task()
        assert task is not None
        tasks[task] = client
        try:
            return await poll
        except asyncio.CancelledError:
            if task not in parked.released:
                raise
            parked.released.discard(task)
            task.uncancel()
            return None
        finally:
            del tasks[task]

    async def _invocation(
        self, path: str, method: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        request_id, _, action = path[len(INVOCATION) :].partition("/")
        if action not in ("response", "error") or not request_id or "/" in action:
            await respond_error(send, 404, "NotFound", f"no such route: {method} {path}")
            return
        if method != "POST":
            await _not_allowed(send, method, path)
            return
        client = self._runtime_client()
        if action == "response":
            mode = header(scope, RESPONSE_MODE)
            if mode is not None:
                check_mode(mode)
                await receive_streamed(
                    self.streams, client, request_id, scope=scope, receive=receive, send=send
                )
                return
        try:
            body = await read_body(receive, MAX_BODY_BYTES)
        except TooLarge:
            # Stands for the oversized answer, which is not kept (zero-filled by calloc: no page
            # is touched); the engine refuses it as it refuses any response over the limit.
            body = bytes(MAX_BODY_BYTES + 1)
        if action == "response":
            content_type = header(scope, b"content-type")
            client.respond(
                request_id,
                body,
                "application/json" if content_type is None else content_type.decode("latin-1"),
            )
        else:
            if len(body) > MAX_BODY_BYTES:
                raise TooLarge(MAX_BODY_BYTES)
            error_type = header(scope, ERROR_TYPE)
            client.error(request_id, _parse_error(body, error_type), _text(error_type))
        await respond(send, 202, ACCEPTED)

    async def _runtime(
        self, path: str, method: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        route = path[len(RUNTIME) :]
        expected = {"init/error": "POST", "restore/next": "GET", "restore/error": "POST"}
        if route not in expected:
            await respond_error(send, 404, "NotFound", f"no such route: {method} {path}")
            return
        if method != expected[route]:
            await _not_allowed(send, method, path)
            return
        client = self._runtime_client()
        if route == "restore/next":
            released = await self._park(client, _restored(client))
            if released is None:
                await respond_error(send, 500, "Runtime.Exit", "the environment is going away")
            else:
                await respond(send, 200, b"")
            return
        body = await read_body(receive, MAX_BODY_BYTES)
        error_type = header(scope, ERROR_TYPE)
        error = _parse_error(body, error_type)
        if route == "init/error":
            client.init_error(error, _text(error_type))
        else:
            client.restore_error(error, _text(error_type))
        await respond(send, 202, ACCEPTED)

    # -- the Extensions API -----------------------------------------------------------------------
    def _extension_client(self, scope: Scope) -> ExtensionClient:
        value = header(scope, EXTENSION_ID)
        if not value:
            raise APIError(
                "Extension.MissingExtensionIdentifier", "Missing Lambda-Extension-Identifier header"
            )
        text = value.decode("latin-1")
        try:
            uuid.UUID(text)
        except ValueError:
            raise APIError(
                "Extension.InvalidExtensionIdentifier", "Invalid Lambda-Extension-Identifier"
            ) from None
        client = self.env.extension_client_by_id(text)
        if client is None or self.closed:
            raise APIError(
                "Extension.UnknownExtensionIdentifier", "Unknown Lambda-Extension-Identifier"
            )
        return client

    async def _extension(
        self, path: str, method: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        route = path[len(EXTENSION) :]
        expected = {
            "register": "POST",
            "event/next": "GET",
            "init/error": "POST",
            "exit/error": "POST",
        }
        if route not in expected:
            await respond_error(send, 404, "NotFound", f"no such route: {method} {path}")
            return
        if method != expected[route]:
            await _not_allowed(send, method, path)
            return
        if route == "register":
            await self._register(scope, receive, send)
            return
        client = self._extension_client(scope)
        if route == "event/next":
            event = await self._park(client, client.next())
            if event is None:
                await respond_error(send, 500, "Extension.Exit", "the environment is going away")
                return
            event_id = str(uuid.uuid4()).encode()
            await respond(
                send,
                200,
                json_bytes(event),
                JSON,
                [(b"lambda-extension-event-identifier", event_id)],
            )
            return
        error_type = header(scope, EXTENSION_ERROR_TYPE)
        if not error_type:
            raise APIError(
                "Extension.MissingHeader", "Lambda-Extension-Function-Error-Type not found"
            )
        await read_body(receive, MAX_BODY_BYTES)  # the optional error JSON: not kept
        if route == "init/error":
            client.init_error(error_type.decode("latin-1"))
        else:
            client.exit_error(error_type.decode("latin-1"))
        await respond(send, 202, ACCEPTED)

    async def _register(self, scope: Scope, receive: Receive, send: Send) -> None:
        name = header(scope, EXTENSION_NAME)
        if not name:
            raise APIError("Extension.InvalidExtensionName", "Empty extension name")
        body = await read_body(receive, MAX_BODY_BYTES)
        try:
            request = parse_json(body)
        except ValueError as exc:
            raise APIError("InvalidRequestFormat", f"the body is not JSON: {exc}") from None
        events = request.get("events") if isinstance(request, dict) else None
        if events is None and isinstance(request, dict) and "events" in request:
            events = []  # {"events": null} is none, as aws-lambda-go's internal extensions send
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            raise APIError(
                "InvalidRequestFormat", 'the body must be {"events": [...]} with event names'
            )
        if self.closed:
            raise APIError("Extension.RegistrationClosed", "the environment is going away")
        client = self.env.extension_client(name.decode("latin-1"))
        if self.telemetry is not None:
            self.telemetry.sweep()
        response: dict[str, Any] = dict(client.register(events))
        feature = header(scope, ACCEPT_FEATURE)
        if feature is not None and b"accountId" in feature:
            response["accountId"] = self.env.config.account_id
        assert client.id is not None
        await respond_json(
            send, 200, response, [(b"lambda-extension-identifier", client.id.encode())]
        )

    # -- the Telemetry API ------------------------------------------------------------------------
    async def _telemetry(
        self, path: str, method: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if method != "PUT":
            await _not_allowed(send, method, path)
            return
        client = self._extension_client(scope)
        body = await read_body(receive, MAX_BODY_BYTES)
        api = "telemetry" if path == TELEMETRY else "logs"
        if self.telemetry is None:
            await respond_error(
                send, 202, f"{api.title()}.NotSupported", f"the {api} API is not supported here"
            )
            return
        try:
            parse_json(body)  # bounded nesting, before the handler decodes it
        except ValueError as exc:
            raise APIError("ValidationError", f"the body is not JSON: {exc}", 400) from None
        status, answer = self.telemetry.subscribe(client, body, api)
        if isinstance(answer, (bytes, str)):
            payload = answer.encode() if isinstance(answer, str) else answer
            await respond(send, status, payload, JSON)
        else:
            await respond_json(send, status, answer)


async def _restored(client: RuntimeClient) -> bool:
    await client.restore_next()
    return True


async def _not_allowed(send: Send, method: str, path: str) -> None:
    await respond_error(send, 405, "MethodNotAllowed", f"{method} is not allowed on {path}")
