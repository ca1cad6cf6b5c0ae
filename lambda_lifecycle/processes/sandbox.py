"""The participants' private view of the file system: ``sandbox.localdomain`` and ``/opt``.

On Lambda every process of an environment resolves ``sandbox.localdomain`` (and ``sandbox``)
to the environment's own address, where extensions bind their listeners and the Telemetry API
delivers, and finds the function's layers merged at ``/opt`` (``/opt/extensions/*`` are the
external extensions; their launchers ``exec /opt/<name>/...``). A developer's machine has
neither, and editing its ``/etc/hosts`` or ``/opt`` for one function is not something an
emulator should ask for.

Where Linux allows a private mount namespace (``unshare --mount``, as root, or in a user
namespace of one's own with ``--map-current-user``), each participant is started through
:func:`SandboxView.wrap`: ``unshare`` gives the program a mount namespace of its own in which
``/etc/hosts`` is the host's file plus ``127.0.0.1 sandbox.localdomain sandbox`` and ``/opt`` is
the layers (one layer bound read-only; several merged by a read-only overlay, a later layer's
files over an earlier one's, as Lambda merges layers in order). ``unshare`` and the shell
``exec`` the program, so its process id and process group stay those the engine signals.

:func:`probe` says why that is not possible (no ``unshare``, not Linux, no permission), or None:
the caller then falls back (for the hosts view, a documented one-line edit of ``/etc/hosts``;
for layers, a clear error).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import ConfigurationError

SANDBOX_NAMES = ("sandbox.localdomain", "sandbox")
HOSTS_LINE = f"127.0.0.1\t{' '.join(SANDBOX_NAMES)}\n"
HOSTS = Path("/etc/hosts")
OPT = "/opt"
# $1: the hosts file to bind over /etc/hosts (or empty); $2: the layer to bind at /opt, or
# several joined with ':' for an overlay (or empty); the rest: the program.
_SCRIPT = (
    'hosts=$1; opt=$2; shift 2; set -e; [ -z "$hosts" ] || mount --bind "$hosts" /etc/hosts; '
    'case $opt in "") ;; *:*) mount -t overlay overlay -o "lowerdir=$opt" /opt ;; '
    '*) mount --bind -o ro "$opt" /opt ;; esac; exec "$@"'
)
_PROBE_TIMEOUT_S = 5.0


def hosts_resolve_sandbox(hosts: Path = HOSTS) -> bool:
    """Whether ``hosts`` already names ``sandbox.localdomain`` (read, not resolved: a DNS query
    for a name that does not exist can take seconds)."""
    try:
        text = hosts.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if SANDBOX_NAMES[0] in words[1:]:
            return True
    return False


def _unshare() -> list[str] | None:
    program = shutil.which("unshare")
    if program is None:
        return None
    command = [program, "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        command.append("--map-current-user")
    return command


def probe() -> str | None:
    """Why a participant cannot get a private mount namespace here, or None when it can."""
    unshare = _unshare()
    if unshare is None:
        return "there is no unshare program (util-linux) on PATH"
    try:
        done = subprocess.run(
            [*unshare, "sh", "-c", _SCRIPT, "sandbox", "", "", "true"],
            capture_output=True,
            text=True,
            timeout=_PROBE_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare could not run ({exc})"
    if done.returncode != 0:
        reason = done.stderr.strip().splitlines()
        return f"unshare --mount failed: {reason[-1] if reason else done.returncode}"
    return None


class SandboxView:
    """The hosts file and ``/opt`` of one emulator's participants; :meth:`close` removes it."""

    __slots__ = ("_folder", "hosts", "layers")

    def __init__(self, layers: Sequence[str | os.PathLike[str]] = (), *, hosts: bool = True):
        self.layers = [Path(layer).resolve() for layer in layers]
        for layer in self.layers:
            if not layer.is_dir():
                raise ConfigurationError(f"layer {layer} is not a directory")
            if ":" in str(layer) or "," in str(layer):
                raise ConfigurationError(f"layer {layer}: a path with ':' or ',' cannot be merged")
        self._folder: str | None = None
        self.hosts: Path | None = None
        if hosts:
            self._folder = tempfile.mkdtemp(prefix="lambda-lifecycle-hosts-")
            self.hosts = Path(self._folder) / "hosts"
            try:
                original = HOSTS.read_text(encoding="utf-8", errors="replace")
            except OSError:
                original = "127.0.0.1\tlocalhost\n"
            if original and not original.endswith("\n"):
                original += "\n"
            self.hosts.write_text(original + HOSTS_LINE, encoding="utf-8")

    def wrap(self) -> list[str]:
        """The command prefix that starts a program in this view."""
        unshare = _unshare()
        if unshare is None:  # probe() said so first
            raise ConfigurationError("a private mount namespace needs the unshare program")
        # overlayfs takes the top layer first; Lambda's later layers win.
        opt = ":".join(str(layer) for layer in reversed(self.layers))
        return [*unshare, "sh", "-c", _SCRIPT, "sandbox", str(self.hosts or ""), opt]

    def host_path(self, path: str) -> Path | None:
        """Where a path under ``/opt`` is on this machine (the last layer that has it), or None."""
        relative = os.path.relpath(path, OPT)
        if relative.startswith(".."):
            return None
        for layer in reversed(self.layers):
            candidate = layer / relative
            if candidate.exists():
                return candidate
        return None

    def extensions(self) -> dict[str, Path]:
        """The layers' external extensions by name (a later layer's file replaces an earlier's),
        as their host paths."""
        found: dict[str, Path] = {}
        for layer in self.layers:
            folder = layer / "extensions"
            if folder.is_dir():
                for entry in folder.iterdir():
                    if not entry.is_dir():
                        found[entry.name] = entry
        return dict(sorted(found.items()))

    def close(self) -> None:
        """Remove the hosts file."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
