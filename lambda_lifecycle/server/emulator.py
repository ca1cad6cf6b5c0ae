"""The local emulator: one execution environment behind real HTTP APIs.

:class:`Emulator` binds two sockets, builds an :class:`~lambda_lifecycle.engine.environment.
Environment` whose participants find the first one in ``AWS_LAMBDA_RUNTIME_API``, and serves:

- on the **Runtime API address** (127.0.0.1:9001 by default) the Runtime, Extensions and
  Telemetry APIs (:class:`~.runtime_api.RuntimeAPI`), which real runtimes and extensions call;
- on the **invoke address** (port 8080 by default) the invoke endpoint
  (:class:`~.invoke_api.InvokeAPI`), which callers use as they would the AWS emulator's.

Everything runs on the caller's event loop (asyncio: uvicorn's protocols are asyncio
protocols). Use it as an async context manager; leaving the block closes the invoke endpoint,
shuts the environment down with reason ``spindown`` (SHUTDOWN to the extensions, the Shutdown
budgets) while the Runtime API still answers, then closes the Runtime API. Leaving it through an
exception kills every process at once.

Invocations are serialised by a lock (:meth:`Emulator.invoke`): one environment serves one
invocation at a time, so a second concurrent request waits for the first instead of failing.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from types import TracebackType
from typing import IO, Any

import anyio
from anyio.abc import TaskGroup

from ..core.config import FunctionConfig
from ..engine.environment import Environment
from ..engine.invocation import InvokeResult
from ..engine.participant import ExtensionParticipant, RuntimeParticipant
from ..processes import Output, ProcessExtension, ProcessRuntime
from ..sinks import LogSink, attach_log_sink, log_extension_line, log_function_line
from ..sinks.cloudwatch import Destination, LogFormat
from .async_invoke import AsyncInvoker, AsyncOptions
from .guard import Guard
from .http import Listener
from .invoke_api import InvokeAPI, aws_error
from .limits import Limits
from .names import FunctionNames
from .response_streams import ResponseStreams
from .runtime_api import RuntimeAPI
from .sockets import bind, bound_address
from .streaming_api import StreamingAPI, with_streaming
from .tail import TailInvoke, invoke_with_tail
from .telemetry import TelemetryService

DEFAULT_RUNTIME_API = ("127.0.0.1", 9001)
DEFAULT_INVOKE = ("127.0.0.1", 8080)


class Emulator:
    """An environment served over HTTP: the drop-in local Lambda emulator.

    ``runtime_api`` and ``invoke`` are ``(host, port)`` pairs (port 0: any free port; read the
    real ones from :attr:`runtime_api_address` and :attr:`invoke_url`). ``variables`` are extra
    environment variables for every participant (``AWS_LAMBDA_RUNTIME_API`` is added).
    ``telemetry`` serves the Telemetry API (False: ``Telemetry.NotSupported``); ``http`` picks
    uvicorn's protocol (``httptools``, or ``h11``). ``log`` is where the environment's CloudWatch
    lines go (a stream, a path or a callable; ``log_format`` ``text`` or ``json``), None for none.

    Both listeners refuse browsers' cross-site requests and DNS rebinding (:mod:`.guard`):
    ``allow_origins`` lists the ``Origin`` values allowed (``*``: any), ``allow_hosts`` the
    ``Host`` names allowed beside IP addresses, ``localhost`` and the names bound to (``*``: any
    name, for a listener reached by name from other machines).
    ``limits`` bounds how requests are read (:class:`~.limits.Limits`).
    ``async_options`` says how ``Event`` invocations are retried (:mod:`.async_invoke`); their
    ``ASYNC`` lines go to the log (a callable or stream ``log``), else to stderr.
    ``stream_bandwidth`` caps a streamed response past its first 6 MB (bytes per second; None:
    full speed; Lambda's is 2 MB/s, :data:`~.response_streams.AWS_BANDWIDTH`).

    The output lines of :class:`~lambda_lifecycle.processes.ProcessRuntime` and
    :class:`~lambda_lifecycle.processes.ProcessExtension` participants are routed to the
    environment's sinks (the log, the Telemetry API's ``function`` and ``extension`` streams),
    then to the participant's own ``output`` callback; without one, and without a log, to stdout.
    """

    def __init__(
        self,
        runtime: RuntimeParticipant,
        extensions: Sequence[ExtensionParticipant] = (),
        config: FunctionConfig | None = None,
        *,
        runtime_api: tuple[str, int] = DEFAULT_RUNTIME_API,
        invoke: tuple[str, int] | None = DEFAULT_INVOKE,
        variables: dict[str, str] | None = None,
        freeze: bool = True,
        tmp_root: str | os.PathLike[str] | None = None,
        telemetry: bool = True,
        http: str = "httptools",
        log: Destination | None = None,
        log_format: LogFormat = "text",
        allow_origins: Sequence[str] = (),
        allow_hosts: Sequence[str] = (),
        limits: Limits | None = None,
        async_options: AsyncOptions | None = None,
        stream_bandwidth: float | None = None,
        streams: ResponseStreams | None = None,
    ) -> None:
        self.config = config or FunctionConfig()
        self._runtime = runtime
        self._extensions = tuple(extensions)
        self._runtime_api_at = runtime_api
        self._invoke_at = invoke
        self._variables = dict(variables or {})
        self._freeze = freeze
        self._tmp_root = tmp_root
        self._telemetry = telemetry
        self._http = http
        self._log = log
        self._log_format: LogFormat = log_format
        self._allow_origins = tuple(allow_origins)
        self._allow_hosts = (*allow_hosts, runtime_api[0], *(invoke[:1] if invoke else ()))
        self._limits = limits or Limits()
        self.async_options = async_options or AsyncOptions()
        self._streams = streams or ResponseStreams(stream_bandwidth)
        self._log_sink: LogSink | None = None
        self._batched: _LoopBatchedWriter | None = None
        self._outputs: list[tuple[ProcessRuntime | ProcessExtension, Output | None]] = []
        # asyncio's lock: taking it free costs no trip through the event loop (anyio's does).
        self._lock = asyncio.Lock()
        self._env: Environment | None = None
        self._entered = False
        self._api: RuntimeAPI | None = None
        self._listeners: list[Listener] = []
        self._tg: TaskGroup | None = None
        self.runtime_api_address = ""
        self.invoke_url = ""

    @property
    def env(self) -> Environment:
        """The environment (once entered)."""
        if self._env is None:
            raise RuntimeError("the emulator has not been entered")
        return self._env

    async def __aenter__(self) -> Emulator:
        api_sock = bind(*self._runtime_api_at)
        try:
            invoke_sock = bind(*self._invoke_at) if self._invoke_at is not None else None
        except BaseException:
            api_sock.close()
            raise
        host, port = bound_address(api_sock)
        self.runtime_api_address = f"{host}:{port}"
        if invoke_sock is not None:
            invoke_host, invoke_port = bound_address(invoke_sock)
            if invoke_host in ("0.0.0.0", "::"):
                invoke_host = "127.0.0.1"
            self.invoke_url = (
                f"http://{invoke_host}:{invoke_port}/2015-03-31/functions/function/invocations"
            )
        try:
            await self._start(api_sock, invoke_sock)
        except BaseException:
            api_sock.close()
            if invoke_sock is not None:
                invoke_sock.close()
            await self._close(failed=True)
            raise
        return self

    async def _start(self, api_sock: socket.socket, invoke_sock: socket.socket | None) -> None:
        """Build the environment, enter it, start serving."""
        variables = {**self._variables, "AWS_LAMBDA_RUNTIME_API": self.runtime_api_address}
        env = Environment(
            self._runtime,
            self._extensions,
            self.config,
            variables=variables,
            freeze=self._freeze,
            tmp_root=self._tmp_root,
        )
        self._env = env
        if self._log is not None:
            log = self._log
            if not isinstance(log, (str, os.PathLike)) and not callable(log):  # a text stream
                self._batched = log = _LoopBatchedWriter(log)
            self._log_sink = attach_log_sink(env, log, log_format=self._log_format, live=True)
        self._route_output()
        telemetry = TelemetryService(env, self._spawn) if self._telemetry else None
        streams = self._streams
        self._api = RuntimeAPI(env, telemetry, streams)
        tg = anyio.create_task_group()
        await tg.__aenter__()
        self._tg = tg
        await env.__aenter__()
        self._entered = True
        api_app = Guard(
            self._api,
            allow_origins=self._allow_origins,
            allow_hosts=self._allow_hosts,
            service_error="ServiceException",
        )
        api_listener = Listener(api_app, api_sock, http=self._http, limits=self._limits)
        await api_listener.start()
        self._listeners.append(api_listener)
        if invoke_sock is not None:
            invoke_listener = invoke_endpoint(
                invoke_sock,
                self.config,
                invoke=self.invoke,
                tail=self.invoke_with_tail,
                spawn=self._spawn,
                async_line=self._async_line,
                async_options=self.async_options,
                streams=streams,
                allow_origins=self._allow_origins,
                allow_hosts=self._allow_hosts,
                http=self._http,
                limits=self._limits,
            )
            await invoke_listener.start()
            self._listeners.append(invoke_listener)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._close(failed=exc_type is not None)

    async def _close(self, *, failed: bool) -> None:
        """Close the invoke endpoint, shut the environment down, close the Runtime API."""
        listeners, self._listeners = self._listeners, []
        for listener in listeners[1:]:  # the invoke endpoint: no new invocations
            listener.close()
        try:
            env = self._env
            if env is not None and self._entered:
                self._entered = False
                # Not shielded: the environment's task group must exit in its own scope.
                if failed:
                    await env.__aexit__(RuntimeError, RuntimeError("emulator failed"), None)
                else:
                    await env.__aexit__(None, None, None)
        finally:
            if self._api is not None:
                self._api.close()
            for listener in listeners:
                listener.close()
            with anyio.CancelScope(shield=True):
                for listener in listeners:
                    await listener.wait_closed()
            self._restore_output()
            sink, self._log_sink = self._log_sink, None
            if sink is not None:
                sink.close()
            if self._batched is not None:
                self._batched.flush()
            tg, self._tg = self._tg, None
            if tg is not None:
                tg.cancel_scope.cancel()
                await tg.__aexit__(None, None, None)

    def _route_output(self) -> None:
        """Send the output lines of process participants to the environment's sinks too."""
        members: list[tuple[object, bool]] = [(self._runtime, False)]
        members += [(e, True) for e in self._extensions]
        for member, is_extension in members:
            if isinstance(member, (ProcessRuntime, ProcessExtension)):
                self._outputs.append((member, member.output))
                member.output = self._router(member.output, is_extension)

    def _router(self, original: Output | None, is_extension: bool) -> Output:
        log = log_extension_line if is_extension else log_function_line

        def output(name: str, line: str) -> None:
            env = self._env
            if env is not None:
                log(env, line)
            if original is not None:
                original(name, line)
            elif self._log_sink is None:  # nobody else shows it: where it would have gone
                sys.stdout.write(line + "\n")
                sys.stdout.flush()

        return output

    def _restore_output(self) -> None:
        for member, original in self._outputs:
            member.output = original
        self._outputs.clear()

    def _spawn(self, job: Callable[[], Coroutine[Any, Any, None]]) -> None:
        if self._tg is not None:
            self._tg.start_soon(job)

    async def init(self) -> None:
        """Run the Init phase now (provisioned concurrency, or a SnapStart version publish)."""
        await self.env.init()

    async def invoke(self, payload: bytes | str | Any = b"", **options: Any) -> InvokeResult:
        """Invoke the function; concurrent calls wait their turn (one environment, one at a time).

        ``options`` are :meth:`Environment.invoke`'s (``trace_id``, ``client_context``, ...).
        """
        async with self._lock:
            return await self.env.invoke(payload, **options)

    async def invoke_with_tail(
        self, payload: bytes | str | Any = b"", **options: Any
    ) -> tuple[InvokeResult, str]:
        """:meth:`invoke`, returning also the base64 tail of the invocation's log, once its
        Invoke phase ended (``X-Amz-Log-Type: Tail``, :mod:`.tail`)."""
        return await invoke_with_tail(
            self.env, self.invoke, payload, log_format=self._log_format, **options
        )

    def _async_line(self, line: str) -> None:
        """An ``ASYNC`` line of :mod:`.async_invoke`: to a callable or stream log, else stderr."""
        log = self._batched or self._log
        if callable(log) and not isinstance(log, (str, os.PathLike)):
            log(line)
        else:
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    async def shutdown(self) -> None:
        """Shut the environment down now (reason ``spindown``); the servers stay up."""
        await self.env.shutdown()


