"""Lazy package exports: a package names its public API without importing it.

``from lambda_lifecycle import Environment`` must keep working, while ``import
lambda_lifecycle.formats.textlog`` (a pure renderer) must not import anyio, structlog or the
engine on the way. Each package therefore lists its exports as ``name -> submodule`` and hands
the table to :func:`lazy_exports`, which returns the module's ``__getattr__`` and ``__dir__``
(PEP 562): a name's submodule is imported on first access, and the value is then cached on the
package. The package also imports the names under ``TYPE_CHECKING``, so type checkers and IDEs
see them as ordinary imports.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, exporting ``name`` from
    ``exports[name]`` (a module name relative to ``package``, such as ``".config"``)."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module, package), name)
        setattr(sys.modules[package], name, value)  # later lookups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return __getattr__, __dir__
