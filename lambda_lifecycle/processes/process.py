"""One real operating-system process, signalled the way Lambda signals its processes.

:func:`spawn` starts a program in a **new session** (so a new process group whose id is the
program's pid) with exactly the environment it is given, standard input from ``/dev/null``, and
its standard output and error either inherited or read line by line. The returned
:class:`OSProcess` implements the engine's :class:`~lambda_lifecycle.engine.participant.Process`
protocol, and every signal goes to the **whole group**, so whatever the program started goes with
it: ``terminate`` is SIGTERM, ``kill`` SIGKILL, ``freeze`` SIGSTOP and ``thaw`` SIGCONT. With a
``freeze_delay``, the SIGSTOP waits that long and a thaw in the meantime cancels it: back-to-back
events then cost no stop and resume of the program's threads.

:meth:`OSProcess.run` runs as a task of the environment. It

- waits for the program to end, without a helper thread: a Linux *pidfd* becomes readable the
  moment the process exits (elsewhere a worker thread waits in ``waitpid``);
- then SIGKILLs what is left of the group before reaping the leader (a zombie leader keeps the
  group id from being reused), so no descendant outlives the program;
- reads the output pipes, splitting them into lines for the ``output`` callback (a line longer
  than 256 KiB is cut, as CloudWatch cuts events), and flushes them before reporting the exit;
- reports the exit once through ``on_exit`` as an :class:`ExitStatus`: the exit code, or the
  signal named the way Go names it in AWS's messages (``killed``, ``terminated``, ...).

When the task is cancelled (the environment's task group is torn down), the group is SIGKILLed
and the leader reaped before the cancellation goes on: no child outlives its environment. What
left the group is found and killed too, and the kernel kills the program if this process dies
first (:mod:`.containment`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence

import anyio

from ..engine.participant import ExitStatus
from . import containment

Output = Callable[[str, str], None]
"""``output(participant_name, line)``: one line of a participant's stdout or stderr."""

MAX_LINE_BYTES = 256 * 1024
"""A line longer than this is passed on in pieces of this size (CloudWatch's event limit)."""

_READ_SIZE = 65536
_DRAIN_SECONDS = 0.2  # how long the output of an exited group may take to reach end of file
_REAP_SECONDS = 1.0  # how long killed strays may take to exit before they are left alone
MARKER_VARIABLE = "AWS_LAMBDA_RUNTIME_API"
"""The variable every participant inherits from its environment: its descendants carry it too."""

_leaders: set[int] = set()  # the programs started here and not reaped yet

# Go's names for the Linux signals (``syscall.Signal.String()``), which AWS's messages print
# after ``signal: ``. Keyed by the signal's Python name so the table is portable.
GO_SIGNAL_NAMES = {
    "SIGHUP": "hangup",
    "SIGINT": "interrupt",
    "SIGQUIT": "quit",
    "SIGILL": "illegal instruction",
    "SIGTRAP": "trace/breakpoint trap",
    "SIGABRT": "aborted",
    "SIGBUS": "bus error",
    "SIGFPE": "floating point exception",
    "SIGKILL": "killed",
    "SIGUSR1": "user defined signal 1",
    "SIGSEGV": "segmentation fault",
    "SIGUSR2": "user defined signal 2",
    "SIGPIPE": "broken pipe",
    "SIGALRM": "alarm clock",
    "SIGTERM": "terminated",
    "SIGSTKFLT": "stack fault",
    "SIGCHLD": "child exited",
    "SIGCONT": "continued",
    "SIGSTOP": "stopped (signal)",
    "SIGTSTP": "stopped",
    "SIGTTIN": "stopped (tty input)",
    "SIGTTOU": "stopped (tty output)",
    "SIGURG": "urgent I/O condition",
    "SIGXCPU": "CPU time limit exceeded",
    "SIGXFSZ": "file size limit exceeded",
    "SIGVTALRM": "virtual timer expired",
    "SIGPROF": "profiling timer expired",
    "SIGWINCH": "window changed",
    "SIGIO": "I/O possible",
    "SIGPWR": "power failure",
    "SIGSYS": "bad system call",
}


def signal_name(number: int) -> str:
    """Go's name of signal ``number`` (``killed`` for 9), or ``signal <n>`` when unknown."""
    try:
        python_name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    return GO_SIGNAL_NAMES.get(python_name, f"signal {number}")


