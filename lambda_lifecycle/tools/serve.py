"""``lambda-lifecycle serve`` and ``invoke``: the local emulator on the command line.

``serve [OPTIONS] [--] [COMMAND...]`` runs one execution environment whose runtime is COMMAND
(the bootstrap command line), or with ``--handler module.function`` the Python runtime interface
client (``python -m awslambdaric module.function`` with this Python), and whose external
extensions are the executable files of ``--extensions-dir``. It serves the invoke endpoint on
``--port`` (8080) and the Runtime API on ``--runtime-api-address`` (127.0.0.1:9001), exactly where
the AWS emulator serves them, and takes its defaults from the same environment variables
(``AWS_LAMBDA_FUNCTION_TIMEOUT``, ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``,
``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_LAMBDA_FUNCTION_VERSION``). The environment's CloudWatch
lines (``START``, ``END``, ``REPORT``, the function's own output, ...) are printed to stdout as
they happen, as text or JSON (``--log-format``); one line about where it listens goes to stderr.

Ctrl-C (or SIGTERM) shuts the environment down as Lambda does when it spins one down: SHUTDOWN
with reason ``spindown`` to the extensions, the Shutdown budgets, then exit status 0. A second
Ctrl-C kills everything at once.

Mistakes are caught before anything starts and reported on one line, with exit status 1: a
handler that is not ``module.function`` or whose module is not in the task root, a bootstrap that
does not exist or is not executable, a non-executable file in the extensions directory, an
address already in use.

``invoke [--url URL] [PAYLOAD|-]`` sends one event (``{}`` by default, ``-`` reads stdin) and
prints the response body; a function error (``X-Amz-Function-Error``) exits 1.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.machinery
import importlib.util
import os
import re
import shutil
import signal
import sys
import time
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from ..core.config import FunctionConfig
from ..core.errors import ConfigurationError
from ..processes import ProcessExtension, ProcessRuntime, discover_extensions

if TYPE_CHECKING:
    from ..server import Emulator

DEFAULT_PORT = 8080
DEFAULT_RUNTIME_API = "127.0.0.1:9001"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}{INVOKE_PATH}"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
FREEZE_DELAY_MS = 0.0

_HANDLER = re.compile(r"^(?P<module>[\w/.-]+)\.(?P<function>[A-Za-z_]\w*)$")
# Variables the engine sets for each participant: the host's own values must not override them.
_ENGINE_VARIABLES = frozenset(
    {
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_TIMEOUT",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "TMPDIR",
        "_HANDLER",
    }
)


def _env_default(name: str, fallback: Any) -> Any:
    return os.environ.get(name, fallback)


# --- serve -------------------------------------------------------------------------------------


def configure_serve(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``serve``."""
    defaults = FunctionConfig()
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="COMMAND",
        help="the runtime's bootstrap command line (after --); or use --handler",
    )
    parser.add_argument(
        "--handler",
        metavar="MODULE.FUNCTION",
        help="the function's handler; without COMMAND, runs `python -m awslambdaric HANDLER`",
    )
    parser.add_argument(
        "--task-root",
        type=Path,
        default=Path.cwd(),
        metavar="DIR",
        help="the function's code (LAMBDA_TASK_ROOT, the runtime's working directory; "
        "default: the current directory)",
    )
    parser.add_argument(
        "--extensions-dir",
        type=Path,
        metavar="DIR",
        help="start every executable file of DIR as an external extension (as /opt/extensions)",
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="the invoke endpoint's address (default 127.0.0.1)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"the invoke endpoint's port (default {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--runtime-api-address",
        default=DEFAULT_RUNTIME_API,
        metavar="HOST:PORT",
        help=f"where the Runtime and Extensions APIs listen (default {DEFAULT_RUNTIME_API})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=_env_default("AWS_LAMBDA_FUNCTION_TIMEOUT", defaults.timeout),
        help="the function timeout in seconds (default: $AWS_LAMBDA_FUNCTION_TIMEOUT, else 3)",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=_env_default("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", defaults.memory_mb),
        metavar="MB",
        help="the memory size (default: $AWS_LAMBDA_FUNCTION_MEMORY_SIZE, else 128)",
    )
    parser.add_argument(
        "--function-name",
        default=_env_default("AWS_LAMBDA_FUNCTION_NAME", defaults.function_name),
        help="the function's name (default: $AWS_LAMBDA_FUNCTION_NAME, else function)",
    )
    parser.add_argument(
        "--function-version",
        default=_env_default("AWS_LAMBDA_FUNCTION_VERSION", defaults.function_version),
        help="the function's version (default: $AWS_LAMBDA_FUNCTION_VERSION, else $LATEST)",
    )
    parser.add_argument(
        "--initialization-type",
        choices=("on-demand", "provisioned-concurrency", "snap-start"),
        default="on-demand",
        help="on-demand (Init at the first invoke) or provisioned-concurrency and snap-start "
        "(Init at once)",
    )
    parser.add_argument(
        "--runtime-version",
        help="the Runtime Version of INIT_START (default: python:<this Python's X.Y> with "
        "--handler, none for a bootstrap)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="CloudWatch lines as text (default) or as JSON records",
    )
    parser.add_argument(
        "--no-freeze",
        action="store_true",
        help="do not SIGSTOP the processes between invocations (for debuggers)",
    )
    parser.add_argument(
        "--freeze-delay",
        type=float,
        default=FREEZE_DELAY_MS,
        metavar="MS",
        help="freeze (SIGSTOP) the processes this many milliseconds after a phase ends, unless "
        f"the next event comes first (default {FREEZE_DELAY_MS:g}; 0 freezes at once)",
    )
    parser.add_argument(
        "--loop",
        choices=("auto", "asyncio", "uvloop"),
        default="auto",
        help="the event loop: uvloop when installed (auto, the default), or asyncio's own",
    )
    parser.add_argument(
        "--http",
        choices=("httptools", "h11"),
        default="httptools",
        help="uvicorn's HTTP parser (default httptools, the faster)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="let browser pages from ORIGIN call the emulator (repeatable; * for any); "
        "requests with any other Origin header are refused",
    )


