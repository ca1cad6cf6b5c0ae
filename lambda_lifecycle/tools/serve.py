"""``lambda-lifecycle serve`` and ``invoke``: the local emulator on the command line.

``serve [OPTIONS] [--] [COMMAND...]`` serves a function whose runtime is COMMAND (the bootstrap
command line), or with ``--handler module.function`` the Python runtime interface client
(``python -m awslambdaric module.function`` with this Python), and whose external extensions are
the executable files of ``--extensions-dir``. It serves the invoke endpoint on ``--port`` (8080),
where the AWS emulator serves it. Concurrent invocations run at once, each in an execution
environment of its own (a pool, :mod:`lambda_lifecycle.server.function_emulator`), up to
``--reserved-concurrency`` (10; then 429 ``TooManyRequestsException``); each environment has its
own processes and its own Runtime API on a free port of the ``--runtime-api-address`` host.
``--provisioned-concurrency``, ``--idle-timeout`` and ``--max-lifetime`` are the pool's.

It takes the AWS emulator's command line too (``aws-lambda-rie [--runtime-interface-emulator-
address HOST:PORT] [--runtime-api-address HOST:PORT] [--log-level LEVEL] [--enable-init-caching]
[COMMAND...]``): with a COMMAND of two or more words the last word is also the handler
(``_HANDLER``), else ``$AWS_LAMBDA_FUNCTION_HANDLER`` or ``$_HANDLER``; with no COMMAND the first
of ``<task root>/bootstrap``, ``/opt/bootstrap`` and ``/var/runtime/bootstrap`` that exists is
the runtime; the function's settings default to ``AWS_LAMBDA_FUNCTION_TIMEOUT``,
``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, ``AWS_LAMBDA_FUNCTION_NAME`` and
``AWS_LAMBDA_FUNCTION_VERSION``, which the runtime also sees. The environment's CloudWatch lines
(``START``, ``END``, ``REPORT``, the function's own output, ...) are printed to stdout as they
happen, as text or JSON (``--log-format``); one line about where it listens goes to stderr.

With extensions or ``--layer DIR`` (repeatable), the participants are started in a private
mount namespace where Linux allows one (:mod:`lambda_lifecycle.processes.sandbox`):
``sandbox.localdomain`` resolves, and ``/opt`` is the layers merged in order, whose
``extensions/`` are started as external extensions. Without one, ``--layer`` is refused with the
reason and a line on stderr says how to make ``sandbox.localdomain`` resolve.

Ctrl-C (or SIGTERM) shuts every environment down at once as Lambda does when it spins one down:
SHUTDOWN with reason ``spindown`` to the extensions, the Shutdown budgets, then exit status 0.
A second Ctrl-C kills everything at once; a caller still waiting for an invocation is answered
first (503 ``ServiceException``), never left without an answer.

Mistakes are caught before anything starts and reported on one line, with exit status 1: a
handler that is not ``module.function`` or whose module is not in the task root, a bootstrap that
does not exist or is not executable, a non-executable file in the extensions directory, an
address already in use.

``invoke [--url URL] [PAYLOAD|-]`` sends one event (``{}`` by default, ``-`` reads stdin) and
prints the response body; a function error (``X-Amz-Function-Error``) exits 1.

Only what parsing the arguments needs is imported with this module: the engine, the server and
the event loop are imported when ``serve`` runs, so that the command starts listening quickly.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.errors import ConfigurationError
from ..core.variables import APPLICATION_LOG_LEVELS, runtime_settings

if TYPE_CHECKING:
    import asyncio
    import socket

    from ..core.config import FunctionConfig
    from ..processes.sandbox import SandboxView
    from .serve_emulator import ServeEmulator

DEFAULT_PORT = 8080
DEFAULT_RUNTIME_API = "127.0.0.1:9001"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
DEFAULT_URL = f"http://127.0.0.1:{DEFAULT_PORT}{INVOKE_PATH}"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130
FREEZE_DELAY_MS = 0.0
DEFAULT_BOOTSTRAPS = ("/opt/bootstrap", "/var/runtime/bootstrap")
"""Where the AWS emulator looks for a runtime after ``/var/task/bootstrap`` (the task root's)."""
# The AWS emulator's --log-level values (logrus's), for its own diagnostics.
EMULATOR_LOG_LEVELS = ("trace", "debug", "info", "warn", "warning", "error", "fatal", "panic")
_QUIET_LEVELS = frozenset({"error", "fatal", "panic"})
ABANDON_GRACE_S = 0.5
DEFAULT_RESERVED_CONCURRENCY = 10  # the pool's defaults, repeated here: parsing imports no engine
DEFAULT_IDLE_TIMEOUT = 600.0
DEFAULT_MAX_LIFETIME = 4 * 3600.0
"""At a second Ctrl-C, how long the callers still waiting have to receive their error answer."""

_HANDLER = re.compile(r"^(?P<module>[\w/.-]+)\.(?P<function>[A-Za-z_]\w*)$")
# Variables the engine sets for each participant (or that describe this emulator's function):
# the host's own values must not override them. The host's TZ is the developer's, not the
# function's; its AWS_REGION is the default of --region instead.
_ENGINE_VARIABLES = frozenset(
    {
        "AWS_DEFAULT_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_HANDLER",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_TIMEOUT",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_FORMAT",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_LEVEL",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_REGION",
        "LAMBDA_TASK_ROOT",
        "TMPDIR",
        "TZ",
        "_HANDLER",
        "_LAMBDA_TELEMETRY_LOG_FD",
    }
)


# --- serve -------------------------------------------------------------------------------------


def configure_serve(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``serve``."""
    parser.add_argument(
        "command",
        nargs=argparse.REMAINDER,
        metavar="COMMAND",
        help="the runtime's bootstrap command line (after -- when it has options of its own); "
        "with two or more words its last word is also the handler, as with the AWS emulator; "
        "none: the first of <task root>/bootstrap, /opt/bootstrap, /var/runtime/bootstrap",
    )
    parser.add_argument(
        "--handler",
        metavar="MODULE.FUNCTION",
        help="the function's handler (_HANDLER); without COMMAND, runs "
        "`python -m awslambdaric HANDLER` (default: COMMAND's last word, else "
        "$AWS_LAMBDA_FUNCTION_HANDLER or $_HANDLER)",
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
        "--layer",
        type=Path,
        action="append",
        metavar="DIR",
        help="a layer: seen at /opt by the participants, its extensions/ started as external "
        "extensions; repeatable, merged in order (a later layer's files win); needs a private "
        "mount namespace (Linux: root, or user namespaces)",
    )
    parser.add_argument(
        "--no-mount-namespace",
        action="store_true",
        help="start the participants without their private view of /etc/hosts "
        "(sandbox.localdomain) and /opt",
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
        "--runtime-interface-emulator-address",
        dest="emulator_address",
        metavar="HOST:PORT",
        help="the invoke endpoint's address, as the AWS emulator names it (instead of --host "
        "and --port)",
    )
    parser.add_argument(
        "--runtime-api-address",
        default=DEFAULT_RUNTIME_API,
        metavar="HOST:PORT",
        help="where the Runtime and Extensions APIs listen: each environment on a free port of "
        f"HOST (the PORT is accepted for the AWS emulator's command line; default "
        f"{DEFAULT_RUNTIME_API})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=os.environ.get("AWS_LAMBDA_FUNCTION_TIMEOUT"),  # None: the spec's default
        help="the function timeout in seconds (default: $AWS_LAMBDA_FUNCTION_TIMEOUT, else 3)",
    )
    parser.add_argument(
        "--memory",
        type=int,
        default=os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE"),  # None: the spec's default
        metavar="MB",
        help="the memory size (default: $AWS_LAMBDA_FUNCTION_MEMORY_SIZE, else 128)",
    )
    parser.add_argument(
        "--function-name",
        default=os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),  # None: FunctionConfig's
        help="the function's name (default: $AWS_LAMBDA_FUNCTION_NAME, else function)",
    )
    parser.add_argument(
        "--function-version",
        default=os.environ.get("AWS_LAMBDA_FUNCTION_VERSION"),  # None: FunctionConfig's
        help="the function's version (default: $AWS_LAMBDA_FUNCTION_VERSION, else $LATEST)",
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or None,  # None: FunctionConfig's
        help="the function's region (AWS_REGION, the ARNs; default: $AWS_REGION, else us-east-1)",
    )
    parser.add_argument(
        "--runtime",
        metavar="NAME",
        help="the Lambda runtime this stands for (python3.13, nodejs22.x, provided.al2023, ...): "
        "AWS_EXECUTION_ENV and INIT_START's Runtime Version (default: what COMMAND certainly "
        "is, else a custom runtime, which has neither)",
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
        help="the Runtime Version of INIT_START as written (default: from --runtime)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="CloudWatch lines as text (default) or as JSON records; also the function's "
        "log format (AWS_LAMBDA_LOG_FORMAT Text or JSON)",
    )
    parser.add_argument(
        "--application-log-level",
        type=str.upper,
        choices=APPLICATION_LOG_LEVELS,
        metavar="LEVEL",
        help="the function's application log level (AWS_LAMBDA_LOG_LEVEL: "
        f"{', '.join(APPLICATION_LOG_LEVELS)}); needs --log-format json, as on Lambda",
    )
    parser.add_argument(
        "--log-level",
        type=str.lower,
        choices=EMULATOR_LOG_LEVELS,
        default=os.environ.get("LOG_LEVEL", "info").lower(),
        metavar="LEVEL",
        help="the emulator's own messages on stderr, as the AWS emulator's option: error, "
        "fatal and panic leave out the line about where it listens (default: $LOG_LEVEL, else "
        "info)",
    )
    parser.add_argument(
        "--enable-init-caching",
        action="store_true",
        help="accepted for the AWS emulator's command line; changes nothing (the participants "
        "get the host's credentials variables in any case)",
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
    # Asynchronous (Event) invocations: how they are retried (server/async_invoke.py).
    parser.add_argument(
        "--async-retries",
        type=int,
        choices=range(3),
        default=2,
        metavar="N",
        help="how many times a failed Event invocation runs again (0 to 2, default 2)",
    )
    parser.add_argument(
        "--async-max-age",
        type=float,
        default=21600.0,
        metavar="SECONDS",
        help="an Event invocation older than this is not retried (default 21600, six hours)",
    )
    parser.add_argument(
        "--async-delays",
        type=lambda text: tuple(float(part) for part in text.split(",")),
        default=(60.0, 120.0),
        metavar="S1,S2",
        help="seconds before the first and second retry (default 60,120, as Lambda)",
    )
    parser.add_argument(
        "--async-destination",
        metavar="PATH",
        help="append each Event invocation's outcome to PATH as a destination record (JSON line)",
    )
    parser.add_argument(
        "--stream-bandwidth",
        type=float,
        metavar="BYTES_PER_S",
        help="cap streamed responses past their first 6 MB (Lambda: 2097152); default: no cap",
    )
    parser.add_argument(
        "--reserved-concurrency",
        type=_whole(1),
        default=DEFAULT_RESERVED_CONCURRENCY,
        metavar="N",
        help="at most N environments at once; an invocation finding all N busy is throttled "
        f"(429 TooManyRequestsException) (default {DEFAULT_RESERVED_CONCURRENCY}, for a laptop; "
        "1: one environment, concurrent invocations throttled)",
    )
    parser.add_argument(
        "--provisioned-concurrency",
        type=_whole(0),
        default=0,
        metavar="N",
        help="initialize N environments at start (initialization type provisioned-concurrency) "
        "and use them first (default 0)",
    )
    parser.add_argument(
        "--idle-timeout",
        type=_seconds,
        default=DEFAULT_IDLE_TIMEOUT,
        metavar="SECONDS",
        help="spin an on-demand environment down after this long without an invocation "
        f"(default {DEFAULT_IDLE_TIMEOUT:g}; 0: never)",
    )
    parser.add_argument(
        "--max-lifetime",
        type=_seconds,
        default=DEFAULT_MAX_LIFETIME,
        metavar="SECONDS",
        help="replace every environment this long after it started, once it is idle "
        f"(default {DEFAULT_MAX_LIFETIME:g}, a few hours as on Lambda; 0: never)",
    )
    parser.add_argument(
        "--show-environments",
        action="store_true",
        help="say on stderr when an environment starts, takes an invocation or shuts down, "
        "and start each text log line with its environment's log stream",
    )


def _whole(least: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is less than {least}")
        return value

    return parse


def _seconds(text: str) -> float | None:
    """A duration in seconds; 0 means never (None)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    return value or None


def _handler_problem(handler: str, task_root: Path) -> str | None:
    """Why ``handler`` cannot be loaded from ``task_root``, or None."""
    import importlib.machinery  # noqa: PLC0415 (only --handler needs it)
    import importlib.util  # noqa: PLC0415

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
    import shutil  # noqa: PLC0415

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


def resolve_handler(
    option: str | None, command: list[str], environ: dict[str, str] | os._Environ[str]
) -> str | None:
    """The function's handler: ``--handler``, else the last word of a COMMAND of two or more
    words (as the AWS emulator takes it), else ``$AWS_LAMBDA_FUNCTION_HANDLER`` or
    ``$_HANDLER``; None when there is none."""
    if option:
        return option
    if len(command) >= 2:
        return command[-1]
    return environ.get("AWS_LAMBDA_FUNCTION_HANDLER") or environ.get("_HANDLER") or None


def default_bootstrap(task_root: Path, exists: Callable[[str], bool] = os.path.isfile) -> list[str]:
    """The AWS emulator's runtime when it is given no command: the first bootstrap that exists
    of the task root's, ``/opt/bootstrap`` and ``/var/runtime/bootstrap``."""
    candidates = [str(task_root / "bootstrap"), *DEFAULT_BOOTSTRAPS]
    for candidate in candidates:
        if exists(candidate):
            return [candidate]
    raise ConfigurationError(
        "give the runtime's COMMAND, or --handler module.function (there is no "
        + ", ".join(candidates)
        + ")"
    )


def _variables(task_root: Path) -> dict[str, str]:
    """The host's environment for the participants, less what the engine sets itself."""
    variables = {k: v for k, v in os.environ.items() if k not in _ENGINE_VARIABLES}
    variables["LAMBDA_TASK_ROOT"] = str(task_root)
    return variables


def _invoke_address(args: argparse.Namespace) -> tuple[str, int]:
    """``--runtime-interface-emulator-address``, else ``--host`` and ``--port``."""
    if args.emulator_address is None:
        return args.host, args.port
    from ..server.sockets import split_address  # noqa: PLC0415

    try:
        return split_address(args.emulator_address, DEFAULT_PORT)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def _timeout_text(timeout: float) -> str:
    """``AWS_LAMBDA_FUNCTION_TIMEOUT`` as the AWS emulator reads it: whole seconds."""
    return str(int(timeout)) if float(timeout).is_integer() else f"{timeout:g}"


def run_serve(args: argparse.Namespace) -> int:
    """Serve the function until Ctrl-C."""
    command: list[str] = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    task_root: Path = args.task_root.resolve()
    if not task_root.is_dir():
        raise ConfigurationError(f"the task root {task_root} is not a directory")
    shortcut = not command and args.handler is not None
    handler = resolve_handler(args.handler, command, os.environ)
    if args.application_log_level is not None and args.log_format != "json":
        raise ConfigurationError(
            "--application-log-level needs --log-format json (Lambda filters application logs "
            "by level only in the JSON format)"
        )
    # Listen on the invoke endpoint before reading the spec and importing the engine and the
    # server: a caller that connects from now on waits in the kernel's queue, not refused.
    from ..server.sockets import bind  # noqa: PLC0415 (the standard library only)

    invoke_socket = bind(*_invoke_address(args))
    try:
        variables = _variables(task_root)
        quiet = args.log_level in _QUIET_LEVELS
        notes: list[str] = []  # printed after the line about where it listens, which comes first
        view = _sandbox_view(args, notes)
        try:
            return _run_serve(
                args,
                invoke_socket,
                command=command,
                task_root=task_root,
                handler=handler,
                shortcut=shortcut,
                variables=variables,
                view=view,
                notes=None if quiet else notes,
            )
        finally:
            if view is not None:
                view.close()
    finally:
        invoke_socket.close()  # closed already when the emulator served on it


def _sandbox_view(args: argparse.Namespace, notes: list[str]) -> SandboxView | None:
    """The participants' private view (``sandbox.localdomain``, the layers at ``/opt``) when it
    is wanted and possible; a clear error for layers without it, a hint for the hosts name."""
    layers: list[Path] = args.layer or []
    if not layers and args.extensions_dir is None:
        return None  # nobody to listen on sandbox.localdomain: no namespace, no cost
    from ..processes import sandbox  # noqa: PLC0415

    need_hosts = not sandbox.hosts_resolve_sandbox()
    if not layers and not need_hosts:
        return None
    if args.no_mount_namespace:
        reason: str | None = "--no-mount-namespace turns it off"
    else:
        reason = sandbox.probe()
    if reason is None:
        return sandbox.SandboxView(layers, hosts=need_hosts)
    if layers:
        raise ConfigurationError(
            f"--layer shows the layers at /opt in a private mount namespace, and {reason}"
        )
    notes.append(
        f"lambda-lifecycle: warning: extensions cannot resolve sandbox.localdomain ({reason});"
        f" add the line '{sandbox.HOSTS_LINE.strip()}' to /etc/hosts"
    )
    return None


def _run_serve(
    args: argparse.Namespace,
    invoke_socket: socket.socket,
    *,
    command: list[str],
    task_root: Path,
    handler: str | None,
    shortcut: bool,
    variables: dict[str, str],
    view: SandboxView | None,
    notes: list[str] | None,
) -> int:
    from . import runtimes  # noqa: PLC0415

    def host_path(path: str) -> str:  # where a path of the participants' view is here
        if view is not None and path.startswith("/opt/"):
            found = view.host_path(path)
            return str(found) if found is not None else path
        return path

    if shortcut:
        assert handler is not None
        problem = _handler_problem(handler, task_root)
        if problem:
            raise ConfigurationError(problem)
        client = _python_client_dir()
        if client is None:
            raise ConfigurationError(
                "--handler runs the Python runtime interface client: pip install awslambdaric"
            )
        command = [sys.executable, "-m", "awslambdaric", handler]
    else:
        client = None
        if not command:
            command = default_bootstrap(task_root, lambda p: os.path.isfile(host_path(p)))
        problem = _bootstrap_problem(host_path(command[0]), variables.get("PATH"))
        if problem:
            raise ConfigurationError(problem)
        if os.sep in command[0]:  # relative to where the command was typed, not the task root
            command[0] = str(Path(command[0]).absolute())
    runtime = (
        runtimes.LambdaRuntime.parse(args.runtime)
        if args.runtime
        else runtimes.detect(command, shortcut=shortcut, environ=os.environ)
    )
    from ..core.config import FunctionConfig  # noqa: PLC0415 (after listening: see above)

    given: dict[str, Any] = {  # what is unset takes FunctionConfig's default (the spec's)
        "function_name": args.function_name,
        "function_version": args.function_version,
        "timeout": None if args.timeout is None else float(args.timeout),
        "memory_mb": None if args.memory is None else int(args.memory),
        "region": args.region,
        "handler": handler or None,
    }
    config = FunctionConfig(
        initialization_type=args.initialization_type,
        runtime_version=args.runtime_version or runtime.version_label,
        **{name: value for name, value in given.items() if value is not None},
    )
    variables["AWS_LAMBDA_FUNCTION_TIMEOUT"] = _timeout_text(config.timeout)
    variables.update(
        runtime_settings(
            execution_env=runtime.execution_env,
            runtime_dir=client,
            log_format=args.log_format,
            log_level=args.application_log_level,
        )
    )
    return _serve_on(
        args,
        invoke_socket,
        command=command,
        task_root=task_root,
        config=config,
        variables=variables,
        view=view,
        notes=notes,
    )


def _serve_on(
    args: argparse.Namespace,
    invoke_socket: socket.socket,
    *,
    command: list[str],
    task_root: Path,
    config: FunctionConfig,
    variables: dict[str, str],
    view: SandboxView | None,
    notes: list[str] | None,
) -> int:
    """Serve on the listening ``invoke_socket`` (the emulator closes it when it stops)."""
    try:
        # Imported here: the server extra is optional, the other commands do without it.
        from ..processes import ProcessExtension, ProcessRuntime, discover_extensions  # noqa: PLC0415
        from ..server.function_emulator import stderr_events  # noqa: PLC0415
        from ..server.sockets import split_address  # noqa: PLC0415
        from .serve_emulator import ServeEmulator  # noqa: PLC0415
    except ImportError as exc:
        raise ConfigurationError(
            f"serve needs the server extra ({exc.name} is missing): "
            "pip install 'lambda-lifecycle[server]'"
        ) from None
    wrapper = view.wrap() if view is not None else []
    found: list[str | Path] = []  # the extensions' programs
    if view is not None:
        for name, path in view.extensions().items():
            if not os.access(path, os.X_OK):
                raise ConfigurationError(f"{path} of a layer's extensions is not executable")
            found.append(f"/opt/extensions/{name}")
    if args.extensions_dir is not None:
        for extension in discover_extensions(
            args.extensions_dir, cwd=task_root, freeze_delay=args.freeze_delay / 1000
        ):
            found.append(extension.path)
    try:
        api_address = split_address(args.runtime_api_address, 9001)
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None
    freeze_delay = args.freeze_delay / 1000

    def participants() -> tuple[ProcessRuntime, list[ProcessExtension]]:
        """Each environment's own participants (they keep per-environment routing)."""
        runtime = ProcessRuntime(
            command, cwd=task_root, freeze_delay=freeze_delay, telemetry_fd=True, wrapper=wrapper
        )
        extensions = [
            ProcessExtension(path, cwd=task_root, freeze_delay=freeze_delay, wrapper=wrapper)
            for path in found
        ]
        return runtime, extensions

    provisioned = args.provisioned_concurrency
    if config.initialization_type == "provisioned-concurrency":
        provisioned = max(provisioned, 1)
    if provisioned > args.reserved_concurrency:
        raise ConfigurationError(
            f"--provisioned-concurrency {provisioned} is more than --reserved-concurrency "
            f"{args.reserved_concurrency}"
        )
    emulator = ServeEmulator(
        participants,
        config,
        runtime_api_host=api_address[0],
        invoke=invoke_socket,
        reserved_concurrency=args.reserved_concurrency,
        provisioned_concurrency=provisioned,
        idle_timeout=args.idle_timeout,
        max_lifetime=args.max_lifetime,
        variables=variables,
        freeze=not args.no_freeze,
        log=sys.stdout,
        log_format=args.log_format,
        prefix_streams=args.show_environments,
        on_event=stderr_events if args.show_environments else None,
        http=args.http,
        allow_origins=args.allow_origin,
        async_options=_async_options(args),
        stream_bandwidth=args.stream_bandwidth,
    )
    if notes is not None and config.initialization_type == "snap-start":
        notes.append(
            "lambda-lifecycle: note: SnapStart with real processes: there is no process "
            "snapshot, so each environment runs its own Init before its first Restore"
        )
    import anyio  # noqa: PLC0415

    return anyio.run(_serve, emulator, notes, backend_options=_loop_options(args.loop))


def _async_options(args: argparse.Namespace) -> Any:
    """How Event invocations are retried, from the ``--async-*`` options."""
    from ..server.async_invoke import AsyncOptions  # noqa: PLC0415

    return AsyncOptions(
        retries=args.async_retries,
        delays=args.async_delays,
        max_age=args.async_max_age,
        destination=args.async_destination,
    )


def _python_client_dir() -> str | None:
    """The directory awslambdaric is installed in (``LAMBDA_RUNTIME_DIR`` of the ``--handler``
    shortcut, as ``/var/runtime`` holds the client on Lambda), None when it is not installed."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.find_spec("awslambdaric")
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    package = Path(locations[0]) if locations else Path(spec.origin or ".").parent
    return str(package.parent)


def _loop_options(choice: str) -> dict[str, Any]:
    """anyio's asyncio options for ``--loop``: uvloop (when installed, for ``auto``) or not."""
    import importlib.util  # noqa: PLC0415

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
    import time  # noqa: PLC0415

    import uvloop  # noqa: PLC0415 (optional)

    class PreciseLoop(uvloop.Loop):
        def time(self) -> float:
            return time.monotonic()

    loop: asyncio.AbstractEventLoop = PreciseLoop()
    return loop


async def _serve(emulator: ServeEmulator, notes: list[str] | None) -> int:
    """Run the emulator until a signal; return the exit status. ``notes`` are printed to stderr
    after the line about where it listens (None: quiet, neither)."""
    import signal  # noqa: PLC0415

    import anyio  # noqa: PLC0415

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
                            if notes is not None:
                                most = emulator.function.reserved_concurrency
                                lines = [
                                    f"lambda-lifecycle: function {config.function_name!r} on "
                                    f"{emulator.invoke_url} (Runtime API "
                                    f"{emulator.runtime_api_address}); up to {most} "
                                    f"environment{'s' if most > 1 else ''} at once, each with "
                                    "its own Runtime API port; Ctrl-C stops",
                                    *notes,
                                ]
                                print("\n".join(lines), file=sys.stderr, flush=True)
                            await stop.wait()
                except Exception as exc:
                    failure.append(exc)
                finally:
                    tg.cancel_scope.cancel()

            tg.start_soon(serve)
            async for _ in signals:
                if stop.is_set():  # a second signal: answer who waits, then kill everything
                    status = EXIT_INTERRUPTED
                    await emulator.abandon(ABANDON_GRACE_S)
                    life.cancel()
                else:
                    stop.set()
    if failure:
        raise failure[0]
    return status


# --- invoke ------------------------------------------------------------------------------------


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
