"""Which Lambda runtime ``serve`` is standing in for: its label and its variables.

On Lambda every function names its runtime (``python3.13``, ``nodejs22.x``, ``java21``,
``provided.al2023``, ...). The name decides two things the runtime and the logs show:
``AWS_EXECUTION_ENV`` (``AWS_Lambda_python3.13``; OS-only runtimes, ``provided*``, have none) and
the Runtime Version of ``INIT_START`` (``python:3.13``, ``nodejs:22``, ``provided:al2023``; AWS
adds a ``.v<N>`` release that a local run has no equivalent for).

``serve`` takes the name from ``--runtime``, else from an ``AWS_EXECUTION_ENV`` the host already
sets (as AWS's base images do), else from what it can see for certain in the command line: the
``--handler`` shortcut and ``<this Python> -m awslambdaric`` are this Python's version, a command
that runs the Node.js runtime client (``aws-lambda-ric``) is the installed ``node``'s major
version. Anything else is a custom runtime: no ``AWS_EXECUTION_ENV`` and no Runtime Version,
rather than a wrong one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..core.errors import ConfigurationError

_NAME = re.compile(
    r"^(?:(?P<family>python|ruby)(?P<dotted>\d+\.\d+)"
    r"|(?P<node>nodejs)(?P<major>\d+)\.x"
    r"|(?P<plain>java|dotnet)(?P<number>\d+)"
    r"|(?P<provided>provided)(?:\.(?P<os>al2023|al2))?)$"
)
_EXECUTION_ENV = re.compile(r"^AWS_Lambda_(?P<name>\S+)$")
_NODE_CLIENT = "aws-lambda-ric"
_NODE_VERSION_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class LambdaRuntime:
    """A Lambda runtime name (``python3.13``), or None for an unnamed custom runtime."""

    name: str | None

    @classmethod
    def parse(cls, name: str) -> LambdaRuntime:
        """``name`` as Lambda spells its runtimes; :class:`ConfigurationError` otherwise."""
        if _NAME.match(name) is None:
            raise ConfigurationError(
                f"runtime {name!r} is not a Lambda runtime name "
                "(python3.13, nodejs22.x, java21, ruby3.3, dotnet8, provided.al2023, ...)"
            )
        return cls(name)

    @property
    def execution_env(self) -> str | None:
        """``AWS_EXECUTION_ENV`` (None for ``provided*`` and unnamed runtimes)."""
        if self.name is None or self.name.startswith("provided"):
            return None
        return f"AWS_Lambda_{self.name}"

    @property
    def version_label(self) -> str | None:
        """The Runtime Version of ``INIT_START`` without AWS's release suffix."""
        match = _NAME.match(self.name or "")
        if match is None:
            return None
        if match["family"]:
            return f"{match['family']}:{match['dotted']}"
        if match["node"]:
            return f"nodejs:{match['major']}"
        if match["plain"]:
            return f"{match['plain']}:{match['number']}"
        return f"provided:{match['os']}" if match["os"] else "provided"


def this_python() -> LambdaRuntime:
    """``python<X.Y>`` of the interpreter running ``serve``."""
    return LambdaRuntime(f"python{sys.version_info.major}.{sys.version_info.minor}")


def detect(command: Sequence[str], *, shortcut: bool, environ: Mapping[str, str]) -> LambdaRuntime:
    """The runtime that ``command`` certainly is (see the module's docstring)."""
    declared = _EXECUTION_ENV.match(environ.get("AWS_EXECUTION_ENV", ""))
    if declared is not None and _NAME.match(declared["name"]):
        return LambdaRuntime(declared["name"])
    if shortcut or _runs_python_client(command):
        return this_python()
    if any(os.path.basename(word) == _NODE_CLIENT for word in command):
        major = node_major(environ.get("PATH"))
        if major is not None:
            return LambdaRuntime(f"nodejs{major}.x")
    return LambdaRuntime(None)


def _runs_python_client(command: Sequence[str]) -> bool:
    """``<this Python> -m awslambdaric ...``."""
    if list(command[1:3]) != ["-m", "awslambdaric"]:
        return False
    program = shutil.which(command[0]) or command[0]
    return os.path.realpath(program) == os.path.realpath(sys.executable)


def node_major(path: str | None) -> int | None:
    """The major version of the ``node`` on ``path`` (``node --version``), None without one."""
    node = shutil.which("node", path=path)
    if node is None:
        return None
    try:
        done = subprocess.run(
            [node, "--version"],
            capture_output=True,
            text=True,
            timeout=_NODE_VERSION_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"^v(\d+)\.", done.stdout.strip())
    return int(match[1]) if match else None