def _handler_problem(handler: str, task_root: Path) -> str | None:
    """Why ``handler`` cannot be loaded from ``task_root``, or None."""
    match = _HANDLER.match(handler)
    if match is None:
        return f"handler {handler!r} is not of the form module.function"
    module = match["module"].replace("/", ".")
    top = module.split(".")[0]
    if importlib.machinery.PathFinder.find_spec(top, [str(task_root)]) is not None:
        return None
    if importlib.util.find_spec(top) is not None:  # installed in this Python
        return None
    return f"handler {handler!r}: no module {module!r} in the task root {task_root}"


def _bootstrap_problem(program: str, path: str | None) -> str | None:
    """Why ``program`` cannot be started, or None."""
    if os.sep in program:
        candidate = Path(program)
        if not candidate.exists():
            return f"bootstrap {program} does not exist"
        if candidate.is_dir() or not os.access(candidate, os.X_OK):
            return f"bootstrap {program} is not an executable file (chmod +x it)"
        return None
    if shutil.which(program, path=path) is None:
        return f"bootstrap {program!r} is not found on PATH"
    return None


def _variables(task_root: Path) -> dict[str, str]:
    """The host's environment for the participants, less what the engine sets itself."""
    variables = {k: v for k, v in os.environ.items() if k not in _ENGINE_VARIABLES}
    variables["LAMBDA_TASK_ROOT"] = str(task_root)
    return variables


def run_serve(args: argparse.Namespace) -> int:
    """Serve one environment until Ctrl-C."""
    command: list[str] = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    task_root: Path = args.task_root.resolve()
    if not task_root.is_dir():
        raise ConfigurationError(f"the task root {task_root} is not a directory")
    handler: str | None = args.handler
    if not command and handler is None:
        raise ConfigurationError("give the runtime's COMMAND, or --handler module.function")
    variables = _variables(task_root)
    if command:
        problem = _bootstrap_problem(command[0], variables.get("PATH"))
        if problem:
            raise ConfigurationError(problem)
        if os.sep in command[0]:  # relative to where the command was typed, not the task root
            command[0] = str(Path(command[0]).absolute())
    else:
        assert handler is not None
        problem = _handler_problem(handler, task_root)
        if problem:
            raise ConfigurationError(problem)
        if importlib.util.find_spec("awslambdaric") is None:
            raise ConfigurationError(
                "--handler runs the Python runtime interface client: pip install awslambdaric"
            )
        command = [sys.executable, "-m", "awslambdaric", handler]
    config = FunctionConfig(
        function_name=args.function_name,
        function_version=args.function_version,
        timeout=float(args.timeout),
        memory_mb=int(args.memory),
        initialization_type=args.initialization_type,
        handler=handler or FunctionConfig().handler,
        runtime_version=args.runtime_version or _python_runtime_version(handler),
    )
    extensions: list[ProcessExtension] = []
    if args.extensions_dir is not None:
        extensions = discover_extensions(
            args.extensions_dir, cwd=task_root, freeze_delay=args.freeze_delay / 1000
        )
    try:
        # Imported here: the server extra is optional, the other commands do without it.
        from ..server import Emulator  # noqa: PLC0415
        from ..server.http import split_address  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigurationError(
            f"serve needs the server extra ({exc.name} is missing): "
            "pip install 'lambda-lifecycle[server]'"
        ) from None
    try:
        api_address = split_address(args.runtime_api_address, 9001)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    emulator = Emulator(
        ProcessRuntime(command, cwd=task_root, freeze_delay=args.freeze_delay / 1000),
        extensions,
        config,
        runtime_api=api_address,
        invoke=(args.host, args.port),
        variables=variables,
        freeze=not args.no_freeze,
        log=sys.stdout,
        log_format=args.log_format,
        http=args.http,
        allow_origins=args.allow_origin,
    )
    return anyio.run(_serve, emulator, backend_options=_loop_options(args.loop))


