"""The one protocol every runtime and extension implements to take part in an environment.

A participant is something the engine can *start* (an in-process coroutine, or later a real
process), then *signal* the way Lambda signals processes: SIGTERM (:meth:`Process.terminate`),
SIGKILL (:meth:`Process.kill`), SIGSTOP/SIGCONT (:meth:`Process.freeze`, :meth:`Process.thaw`).
When it ends, for whatever reason, it reports its :class:`ExitStatus` exactly once through the
``on_exit`` callback it was started with; the scheduler turns an unexpected exit into the spec's
``runtime_exit`` or ``extension_crash`` event.

A started participant talks to the environment through a client: the runtime through a
:class:`~lambda_lifecycle.engine.clients.RuntimeClient`, an extension through an
:class:`~lambda_lifecycle.engine.clients.ExtensionClient`. Those are the Runtime API and the
Extensions API as method calls; an HTTP front end maps its routes onto the same calls.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol, cast

from anyio.abc import TaskGroup

from ..core.payloads import describe_exit

if TYPE_CHECKING:
    from ..core.config import FunctionConfig
    from .clients import ExtensionClient, RuntimeClient

ParticipantKind = Literal["runtime", "internal", "external"]


@dataclass(frozen=True, slots=True)
class ExitStatus:
    """How a participant ended: an exit code, or the signal that killed it."""

    code: int | None = 0
    signal: str | None = None

    def describe(self) -> str | None:
        """Go's wording of the exit as AWS prints it (``exit status 2``, ``signal: killed``);
        None for a clean exit."""
        return describe_exit(self.code, self.signal)


@dataclass(frozen=True, slots=True)
class StartContext:
    """What a participant is started with."""

    task_group: TaskGroup
    config: FunctionConfig
    tmp_dir: Path
    environment: Mapping[str, str]
    on_exit: Callable[[ExitStatus], None]
    extra: Mapping[str, str] = field(default_factory=dict)


class Process(Protocol):
    """A started participant, as the engine signals it: the two members every process has.

    ``terminate()`` is SIGTERM (ask it to exit) and ``kill()`` SIGKILL (end it now). A process
    may also have any of these optional members; the engine uses a default for each one that
    is missing (see :class:`ProcessHandle`):

    - ``freezable: bool`` (default False): whether ``freeze``/``thaw`` do anything; the engine
      skips them on the invoke path otherwise;
    - ``freeze()`` / ``thaw()`` (default: nothing): SIGSTOP between phases, SIGCONT for the
      next event;
    - ``peak_memory_kib() -> int | None`` (default: None): its peak resident memory so far in
      KiB, or None when it cannot be measured (an in-process participant shares the host's
      memory). Max Memory Used sums these.
    """

    def terminate(self) -> None:
        """SIGTERM: ask it to exit."""

    def kill(self) -> None:
        """SIGKILL: end it now."""


class ProcessHandle:
    """A :class:`Process` as the engine calls it, with a default for each optional member.

    :meth:`of` refuses (``TypeError``, naming what is missing) an object that lacks
    ``terminate`` or ``kill``: the engine then treats the participant as one that could not be
    started.
    """

    __slots__ = ("freezable", "process")

    def __init__(self, process: Process) -> None:
        self.process = process
        self.freezable = bool(getattr(process, "freezable", False))

    @classmethod
    def of(cls, process: object) -> ProcessHandle:
        """Wrap what a participant's ``start`` returned."""
        missing = [m for m in ("terminate", "kill") if not callable(getattr(process, m, None))]
        if missing:
            raise TypeError(
                f"{type(process).__name__} is not a Process: it has no "
                + " and no ".join(f"{m}()" for m in missing)
            )
        return cls(process)  # type: ignore[arg-type]

    def terminate(self) -> None:
        """SIGTERM."""
        self.process.terminate()

    def kill(self) -> None:
        """SIGKILL."""
        self.process.kill()

    def freeze(self) -> None:
        """SIGSTOP (nothing when the process has no ``freeze``)."""
        freeze = getattr(self.process, "freeze", None)
        if freeze is not None:
            freeze()

    def thaw(self) -> None:
        """SIGCONT (nothing when the process has no ``thaw``)."""
        thaw = getattr(self.process, "thaw", None)
        if thaw is not None:
            thaw()

    def peak_memory_kib(self) -> int | None:
        """Peak resident memory in KiB (None when the process cannot say)."""
        measure = getattr(self.process, "peak_memory_kib", None)
        return None if measure is None else cast("int | None", measure())


class RuntimeParticipant(Protocol):
    """The function's runtime: exactly one per environment."""

    name: str

    async def start(self, client: RuntimeClient, ctx: StartContext) -> Process:
        """Start the runtime; it talks to the environment through ``client``."""
        ...


class ExtensionParticipant(Protocol):
    """An extension: ``external`` (its own process, started before the runtime and allowed
    SHUTDOWN) or ``internal`` (lives in the runtime's process, started with it)."""

    name: str
    kind: Literal["internal", "external"]

    async def start(self, client: ExtensionClient, ctx: StartContext) -> Process:
        """Start the extension; it registers and waits for events through ``client``."""
        ...
