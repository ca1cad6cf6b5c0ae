"""The Runtime API and the Extensions API, as the method calls a participant makes.

A :class:`RuntimeClient` is what ``http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/...`` is
to a real runtime; an :class:`ExtensionClient` is ``/2020-01-01/extension/...`` for one extension.
In-process participants call them directly; an HTTP front end maps each route onto the same
method, and each refusal onto the :class:`~lambda_lifecycle.core.errors.APIError`'s status and
JSON body. Only API errors ever leave these methods.

The clients decide nothing about the lifecycle: each call asks the environment's core
(:class:`~lambda_lifecycle.core.environment.EnvironmentCore`, through the :class:`Environment`)
whether it is allowed and what it changes, and keeps only what belongs to the participant
itself: its long poll (at most one pending ``next``, and the events handed to it), its SIGTERM
handler, and (the runtime) the invocation it holds. The invocation's own rules are the Runtime
API's: an answer for a request id other than the current invocation's is refused (400), a
second answer is refused (403), a response over 6,291,556 bytes is refused (413) and the caller
receives ``Function.ResponseSizeTooLarge``.

A streamed response (``Lambda-Runtime-Function-Response-Mode: streaming``) is
:meth:`RuntimeClient.begin_stream`, the chunks going to the caller on the front end's side,
then :meth:`RuntimeClient.end_stream` (with the error of its trailers, if any) or
:meth:`RuntimeClient.stream_too_large`; while it runs, ``error`` is refused (403).

A client belongs to one *generation* of processes: after a Reset, the clients of the torn-down
processes refuse every call.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import anyio

from ..core.environment import RUNTIME
from ..core.errors import APIError
from ..core.payloads import MAX_RESPONSE_BYTES, error_body, response_too_large
from .waiters import Waiter

if TYPE_CHECKING:
    from .environment import Environment
    from .invocation import Invocation


@dataclass(slots=True)
class RuntimeEvent:
    """An invocation as the runtime receives it from ``GET /runtime/invocation/next``.

    (Not frozen only because a frozen dataclass is slower to build, on the invoke path.)
    """

    request_id: str
    payload: bytes
    content_type: str
    deadline_ms: int
    invoked_function_arn: str
    trace_id: str
    client_context: str | None
    cognito_identity: str | None

    def headers(self) -> dict[str, str]:
        """The ``Lambda-Runtime-*`` response headers of ``/next``."""
        headers = {
            "Lambda-Runtime-Aws-Request-Id": self.request_id,
            "Lambda-Runtime-Deadline-Ms": str(self.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.invoked_function_arn,
            "Lambda-Runtime-Trace-Id": self.trace_id,
            "Content-Type": self.content_type,
        }
        if self.client_context is not None:
            headers["Lambda-Runtime-Client-Context"] = self.client_context
        if self.cognito_identity is not None:
            headers["Lambda-Runtime-Cognito-Identity"] = self.cognito_identity
        return headers

    def json(self) -> Any:
        """The payload decoded as JSON."""
        return json.loads(self.payload)


def _refuse(message: str) -> APIError:
    return APIError("InvalidStateTransition", message, 403)


class LongPoll:
    """A participant's long poll: at most one pending ``next``, and the events handed to it."""

    __slots__ = ("_new_waiter", "_parked", "_queued")

    def __init__(self, new_waiter: Callable[[], Waiter]) -> None:
        self._new_waiter = new_waiter
        self._parked: Waiter | None = None
        self._queued: list[Any] = []

    @property
    def parked(self) -> bool:
        """Whether a ``next`` is waiting."""
        return self._parked is not None

    def hand(self, event: Any) -> None:
        """Give ``event`` to the pending ``next``, or keep it for the coming one."""
        self._queued.append(event)
        if self._parked is not None:
            self._parked.set()

    async def take(self) -> Any:
        """Wait for the next event handed over (at once when one is queued)."""
        queued = self._queued
        if not queued:
            parked = self._parked = self._new_waiter()
            try:
                await parked.wait()
            finally:
                self._parked = None
        return queued.pop(0)