def invoke_endpoint(
    sock: socket.socket,
    config: FunctionConfig,
    *,
    invoke: Callable[..., Awaitable[InvokeResult]],
    tail: TailInvoke,
    spawn: Callable[[Callable[[], Coroutine[Any, Any, None]]], None],
    async_line: Callable[[str], object],
    async_options: AsyncOptions,
    streams: ResponseStreams,
    allow_origins: Sequence[str],
    allow_hosts: Sequence[str],
    http: str,
    limits: Limits,
) -> Listener:
    """The invoke endpoint on ``sock``, for one environment or a pool of them: ``Invoke`` (with
    Tail logs, ``Event`` invocations queued and retried), ``InvokeWithResponseStream``, behind
    the guard against cross-site requests and within the request limits."""
    queue = AsyncInvoker(
        invoke,
        spawn,
        async_line,
        async_options,
        function_arn=config.function_arn,
        version=config.function_version,
    )
    invoke_app = InvokeAPI(
        invoke,
        set(),
        config.function_version,
        spawn,
        config=config,
        tail=tail,
        enqueue=queue.enqueue,
    )
    streaming_app = StreamingAPI(
        invoke, tail, streams, FunctionNames.of(config), config.function_version
    )
    app = Guard(
        with_streaming(invoke_app, streaming_app),
        allow_origins=allow_origins,
        allow_hosts=allow_hosts,
        error_body=aws_error,
    )
    return Listener(app, sock, http=http, limits=limits, error_body=aws_error)


class _LoopBatchedWriter:
    """Lines for a text stream, written and flushed once per turn of the event loop.

    An invocation's ``START``, ``END`` and ``REPORT`` lines are written in one system call
    instead of three; they still reach the stream before the loop waits for anything.
    """

    __slots__ = ("_lines", "_stream")

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._lines: list[str] = []

    def __call__(self, line: str) -> None:
        if not self._lines:
            try:
                asyncio.get_running_loop().call_soon(self.flush)
            except RuntimeError:  # no loop running: write now
                self._stream.write(line + "\n")
                self._stream.flush()
                return
        self._lines.append(line + "\n")

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            self._stream.write("".join(lines))
            self._stream.flush()


LoopBatchedWriter = _LoopBatchedWriter
"""The batched writer, for front ends that share one stream between several emulators."""
