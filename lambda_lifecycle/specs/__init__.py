"""The formal lifecycle model, loaded from ``specs/lifecycle.json``.

There is one copy of the spec: the file at the repository root, the one people edit and review.
:mod:`.location` finds it (inside the package in a wheel, at the source tree's root otherwise).
Loading the document needs only the pure :mod:`lambda_lifecycle.core.spec`; the state machine
(which needs ``transitions``) is built on the first call of :func:`lifecycle_machine`.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING, Any

from ..core.spec import Spec, parse_spec
from .location import SPEC_NAME, spec_files

if TYPE_CHECKING:
    from ..core.machine import LifecycleMachine

__all__ = ["lifecycle_machine", "load_spec", "spec_document", "spec_files", "spec_text"]

SPEC_RESOURCE = SPEC_NAME


def spec_text() -> str:
    """The spec document, as text."""
    return spec_files().joinpath(SPEC_NAME).read_text(encoding="utf-8")


def spec_document() -> dict[str, Any]:
    """The spec document, parsed but not interpreted."""
    data: dict[str, Any] = json.loads(spec_text())
    return data


@cache
def load_spec() -> Spec:
    """The spec as typed records (parsed once per process)."""
    return parse_spec(spec_document())


@cache
def lifecycle_machine() -> LifecycleMachine:
    """The state machine built from the spec, shared by every environment."""
    from ..core.machine import LifecycleMachine  # noqa: PLC0415 (transitions only when needed)

    return LifecycleMachine(load_spec())