def _loop_options(choice: str) -> dict[str, Any]:
    """anyio's asyncio options for ``--loop``: uvloop (when installed, for ``auto``) or not."""
    if choice == "asyncio":
        return {}
    if importlib.util.find_spec("uvloop") is None:
        if choice == "uvloop":
            raise ConfigurationError("--loop uvloop: uvloop is not installed (pip install uvloop)")
        return {}
    return {"loop_factory": _precise_uvloop}


def _precise_uvloop() -> asyncio.AbstractEventLoop:
    """A uvloop loop whose clock is ``time.monotonic()``.

    uvloop's own ``time()`` is libuv's millisecond clock, cached once per turn of the loop: the
    engine's durations (Duration, Init Duration in REPORT) would all read ``.00``. Its timers
    keep working on libuv's clock; anyio re-arms a deadline that fires a fraction early.
    """
    import uvloop  # noqa: PLC0415 (optional)

    class PreciseLoop(uvloop.Loop):
        def time(self) -> float:
            return time.monotonic()

    loop: asyncio.AbstractEventLoop = PreciseLoop()
    return loop


async def _serve(emulator: Emulator) -> int:
    """Run the emulator until a signal; return the exit status."""
    config = emulator.config
    stop = anyio.Event()
    failure: list[Exception] = []
    status = EXIT_OK
    # The emulator lives in a task of its own, so that this task can take the signals for the
    # whole of its life, its spin-down included, and its errors come out unwrapped.
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as tg:
            life = anyio.CancelScope()

            async def serve() -> None:
                try:
                    with life:
                        async with emulator:
                            print(
                                f"lambda-lifecycle: function {config.function_name!r} on "
                                f"{emulator.invoke_url} (Runtime API "
                                f"{emulator.runtime_api_address}); Ctrl-C stops",
                                file=sys.stderr,
                                flush=True,
                            )
                            if config.initialization_type != "on-demand":
                                await emulator.init()
                            await stop.wait()
                except Exception as exc:
                    failure.append(exc)
                finally:
                    tg.cancel_scope.cancel()

            tg.start_soon(serve)
            async for _ in signals:
                if stop.is_set():  # a second signal: kill everything now
                    status = EXIT_INTERRUPTED
                    life.cancel()
                else:
                    stop.set()
    if failure:
        raise failure[0]
    return status


# --- invoke ------------------------------------------------------------------------------------


def _python_runtime_version(handler: str | None) -> str | None:
    """``python:<major>.<minor>`` for the ``--handler`` shortcut (awslambdaric on this Python),
    as ``INIT_START`` names a managed runtime; None for a custom bootstrap."""
    if handler is None:
        return None
    return f"python:{sys.version_info.major}.{sys.version_info.minor}"


def invocation_url(url: str) -> str:
    """``url`` as an invoke endpoint: a bare ``http://host:port`` gets the AWS emulator's path."""
    parts = urllib.parse.urlsplit(url)
    if parts.path in ("", "/"):
        return urllib.parse.urlunsplit(parts._replace(path=INVOKE_PATH))
    return url


def configure_invoke(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``invoke``."""
    parser.add_argument(
        "payload",
        nargs="?",
        default="{}",
        metavar="PAYLOAD",
        help="the event (default {}); - reads it from stdin",
    )
    parser.add_argument(
        "--url",
        default=DEFAULT_URL,
        help=f"the invoke endpoint, or just http://host:port (default {DEFAULT_URL})",
    )
    parser.add_argument("--trace-id", help="an X-Amzn-Trace-Id header for the invocation")
    parser.add_argument(
        "--timeout",
        type=float,
        default=905.0,
        help="seconds to wait for the answer (default 905)",
    )


def run_invoke(args: argparse.Namespace) -> int:
    """Send one event and print the answer."""
    try:
        import httpx  # noqa: PLC0415 (the server extra is optional)
    except ImportError:
        raise ConfigurationError(
            "invoke needs httpx, from the server extra: pip install 'lambda-lifecycle[server]'"
        ) from None

    payload = sys.stdin.buffer.read() if args.payload == "-" else args.payload.encode()
    headers = {"content-type": "application/json"}
    if args.trace_id:
        headers["X-Amzn-Trace-Id"] = args.trace_id
    try:
        response = httpx.post(
            invocation_url(args.url), content=payload, headers=headers, timeout=args.timeout
        )
    except httpx.HTTPError as exc:
        raise OSError(
            f"cannot invoke {invocation_url(args.url)}: {exc or type(exc).__name__}"
        ) from None
    body = response.content
    sys.stdout.flush()
    sys.stdout.buffer.write(body if body.endswith(b"\n") else body + b"\n")
    sys.stdout.buffer.flush()
    if response.status_code >= 400:
        print(f"lambda-lifecycle: HTTP {response.status_code}", file=sys.stderr)
        return EXIT_FAILURE
    error = response.headers.get("x-amz-function-error")
    if error:
        print(f"lambda-lifecycle: function error ({error})", file=sys.stderr)
        return EXIT_FAILURE
    return EXIT_OK