class _Client:
    """What both API clients share: their environment, generation, long poll and SIGTERM."""

    __slots__ = ("_env", "_generation", "_poll", "_sigterm")

    def __init__(self, env: Environment, generation: int) -> None:
        self._env = env
        self._generation = generation
        self._poll = LongPoll(env.new_waiter)
        self._sigterm: Callable[[], None] | None = None

    @property
    def generation(self) -> int:
        """The generation of processes this client belongs to."""
        return self._generation

    @property
    def parked(self) -> bool:
        """Whether the participant is waiting in ``next``."""
        return self._poll.parked

    def on_sigterm(self, handler: Callable[[], None]) -> None:
        """Install a SIGTERM handler (without one, SIGTERM ends the participant)."""
        self._sigterm = handler

    def mark_unique(self, value: object, label: str = "") -> None:
        """Tell SnapStart's uniqueness guard that ``value`` (made during Init: a random id, a
        seed, a token) must be unique to each environment. Not part of the Runtime or
        Extensions API: an embedder's tool (see :mod:`lambda_lifecycle.engine.uniqueness`)."""
        self._env.mark_unique(self._generation, label, value)

    def deliver_sigterm(self) -> bool:
        """Run the SIGTERM handler; False when none is installed (default action)."""
        if self._sigterm is None:
            return False
        self._sigterm()
        return True


