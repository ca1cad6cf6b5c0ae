"""No process outlives its environment: the kernel's means of keeping participants contained.

Signalling a participant's process group (:mod:`.process`) reaches everything it started, except
what leaves the group (``setsid``, a daemon's double fork) and except when the emulator itself
dies without cleaning up (SIGKILL, a crash). Linux has an answer for each:

- **A parent-death signal.** Every participant is started with ``PR_SET_PDEATHSIG`` set to
  SIGKILL, so the kernel kills it when the emulator dies, however it dies (a stopped, frozen
  process is killed too). The setting is made in the child between ``fork`` and ``exec``
  (``preexec_fn``): Python warns that code run there may deadlock when other threads hold locks,
  so the function is a single pre-resolved foreign call and a ``getppid`` check (the parent may
  have died before the call). The signal follows the *thread* that started the child: start
  participants from a thread that lives as long as the environment (the event loop's does).
- **A child subreaper.** The emulator marks itself ``PR_SET_CHILD_SUBREAPER`` when it starts its
  first participant, so a descendant whose parent exits is re-parented to the emulator instead of
  to init, where it can still be found.
- **Finding the strays.** When a participant is torn down, its descendants are listed from
  ``/proc/<pid>/task/<tid>/children`` before its group is killed (a child that left the group is
  still a child), and the emulator's own children that it adopted and that carry the
  environment's ``AWS_LAMBDA_RUNTIME_API`` in their environment (every participant's descendant
  inherits it) are killed and reaped too.

Elsewhere (not Linux, or ``/proc`` unreadable) every function here does nothing and the process
group is the only boundary.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
from collections.abc import Callable, Iterable

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36

_prctl: Callable[..., int] | None = None
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None

_subreaper = False


def become_subreaper() -> bool:
    """Make this process a child subreaper (once); False where that is not possible."""
    global _subreaper  # noqa: PLW0603 - a property of the process, set once
    if not _subreaper and _prctl is not None:
        _subreaper = _prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    return _subreaper


def die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child SIGKILLed when this process dies (None: no prctl)."""
    prctl = _prctl
    if prctl is None:
        return None
    parent = os.getpid()
    kill = signal.SIGKILL

    def setup() -> None:  # runs in the child, between fork and exec: nothing but two calls
        prctl(PR_SET_PDEATHSIG, kill, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before the call took effect
            os.kill(os.getpid(), kill)

    return setup


def children(pid: int) -> list[int]:
    """The children of ``pid`` (of all its threads), from ``/proc``; [] when unreadable."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", "rb") as listing:
                found.extend(int(p) for p in listing.read().split())
        except (OSError, ValueError):
            continue
    return found


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` (children, their children, ...), whatever their group."""
    found: list[int] = []
    pending = children(pid)
    while pending:
        child = pending.pop()
        if child not in found:
            found.append(child)
            pending.extend(children(child))
    return found


def adopted(marker: bytes, exclude: Iterable[int] = ()) -> list[int]:
    """This process's children whose environment holds ``marker`` (``NAME=value``), but the
    pids in ``exclude``: the orphans of an environment's participants, re-parented here."""
    skip = set(exclude)
    found = []
    for child in children(os.getpid()):
        if child in skip:
            continue
        try:
            with open(f"/proc/{child}/environ", "rb") as environ:
                variables = environ.read().split(b"\0")
        except OSError:
            continue
        if marker in variables:
            found.append(child)
    return found


def kill_all(pids: Iterable[int]) -> None:
    """SIGKILL each pid that still exists."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


def reap(pids: Iterable[int]) -> None:
    """Collect the exit of each pid that is a child of this process and has exited."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, os.WNOHANG)
