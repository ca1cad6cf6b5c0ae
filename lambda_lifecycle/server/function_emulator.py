"""A function served as Lambda serves it: a pool of environments behind one invoke endpoint.

:class:`FunctionEmulator` puts the engine's :class:`~lambda_lifecycle.engine.pool.Function` behind
the invoke endpoint. Every environment of the pool is an :class:`~.emulator.Emulator` of its own
with no invoke endpoint: its own runtime and extension processes (made afresh by the
``participants`` factory), its own ``/tmp``, and its own Runtime API on a port of its own on the
Runtime API host (``AWS_LAMBDA_RUNTIME_API`` tells its participants which), so a runtime and its
extensions only ever see their own environment. Concurrent invocations run at once, each in an
environment of its own; over ``reserved_concurrency`` busy environments the endpoint answers 429
``TooManyRequestsException`` (:mod:`.throttle`).

The CloudWatch lines of all environments go to one ``log``; they are told apart by log stream
as on Lambda: JSON records carry a ``logStream`` key, and text lines start with the log stream
when ``prefix_streams`` is on (off by default, so that one environment's output reads as the AWS
emulator's).

Leaving the block closes the invoke endpoint, then spins every environment down at once (each
under its own Shutdown budget, while its Runtime API still answers).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from types import TracebackType
from typing import IO, Any

import anyio
from anyio.abc import TaskGroup

from ..core.config import FunctionConfig
from ..engine.environment import Environment
from ..engine.invocation import InvokeResult
from ..engine.participant import ExtensionParticipant, RuntimeParticipant
from ..engine.pool import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_LIFETIME,
    Function,
    PoolEvent,
)
from ..sinks.cloudwatch import LogFormat
from .async_invoke import AsyncOptions
from .emulator import DEFAULT_INVOKE, Emulator, LoopBatchedWriter, invoke_endpoint
from .http import Listener
from .limits import Limits
from .response_streams import ResponseStreams
from .sockets import bind, bound_address
from .tail import invoke_with_tail

DEFAULT_RESERVED_CONCURRENCY = 10
"""``serve``'s default: ten environments at once are plenty on a laptop (AWS's account quota
is 1,000)."""

Participants = Callable[[], tuple[RuntimeParticipant, Sequence[ExtensionParticipant]]]
"""Makes the participants of one new environment (fresh objects each time)."""


class FunctionEmulator:
    """A function behind the invoke endpoint, served by a pool of environments.

    ``participants`` makes each environment's runtime and extensions; ``runtime_api_host`` is
    where every environment's Runtime API listens (each on a free port). ``invoke`` is the
    invoke endpoint's ``(host, port)``, or a listening socket (from :func:`.sockets.bind`) that
    the emulator serves on and closes when it stops. ``reserved_concurrency``,
    ``provisioned_concurrency``, ``idle_timeout`` and ``max_lifetime`` are
    :class:`~lambda_lifecycle.engine.pool.Function`'s; ``on_event`` receives its
    :class:`~lambda_lifecycle.engine.pool.PoolEvent` s. The other arguments are
    :class:`~.emulator.Emulator`'s, for every environment.
    """

    def __init__(
        self,
        participants: Participants,
        config: FunctionConfig | None = None,
        *,
        invoke: tuple[str, int] | socket.socket = DEFAULT_INVOKE,
        runtime_api_host: str = "127.0.0.1",
        reserved_concurrency: int = DEFAULT_RESERVED_CONCURRENCY,
        provisioned_concurrency: int = 0,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_lifetime: float | None = DEFAULT_MAX_LIFETIME,
        variables: dict[str, str] | None = None,
        freeze: bool = True,
        tmp_root: str | os.PathLike[str] | None = None,
        telemetry: bool = True,
        http: str = "httptools",
        log: IO[str] | None = None,
        log_format: LogFormat = "text",
        prefix_streams: bool = False,
        on_event: Callable[[PoolEvent], None] | None = None,
        allow_origins: Sequence[str] = (),
        allow_hosts: Sequence[str] = (),
        limits: Limits | None = None,
        async_options: AsyncOptions | None = None,
        stream_bandwidth: float | None = None,
    ) -> None:
        self.config = config or FunctionConfig()
        self._allow_origins = tuple(allow_origins)
        invoke_host = bound_address(invoke)[0] if isinstance(invoke, socket.socket) else invoke[0]
        self._allow_hosts = (*allow_hosts, runtime_api_host, invoke_host)
        self._limits = limits or Limits()
        self.async_options = async_options or AsyncOptions()
        # One registry of streamed responses for every environment: the streaming invoke route
        # finds a response by its request id, whichever environment's runtime sends it.
        self._streams = ResponseStreams(stream_bandwidth)
        self.function = Function(
            self._environment,
            self.config,
            reserved_concurrency=reserved_concurrency,
            provisioned_concurrency=provisioned_concurrency,
            idle_timeout=idle_timeout,
            max_lifetime=max_lifetime,
        )
        if on_event is not None:
            self.function.listen(on_event)
        self._participants = participants
        self._invoke_at = invoke
        self._api_host = runtime_api_host
        self._variables = dict(variables or {})
        self._freeze = freeze
        self._tmp_root = tmp_root
        self._telemetry = telemetry
        self._http = http
        self._log_format: LogFormat = log_format
        self._prefix = prefix_streams
        self._writer = LoopBatchedWriter(log) if log is not None else None
        self._listener: Listener | None = None
        self._tg: TaskGroup | None = None
        self.invoke_url = ""
        self.runtime_api_address = f"{runtime_api_host}:*"
        """Where the Runtime APIs listen: the host, and a port per environment."""

    async def __aenter__(self) -> FunctionEmulator:
        at = self._invoke_at
        sock = at if isinstance(at, socket.socket) else bind(*at)
        host, port = bound_address(sock)
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        self.invoke_url = f"http://{host}:{port}/2015-03-31/functions/function/invocations"
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        try:
            await self.function.__aenter__()  # the provisioned environments' Init, if any
            self._listener = invoke_endpoint(
                sock,
                self.config,
                invoke=self.invoke,
                tail=self.invoke_with_tail,
                spawn=self._spawn,
                async_line=self._async_line,
                async_options=self.async_options,
                streams=self._streams,
                allow_origins=self._allow_origins,
                allow_hosts=self._allow_hosts,
                http=self._http,
                limits=self._limits,
            )
            await self._listener.start()
        except BaseException:
            sock.close()
            await self._close(failed=True)
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close(failed=exc_type is not None)

    async def _close(self, *, failed: bool) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()  # no new invocations
        try:
            if failed:
                await self.function.__aexit__(RuntimeError, RuntimeError("emulator failed"), None)
            else:
                await self.function.__aexit__(None, None, None)
        finally:
            if listener is not None:
                with anyio.CancelScope(shield=True):
                    await listener.wait_closed()
            if self._writer is not None:
                self._writer.flush()
            tg, self._tg = self._tg, None
            if tg is not None:
                tg.cancel_scope.cancel()
                await tg.__aexit__(None, None, None)

    def _spawn(self, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._tg is not None:
            self._tg.start_soon(job)

    async def invoke(self, payload: bytes | str | Any = b"", **options: Any) -> InvokeResult:
        """Invoke the function in one of its environments (see :meth:`Function.invoke`)."""
        return await self.function.invoke(payload, **options)

    async def invoke_with_tail(
        self, payload: bytes | str | Any = b"", **options: Any
    ) -> tuple[InvokeResult, str]:
        """:meth:`invoke`, returning also the base64 tail of the invocation's log, once its
        Invoke phase ended (``X-Amz-Log-Type: Tail``, :mod:`.tail`)."""
        log_format = self._log_format

        def use(env: Environment) -> Awaitable[tuple[InvokeResult, str]]:
            return invoke_with_tail(
                env, env.invoke, payload, log_format=log_format, **dict(options)
            )

        return await self.function.call(use, lambda outcome: outcome[0])

    def _async_line(self, line: str) -> None:
        """An ``ASYNC`` line of :mod:`.async_invoke`, to the log (else stderr)."""
        if self._writer is not None:
            self._writer(line)
        else:
            print(line, file=sys.stderr, flush=True)

    # --------------------------------------------------------------------- one environment --
    @asynccontextmanager
    async def _environment(self, config: FunctionConfig) -> AsyncIterator[Environment]:
        runtime, extensions = self._participants()
        holder: list[Environment] = []
        emulator = Emulator(
            runtime,
            extensions,
            config,
            runtime_api=(self._api_host, 0),
            invoke=None,
            variables=self._variables,
            freeze=self._freeze,
            tmp_root=self._tmp_root,
            telemetry=self._telemetry,
            http=self._http,
            log=self._log_for(holder) if self._writer is not None else None,
            log_format=self._log_format,
            allow_origins=self._allow_origins,
            allow_hosts=self._allow_hosts,
            limits=self._limits,
            streams=self._streams,
        )
        async with emulator:
            holder.append(emulator.env)
            yield emulator.env

    def _log_for(self, holder: list[Environment]) -> Callable[[str], None]:
        """Where one environment's CloudWatch lines go: the shared writer, with its stream."""
        writer = self._writer
        assert writer is not None
        stream = ""
        as_json = self._log_format == "json"
        prefix = self._prefix

        def write(line: str) -> None:
            nonlocal stream
            if not stream and holder:
                stream = self.function.log_stream(holder[0])
            if as_json and line.startswith("{") and stream:
                line = '{"logStream":' + json.dumps(stream) + "," + line[1:]
            elif prefix and stream:
                line = f"{stream} {line}"
            writer(line)

        return write


def stderr_events(event: PoolEvent) -> None:
    """Print a :class:`PoolEvent` on one line of stderr (``serve --show-environments``)."""
    env = event.environment_id[:12]
    kind = "provisioned" if event.provisioned else "on-demand"
    if event.type == "environment_started":
        text = f"environment {env} started ({kind}, log stream {event.log_stream})"
    elif event.type == "environment_gone":
        text = f"environment {env} shut down ({kind})"
    elif event.type == "invocation_routed":
        text = f"invocation to environment {env} ({'cold start' if event.cold else 'warm'})"
    else:
        text = "invocation throttled: every environment is busy (TooManyRequestsException)"
    print(f"lambda-lifecycle: {text}", file=sys.stderr, flush=True)