class RuntimeClient(_Client):
    """The Runtime API of one environment, for the runtime of one generation of processes."""

    __slots__ = ("_restore", "_streaming", "invocation")

    def __init__(self, env: Environment, generation: int) -> None:
        super().__init__(env, generation)
        self._restore: anyio.Event | None = None
        self._streaming: str | None = None  # the request id whose response is being streamed
        self.invocation: Invocation | None = None

    # -- for the engine ---------------------------------------------------------------------
    @property
    def waiting_for_restore(self) -> bool:
        """Whether the runtime is waiting in ``restore/next``."""
        return self._restore is not None

    def deliver(self, invocation: Invocation, event: RuntimeEvent) -> None:
        """Hand an invocation to the runtime's ``next``."""
        self.invocation = invocation
        self._poll.hand(event)

    def hold_for_restore(self) -> None:
        """The runtime of an environment made from a snapshot: it starts as the snapshot holds
        it, waiting in ``restore/next`` (:meth:`restored` is its side of the wait)."""
        if self._restore is None:
            self._restore = anyio.Event()

    def resume_from_snapshot(self) -> None:
        """Release ``restore/next``: the environment has been restored."""
        if self._restore is not None:
            self._restore.set()

    # -- the API ------------------------------------------------------------------------------
    async def next(self) -> RuntimeEvent:
        """``GET /runtime/invocation/next``: finish the current event and wait for the next.

        Refused while the current invocation has no answer, or while a ``next`` is pending.
        During a Reset or a Shutdown the call is held until the runtime is stopped.
        """
        env = self._env
        core = env.core
        if self._generation != core.generation:
            core.check_generation(self._generation, RUNTIME)  # raises
        if self._poll.parked or self._restore is not None:
            raise _refuse("a next request is already pending")
        inv = self.invocation
        if inv is not None:
            if inv.result is None:
                raise _refuse(
                    f"invocation {inv.request_id} has no answer yet: "
                    "post its response or error before asking for the next one"
                )
            self.invocation = None
        row = core.runtime_next()
        if row is not None:
            env.phase_completed(row)
        event: RuntimeEvent = await self._poll.take()
        return event

    def respond(self, request_id: str, body: bytes, content_type: str = "application/json") -> None:
        """``POST /runtime/invocation/{id}/response``."""
        inv = self._answerable(request_id)
        env = self._env
        if len(body) > MAX_RESPONSE_BYTES:
            env.answer_platform_error(inv, response_too_large(len(body)), "error")
            raise APIError(
                "Function.ResponseSizeTooLarge",
                f"response of {len(body)} bytes exceeds the limit of {MAX_RESPONSE_BYTES} bytes",
                413,
            )
        env.answer(inv, body, content_type, None)

    def error(
        self,
        request_id: str,
        error: dict[str, Any],
        error_type: str | None = None,
    ) -> None:
        """``POST /runtime/invocation/{id}/error`` with the error JSON.

        ``error_type`` is the ``Lambda-Runtime-Function-Error-Type`` header; Lambda accepts any
        ``errorType``.
        """
        inv = self._answerable(request_id)
        if self._streaming == request_id:
            raise _refuse(
                f"the response of invocation {request_id} is being streamed: "
                "a streamed response reports its error in its trailers"
            )
        self._answer_error(inv, error, error_type)

    def _answer_error(
        self,
        inv: Invocation,
        error: dict[str, Any],
        error_type: str | None,
        produced: int | None = None,
    ) -> None:
        payload = _error_payload(error, error_type, "Unhandled")
        body = json.dumps(payload, separators=(",", ":")).encode()
        self._env.answer(inv, body, "application/json", payload, produced)

    # -- response streaming (``Lambda-Runtime-Function-Response-Mode: streaming``) -----------
    def begin_stream(self, request_id: str) -> None:
        """A streamed ``/response`` for ``request_id`` begins: checked as any answer is, and
        from now on ``/error`` is refused for it (its error comes in the stream's trailers)."""
        inv = self._answerable(request_id)
        if self._streaming == request_id:
            raise _refuse(f"the response of invocation {request_id} is already being streamed")
        self._streaming = request_id
        inv.stream_began(self._env.clock.now())

    def end_stream(
        self,
        request_id: str,
        body: bytes = b"",
        content_type: str = "application/octet-stream",
        *,
        error: dict[str, Any] | None = None,
        error_type: str | None = None,
        streamed: int | None = None,
    ) -> None:
        """The streamed response ended: with the bytes not already forwarded to the caller
        (``body``), or with the error of its trailers (a function error, as Lambda takes it).
        ``streamed`` is the size of the whole stream (``platform.runtimeDone``'s
        ``producedBytes``; by default ``len(body)``, for a stream nobody forwarded)."""
        inv = self._answerable(request_id)
        self._streaming = None
        if error is not None:
            self._answer_error(inv, error, error_type, streamed)
        else:
            self._env.answer(inv, body, content_type, None, streamed)

    def stream_too_large(self, request_id: str, limit: int) -> None:
        """The streamed response went past its ``limit`` (bytes): the caller gets
        ``Function.ResponseSizeTooLarge``."""
        inv = self._answerable(request_id)
        self._streaming = None
        error = error_body(
            "Function.ResponseSizeTooLarge",
            f"Response payload size exceeded maximum allowed payload size ({limit} bytes).",
        )
        self._env.answer_platform_error(inv, error, "error")

    def init_error(self, error: dict[str, Any], error_type: str | None = None) -> None:
        """``POST /runtime/init/error``: Init failed; the environment is reset.

        Refused once the runtime has called ``next`` (its Init is over).
        """
        env = self._env
        env.core.check_generation(self._generation, RUNTIME)
        env.route_failure(env.core.runtime_init_error(), _error_payload(error, error_type))

    async def restore_next(self) -> None:
        """``GET /runtime/restore/next``: end a SnapStart Init and wait until restored."""
        env = self._env
        env.core.check_generation(self._generation, RUNTIME)
        if self._restore is not None or self._poll.parked:
            raise _refuse("a next request is already pending")
        row = env.core.runtime_restore_next()  # refuses outside a SnapStart Init
        restored = self._restore = anyio.Event()
        try:
            env.phase_completed(row)
            await restored.wait()
        finally:
            self._restore = None

    async def restored(self) -> None:
        """For a runtime resumed from a snapshot: wait where the snapshot left it, in
        ``restore/next``, until the Restore phase releases it (returns at once otherwise)."""
        held = self._restore
        if held is None:
            return
        try:
            await held.wait()
        finally:
            if self._restore is held:
                self._restore = None

    def restore_error(self, error: dict[str, Any], error_type: str | None = None) -> None:
        """``POST /runtime/restore/error``: an after-restore hook failed."""
        env = self._env
        env.core.check_generation(self._generation, RUNTIME)
        env.route_failure(env.core.runtime_restore_error(), _error_payload(error, error_type))

    def _answerable(self, request_id: str) -> Invocation:
        core = self._env.core
        if self._generation != core.generation:
            core.check_generation(self._generation, RUNTIME)  # raises
        inv = self.invocation
        if inv is None or inv.request_id != request_id:
            raise APIError(
                "InvalidRequestID", f"{request_id!r} is not the current invocation's id", 400
            )
        if inv.result is not None:
            raise _refuse(f"invocation {request_id} has already been answered")
        return inv


