"""The bundled copy of ``specs/lifecycle.json``, the formal lifecycle model.

The file at the repository root is the one people edit and review; this package carries an
identical copy so that an installed wheel can load it with :mod:`importlib.resources`. A test
proves the two copies are byte-for-byte equal.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from ..core.machine import LifecycleMachine
from ..core.spec import Spec, parse_spec

SPEC_RESOURCE = "lifecycle.json"


def spec_text() -> str:
    """The bundled spec document, as text."""
    return files(__package__).joinpath(SPEC_RESOURCE).read_text(encoding="utf-8")


def spec_document() -> dict[str, Any]:
    """The bundled spec document, parsed but not interpreted."""
    data: dict[str, Any] = json.loads(spec_text())
    return data


@cache
def load_spec() -> Spec:
    """The bundled spec as typed records (parsed once per process)."""
    return parse_spec(spec_document())


@cache
def lifecycle_machine() -> LifecycleMachine:
    """The state machine built from the bundled spec, shared by every environment."""
    return LifecycleMachine(load_spec())