def exit_status(returncode: int) -> ExitStatus:
    """The :class:`ExitStatus` of a ``subprocess`` return code (negative: killed by a signal)."""
    if returncode < 0:
        return ExitStatus(None, signal_name(-returncode))
    return ExitStatus(returncode)


def spawn(
    command: Sequence[str],
    *,
    name: str,
    environment: Mapping[str, str],
    cwd: str | os.PathLike[str],
    on_exit: Callable[[ExitStatus], None],
    output: Output | None = None,
    freeze_delay: float = 0.0,
    pass_fds: Sequence[int] = (),
) -> OSProcess:
    """Start ``command`` in a new process group; raises :class:`OSError` when it cannot start.

    With ``output`` given, stdout and stderr are piped and read line by line by
    :meth:`OSProcess.run`; without, the program inherits this process's stdout and stderr.
    ``pass_fds`` are descriptors the program inherits besides those (see ``subprocess``).
    """
    pipe = subprocess.PIPE if output is not None else None
    containment.become_subreaper()
    popen = subprocess.Popen(
        list(command),
        stdin=subprocess.DEVNULL,
        stdout=pipe,
        stderr=pipe,
        cwd=cwd,
        env=dict(environment),
        start_new_session=True,
        close_fds=True,
        pass_fds=tuple(pass_fds),
        preexec_fn=containment.die_with_parent(),  # noqa: PLW1509 - see containment's notes
    )
    _leaders.add(popen.pid)
    value = environment.get(MARKER_VARIABLE)
    marker = None if value is None else f"{MARKER_VARIABLE}={value}".encode()
    return OSProcess(popen, name, on_exit, output, freeze_delay, marker=marker)


class OSProcess:
    """A running program and its process group, as the engine signals it."""

    __slots__ = (
        "_freeze_delay",
        "_marker",
        "_on_exit",
        "_output",
        "_pending_stop",
        "_popen",
        "_reaped",
        "_stopped",
        "name",
        "status",
    )
    freezable = True

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        name: str,
        on_exit: Callable[[ExitStatus], None],
        output: Output | None,
        freeze_delay: float = 0.0,
        *,
        marker: bytes | None = None,
    ) -> None:
        self._popen = popen
        self._marker = marker
        self._on_exit = on_exit
        self._output = output
        self._freeze_delay = freeze_delay
        self._pending_stop: asyncio.TimerHandle | None = None
        self._stopped = False
        self._reaped = False
        self.name = name
        self.status: ExitStatus | None = None

    @property
    def pid(self) -> int:
        """The program's process id, which is also its process group id."""
        return self._popen.pid

    def peak_memory_kib(self) -> int | None:
        """The program's peak resident set so far (``VmHWM``), in KiB; None when unreadable
        (exited, or no ``/proc``). Child processes of the program are not counted."""
        if self._reaped:
            return None
        try:
            with open(f"/proc/{self._popen.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        return int(line.split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return None

    # -- signals (to the whole group) -----------------------------------------------------------
    def _signal(self, sig: signal.Signals) -> None:
        if self._reaped:
            return  # the group id may belong to someone else now
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._popen.pid, sig)

    def terminate(self) -> None:
        """SIGTERM to the process group."""
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the process group."""
        self._cancel_stop()
        self._signal(signal.SIGKILL)

    def freeze(self) -> None:
        """SIGSTOP to the process group, ``freeze_delay`` seconds from now unless thawed first.

        With a delay, back-to-back events cost no signal at all (each stop and resume of a
        process is a wake-up of all its threads); the process is still frozen as soon as the
        environment has been idle for the delay. Without an asyncio loop the stop is immediate.
        """
        if self._stopped or self._pending_stop is not None:
            return
        if self._freeze_delay > 0:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # another backend (trio): stop now
                loop = None
            if loop is not None:
                self._pending_stop = loop.call_later(self._freeze_delay, self._stop)
                return
        self._stop()

    def _stop(self) -> None:
        self._pending_stop = None
        self._stopped = True
        self._signal(signal.SIGSTOP)

    def _cancel_stop(self) -> None:
        pending, self._pending_stop = self._pending_stop, None
        if pending is not None:
            pending.cancel()

    def thaw(self) -> None:
        """SIGCONT to the process group (nothing to do if its stop was still pending)."""
        if self._pending_stop is not None:
            self._cancel_stop()
            return
        if self._stopped:
            self._stopped = False
            self._signal(signal.SIGCONT)

    # -- the task ---------------------------------------------------------------------------------
    async def run(self) -> None:
        """Wait for the exit, pass the output on, clean the group up, report the exit once."""
        popen = self._popen
        pipes = [p for p in (popen.stdout, popen.stderr) if p is not None]
        drained = _Countdown(len(pipes))
        pidfd = _pidfd(popen.pid)
        try:
            async with anyio.create_task_group() as readers:
                for pipe in pipes:
                    os.set_blocking(pipe.fileno(), False)
                    readers.start_soon(self._read, pipe.fileno(), drained)
                try:
                    await _exited(popen, pidfd)
                finally:
                    # The leader is a zombie (or, if we are cancelled, alive): end the rest of
                    # the group while its id is still ours, and whatever left the group, then
                    # reap.
                    self._cancel_stop()
                    strays = containment.descendants(popen.pid)
                    self._signal(signal.SIGKILL)
                    containment.kill_all(strays)
                    with anyio.CancelScope(shield=True):
                        await _exited(popen, pidfd)
                        popen.wait()
                        self._reaped = True
                        _leaders.discard(popen.pid)
                        await self._end_strays(strays)
                with anyio.move_on_after(_DRAIN_SECONDS):
                    await drained.wait()
                readers.cancel_scope.cancel()  # a descendant that left the group holds a pipe
        finally:
            if pidfd is not None:
                os.close(pidfd)
            for pipe in pipes:
                pipe.close()
        returncode = popen.returncode
        assert returncode is not None
        self.status = exit_status(returncode)
        self._on_exit(self.status)

    async def _end_strays(self, strays: list[int]) -> None:
        """Kill the environment's orphans re-parented here, and reap every stray of ours."""
        if self._marker is not None:
            orphans = containment.adopted(self._marker, _leaders)
            containment.kill_all(orphans)
            strays = strays + orphans
        if strays:
            with anyio.move_on_after(_REAP_SECONDS):
                for pid in strays:
                    await _reaped(pid)

    async def _read(self, fd: int, drained: _Countdown) -> None:
        """Read one pipe to its end, handing every complete line to ``output``."""
        output = self._output
        assert output is not None
        name = self.name
        pending = b""
        try:
            while True:
                await anyio.wait_readable(fd)
                try:
                    data = os.read(fd, _READ_SIZE)
                except BlockingIOError:
                    continue
                if not data:
                    break
                pending += data
                if b"\n" in pending:
                    *lines, pending = pending.split(b"\n")
                    for line in lines:
                        output(name, _decode(line))
                while len(pending) >= MAX_LINE_BYTES:
                    output(name, _decode(pending[:MAX_LINE_BYTES]))
                    pending = pending[MAX_LINE_BYTES:]
        finally:
            if pending:
                output(name, _decode(pending))
            drained.done()


