"""Runtimes and extensions that are real programs, and the ``/opt/extensions`` convention.

:class:`ProcessRuntime` and :class:`ProcessExtension` implement the engine's participant protocol
(:mod:`lambda_lifecycle.engine.participant`) with an operating-system process each (see
:mod:`.process`). The engine decides when they start and how they are signalled; the programs
talk to the environment over HTTP, through the front end whose address the engine gives them in
``AWS_LAMBDA_RUNTIME_API`` (:mod:`lambda_lifecycle.server`). Each program gets exactly the
environment the engine built for its kind, so an external extension does not see ``_HANDLER``,
``LAMBDA_TASK_ROOT`` and the other variables AWS withholds from extensions.

A runtime that cannot be started at all (no such file, not executable) reports
``Runtime.InvalidEntrypoint`` through the Runtime API's ``init/error``, worded as AWS words it
(``fork/exec <path>: no such file or directory``), and then exits with status 127 as a shell
would; an extension that cannot be started exits with 127 (an ``Extension.Crash``).

:func:`discover_extensions` reads an extensions directory the way Lambda reads ``/opt/extensions``:
every executable file is an external extension named after its file, started in name order.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import anyio

from ..core.errors import ConfigurationError
from ..engine.clients import ExtensionClient, RuntimeClient
from ..engine.participant import ExitStatus, StartContext
from .process import OSProcess, Output, spawn
from .telemetry_fd import ENV_NAME, open_log_pipe

EXIT_CANNOT_EXECUTE = 127
FREEZE_DELAY = 0.0
"""Seconds between the end of a phase and the SIGSTOP (0: at once; see ``OSProcess.freeze``)."""


class NotStarted:
    """The process that could not be started: it has already exited with status 127."""

    __slots__ = ()
    freezable = False

    def terminate(self) -> None:
        """Nothing to signal."""

    def kill(self) -> None:
        """Nothing to signal."""

    def freeze(self) -> None:
        """Nothing to signal."""

    def thaw(self) -> None:
        """Nothing to signal."""

    def peak_memory_kib(self) -> int | None:
        """Nothing ran."""
        return None


def _working_directory(cwd: str | os.PathLike[str] | None, ctx: StartContext) -> str:
    if cwd is not None:
        return os.fspath(cwd)
    return ctx.environment.get("LAMBDA_TASK_ROOT") or os.getcwd()


def _not_started(ctx: StartContext) -> NotStarted:
    async def report() -> None:
        ctx.on_exit(ExitStatus(EXIT_CANNOT_EXECUTE))

    ctx.task_group.start_soon(report)
    return NotStarted()


def go_exec_error(program: str, exc: OSError) -> str:
    """``fork/exec <program>: <reason>``, the way Go words a failed start."""
    reason = (exc.strerror or str(exc)).rstrip(".")
    return f"fork/exec {program}: {reason[:1].lower()}{reason[1:]}"


class ProcessRuntime:
    """The function's runtime as a program: ``command`` is its command line (``bootstrap``).

    ``cwd`` defaults to the task root (``LAMBDA_TASK_ROOT`` of the runtime's environment);
    ``output(name, line)`` receives each line of its stdout and stderr (without it the program
    writes to this process's own stdout and stderr). With ``telemetry_fd`` (and ``output``) the
    program also gets a pipe named by ``_LAMBDA_TELEMETRY_LOG_FD``, where the runtime clients
    write framed log records; each record reaches ``output`` whole, a multi-line traceback
    included (see :mod:`.telemetry_fd`). ``wrapper`` is a command prefix the program is started
    through (see :mod:`.sandbox`).
    """

    __slots__ = ("command", "cwd", "freeze_delay", "name", "output", "telemetry_fd", "wrapper")

    def __init__(
        self,
        command: Sequence[str] | str | os.PathLike[str],
        *,
        cwd: str | os.PathLike[str] | None = None,
        name: str = "bootstrap",
        output: Output | None = None,
        freeze_delay: float = FREEZE_DELAY,
        telemetry_fd: bool = False,
        wrapper: Sequence[str] = (),
    ) -> None:
        if isinstance(command, (str, os.PathLike)):
            command = [os.fspath(command)]
        if not command:
            raise ConfigurationError("the runtime's command line is empty")
        self.command = [os.fspath(part) for part in command]
        self.cwd = cwd
        self.name = name
        self.output = output
        self.freeze_delay = freeze_delay
        self.telemetry_fd = telemetry_fd
        self.wrapper = list(wrapper)

    async def start(self, client: RuntimeClient, ctx: StartContext) -> OSProcess | NotStarted:
        """Start the program as a process group of its own."""
        log_pipe = open_log_pipe() if self.telemetry_fd and self.output is not None else None
        environment = ctx.environment
        if log_pipe is not None:
            environment = {**environment, ENV_NAME: str(log_pipe.write_fd)}
        try:
            process = spawn(
                [*self.wrapper, *self.command],
                name=self.name,
                environment=environment,
                cwd=_working_directory(self.cwd, ctx),
                on_exit=ctx.on_exit,
                output=self.output,
                freeze_delay=self.freeze_delay,
                pass_fds=() if log_pipe is None else (log_pipe.write_fd,),
            )
        except OSError as exc:
            if log_pipe is not None:
                log_pipe.close()
            client.init_error(
                {
                    "errorType": "Runtime.InvalidEntrypoint",
                    "errorMessage": go_exec_error(self.command[0], exc),
                }
            )
            return _not_started(ctx)
        if log_pipe is not None:
            log_pipe.start(ctx.task_group, self.name, self._output)
        ctx.task_group.start_soon(process.run, name=f"runtime process {self.name}")
        await anyio.lowlevel.checkpoint()
        return process

    def _output(self, name: str, line: str) -> None:
        if self.output is not None:  # looked up per record: the emulator routes it
            self.output(name, line)


class ProcessExtension:
    """An external extension as a program (a file of ``/opt/extensions``), named after its file.

    ``cwd`` defaults to the task root given to the runtime, else this process's working
    directory; ``output`` and ``wrapper`` as for :class:`ProcessRuntime`.
    """

    __slots__ = ("cwd", "freeze_delay", "name", "output", "path", "wrapper")
    kind: Literal["internal", "external"] = "external"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        output: Output | None = None,
        cwd: str | os.PathLike[str] | None = None,
        freeze_delay: float = FREEZE_DELAY,
        wrapper: Sequence[str] = (),
    ) -> None:
        self.path = Path(path).absolute()
        self.name = self.path.name
        self.output = output
        self.cwd = cwd
        self.freeze_delay = freeze_delay
        self.wrapper = list(wrapper)

    async def start(self, client: ExtensionClient, ctx: StartContext) -> OSProcess | NotStarted:
        """Start the program as a process group of its own."""
        del client  # the program registers over HTTP
        try:
            process = spawn(
                [*self.wrapper, str(self.path)],
                name=self.name,
                environment=ctx.environment,
                cwd=_working_directory(self.cwd, ctx),
                on_exit=ctx.on_exit,
                output=self.output,
                freeze_delay=self.freeze_delay,
            )
        except OSError:
            return _not_started(ctx)
        ctx.task_group.start_soon(process.run, name=f"extension process {self.name}")
        await anyio.lowlevel.checkpoint()
        return process


def discover_extensions(
    directory: str | os.PathLike[str],
    *,
    output: Output | None = None,
    cwd: str | os.PathLike[str] | None = None,
    freeze_delay: float = FREEZE_DELAY,
) -> list[ProcessExtension]:
    """The external extensions of ``directory``: every executable file, in name order.

    Sub-directories are skipped. A regular file that is not executable is a mistake Lambda
    would not forgive either: :class:`ConfigurationError` names it. So does a missing directory.
    """
    folder = Path(directory)
    if not folder.is_dir():
        raise ConfigurationError(f"extensions directory {folder} does not exist")
    found: list[ProcessExtension] = []
    for path in sorted(folder.iterdir(), key=lambda p: p.name):
        if path.is_dir():
            continue
        if not path.is_file():
            raise ConfigurationError(f"{path} in the extensions directory is not a regular file")
        if not os.access(path, os.X_OK):
            raise ConfigurationError(
                f"{path} in the extensions directory is not executable: "
                "every file there is started as an extension (chmod +x it, or move it away)"
            )
        found.append(ProcessExtension(path, output=output, cwd=cwd, freeze_delay=freeze_delay))
    return found