def _error_payload(
    error: dict[str, Any], error_type: str | None, default: str = "Runtime.Unknown"
) -> dict[str, Any]:
    payload = dict(error)
    payload.setdefault("errorType", error_type or default)
    payload.setdefault("errorMessage", "")
    return payload


class ExtensionClient(_Client):
    """The Extensions API of one environment, for one extension of one generation."""

    __slots__ = ("id", "kind", "name")

    def __init__(
        self,
        env: Environment,
        generation: int,
        name: str,
        kind: Literal["internal", "external"],
    ) -> None:
        super().__init__(env, generation)
        self.name = name
        self.kind: Literal["internal", "external"] = kind
        self.id: str | None = None

    # -- for the engine ---------------------------------------------------------------------
    def deliver(self, event: dict[str, Any]) -> None:
        """Hand an INVOKE or SHUTDOWN event to the extension's ``next``."""
        self._poll.hand(event)

    def _registered(self) -> str:
        self._env.core.check_generation(self._generation, self.name)
        if self.id is None:
            raise APIError(
                "Extension.InvalidExtensionState", f"extension {self.name!r} has not registered"
            )
        return self.id

    # -- the API ------------------------------------------------------------------------------
    def register(self, events: Iterable[str]) -> dict[str, str]:
        """``POST /extension/register``: subscribe to INVOKE and/or SHUTDOWN during Init.

        Returns the response body; the identifier is then :attr:`id`.
        """
        env = self._env
        env.core.check_generation(self._generation, self.name)
        if self.id is not None:
            raise APIError(
                "Extension.InvalidExtensionState", f"extension {self.name!r} is already registered"
            )
        self.id = env.register(self, list(events))
        config = env.config
        return {
            "functionName": config.function_name,
            "functionVersion": config.function_version,
            "handler": config.handler,
        }

    async def next(self) -> dict[str, Any]:
        """``GET /extension/event/next``: finish the current event and wait for the next.

        During a Reset or a Shutdown the call returns SHUTDOWN (to an extension registered for
        it) when the platform sends it, and is otherwise held until the extension is stopped.
        """
        env = self._env
        ext_id = self.id
        if ext_id is None or self._generation != env.core.generation:
            ext_id = self._registered()  # raises the right error
        if self._poll.parked:
            raise APIError("Extension.InvalidExtensionState", "a next request is already pending")
        env.extension_next(ext_id)
        event: dict[str, Any] = await self._poll.take()
        if event["eventType"] == "SHUTDOWN":
            env.core.shutdown_received(ext_id)
        return event

    def init_error(self, error_type: str) -> None:
        """``POST /extension/init/error``: the extension failed to initialize."""
        self._registered()
        env = self._env
        error = {"errorType": error_type, "errorMessage": f"extension {self.name}"}
        env.route_failure(env.core.extension_init_error(), error)

    def exit_error(self, error_type: str) -> None:
        """``POST /extension/exit/error``: the extension hit an unexpected failure."""
        self._registered()
        self._env.extension_failed(self.name, error_type)