class _Countdown:
    """An event set once ``count`` tasks have called :meth:`done`."""

    __slots__ = ("_event", "_left")

    def __init__(self, count: int) -> None:
        self._left = count
        self._event = anyio.Event()
        if count == 0:
            self._event.set()

    def done(self) -> None:
        self._left -= 1
        if self._left <= 0:
            self._event.set()

    async def wait(self) -> None:
        await self._event.wait()


def _decode(line: bytes) -> str:
    return line.decode("utf-8", errors="replace").rstrip("\r")


def _pidfd(pid: int) -> int | None:
    """A Linux pidfd for ``pid`` (readable once it exits), or None where there is none."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):  # not Linux, or a kernel before 5.3
        return None


async def _exited(popen: subprocess.Popen[bytes], pidfd: int | None) -> None:
    """Return once the program has exited; it is left a zombie (unreaped) where possible."""
    if pidfd is not None:
        await anyio.wait_readable(pidfd)
    else:
        await anyio.to_thread.run_sync(_wait_no_reap, popen, abandon_on_cancel=True)


async def _reaped(pid: int) -> None:
    """Wait for a killed process to exit and collect it if it is a child of this process."""
    fd = _pidfd(pid)
    if fd is not None:
        try:
            await anyio.wait_readable(fd)
        finally:
            os.close(fd)
    containment.reap([pid])


def _wait_no_reap(popen: subprocess.Popen[bytes]) -> None:
    """Block until the program exits, leaving it a zombie where ``waitid`` allows it."""
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        popen.wait()  # reaps: the group is then killed a moment after its id was freed
        return
    with contextlib.suppress(ChildProcessError):
        waitid(os.P_PID, popen.pid, os.WEXITED | os.WNOWAIT)
