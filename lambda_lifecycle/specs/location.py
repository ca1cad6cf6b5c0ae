"""Where the spec files are: the one copy of ``specs/`` that every loader reads.

The files people edit and review live in ``specs/`` at the repository root: ``lifecycle.json``,
its JSON Schema ``lifecycle.schema.json``, and ``telemetry/*.schema.json``. There is no second
copy in the source tree. A wheel carries them inside this package (the build places ``specs/``
into ``lambda_lifecycle/specs/``, see ``hatch_build.py``), next to this module; an editable
install or a plain checkout has no such files here, and reads ``specs/`` at the root of the
source tree instead. Both ways, the same bytes are loaded.

Nothing is read when this module is imported: :func:`spec_files` looks once, at first use.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

__all__ = ["SPEC_NAME", "SpecFilesMissing", "source_tree_specs", "spec_files"]

SPEC_NAME = "lifecycle.json"
"""The lifecycle spec's file name, in the directory :func:`spec_files` returns."""


class SpecFilesMissing(FileNotFoundError):
    """Neither the package nor its source tree holds the spec files (a broken install)."""


def source_tree_specs() -> Path:
    """``specs/`` at the root of the source tree this package was imported from."""
    return Path(__file__).resolve().parent.parent.parent / "specs"


@cache
def spec_files() -> Traversable:
    """The directory holding ``lifecycle.json``, ``lifecycle.schema.json`` and ``telemetry/``.

    The copy bundled in the package (a wheel install) comes first, then the source tree's
    ``specs/`` (an editable install, or running from a checkout), then, for a package imported
    from a zip file, what :mod:`importlib.resources` finds (imported only then: it costs
    start-up time that ``serve`` spends before it listens).
    """
    here = Path(__file__).resolve().parent
    if (here / SPEC_NAME).is_file():
        return here
    tree = source_tree_specs()
    if (tree / SPEC_NAME).is_file():
        return tree
    from importlib.resources import files  # noqa: PLC0415

    bundled = files(__package__)
    if bundled.joinpath(SPEC_NAME).is_file():
        return bundled
    raise SpecFilesMissing(
        f"{SPEC_NAME} is neither inside the package ({__package__}) nor at {tree}: "
        "the installation is incomplete"
    )
