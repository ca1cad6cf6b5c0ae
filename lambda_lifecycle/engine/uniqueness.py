"""SnapStart's uniqueness hazard: a value made during Init, still held after two Restores.

One snapshot resumes many environments, so whatever the publish-time Init produced (a random
seed, an id, a token) is the same in every environment restored from it, unless an
after-restore hook makes it again. AWS's guidance is to refresh such values after restore. This
module is the guard an embedder can put on in-process participants:

1. During Init a participant *marks* the values that must be unique
   (``client.mark_unique(value, label)``); the marks are taken into the snapshot.
2. At the end of each successful Restore, the environment looks for every marked value in the
   state its participants hold now (:func:`held_marks`: a walk of the state's containers,
   dataclasses and attributes). A value an after-restore hook replaced is not found.
3. A :class:`UniquenessGuard` compares what environments report: a mark held by two
   environments is a :class:`UniquenessWarning` (kept on :attr:`UniquenessGuard.warnings`) and
   a structlog warning ``lambda_lifecycle.snapstart_uniqueness``.

The guard only knows the values it was told of, and only finds them where the walk can reach;
docs/engine.md ("SnapStart across the pool") lists what it cannot detect. Values are reported
by a short SHA-256 digest and their label, never in clear.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from .structured_log import logger

_log = logger("lambda_lifecycle")

MAX_DEPTH = 32
"""How deep :func:`held_marks` walks into a participant's state."""
MAX_NODES = 100_000
"""How many objects :func:`held_marks` visits in one participant's state at most."""

_ATOMS = (str, bytes, bytearray, int, float, complex, bool, type(None))


@dataclasses.dataclass(frozen=True, slots=True)
class UniqueMark:
    """A value a participant marked as unique during Init (``label`` names it for people)."""

    label: str
    value: Any = dataclasses.field(repr=False, compare=False)
    digest: str = ""

    @classmethod
    def of(cls, label: str, value: Any) -> UniqueMark:
        """A mark of ``value``; its digest is SHA-256 of its type name and ``repr``."""
        text = f"{type(value).__qualname__}:{value!r}".encode()
        return cls(label, value, hashlib.sha256(text).hexdigest()[:16])


@dataclasses.dataclass(frozen=True, slots=True)
class UniquenessWarning:
    """A value marked unique during Init was still held after the Restore of a second
    environment (``environment_id``) restored from the same snapshot as ``first_environment_id``."""

    label: str
    digest: str
    snapshot: str
    environment_id: str
    first_environment_id: str

    def describe(self) -> str:
        """The warning in one sentence."""
        return (
            f"the value {self.label or 'marked unique'} (sha256 {self.digest}) made during the "
            f"Init of snapshot {self.snapshot} is held by environments "
            f"{self.first_environment_id} and {self.environment_id} after their Restore: "
            "refresh it in an after-restore hook"
        )


def _same(found: Any, value: Any) -> bool:
    if found is value:
        return True
    if type(found) is not type(value):
        return False
    try:
        return bool(found == value)
    except Exception:  # an object whose __eq__ fails is not the value
        return False


def _children(obj: Any) -> Iterable[Any]:
    if isinstance(obj, Mapping):
        for key, item in obj.items():
            yield key
            yield item
    elif isinstance(obj, (list, tuple, set, frozenset)):
        yield from obj
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            yield getattr(obj, f.name, None)
    else:
        attributes = getattr(obj, "__dict__", None)
        if isinstance(attributes, dict):
            yield from attributes.values()
        for cls in type(obj).__mro__:
            for slot in cls.__dict__.get("__slots__", ()):
                if isinstance(slot, str) and slot not in ("__dict__", "__weakref__"):
                    yield getattr(obj, slot, None)


def holds(state: Any, value: Any) -> bool:
    """Whether ``value`` is reachable in ``state`` (an equal value of the same type)."""
    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(state, 0)]
    while stack and len(seen) < MAX_NODES:
        obj, depth = stack.pop()
        if _same(obj, value):
            return True
        if isinstance(obj, _ATOMS) or id(obj) in seen or depth >= MAX_DEPTH:
            continue
        seen.add(id(obj))
        stack.extend((child, depth + 1) for child in _children(obj))
    return False


def held_marks(marks: Iterable[UniqueMark], states: Iterable[Any]) -> tuple[UniqueMark, ...]:
    """The ``marks`` whose value some state in ``states`` still holds."""
    states = list(states)
    return tuple(m for m in marks if any(holds(state, m.value) for state in states))


class UniquenessGuard:
    """Compares the marks environments restored from one snapshot still hold.

    :meth:`report` takes one environment's held marks after its Restore; a mark already
    reported by another environment becomes a :class:`UniquenessWarning`. A
    :class:`~lambda_lifecycle.engine.pool.Function` has one (``fn.uniqueness``) and reports each
    Restore itself; an embedder running environments alone calls :meth:`report` with
    ``env.id``, ``env.snapshot_name`` and ``env.unique_held`` after each first invocation.
    """

    __slots__ = ("_holders", "warnings")

    def __init__(self) -> None:
        self._holders: dict[tuple[str, str], str] = {}  # (snapshot, digest) -> first holder
        self.warnings: list[UniquenessWarning] = []
        """Every warning so far, oldest first."""

    def report(
        self, environment_id: str, snapshot: str, held: Iterable[UniqueMark]
    ) -> list[UniquenessWarning]:
        """``environment_id``, restored from ``snapshot``, still holds ``held``: the warnings
        this adds (each also logged)."""
        added: list[UniquenessWarning] = []
        for mark in held:
            first = self._holders.setdefault((snapshot, mark.digest), environment_id)
            if first == environment_id:
                continue
            warning = UniquenessWarning(mark.label, mark.digest, snapshot, environment_id, first)
            added.append(warning)
            _log.warning(
                "lambda_lifecycle.snapstart_uniqueness",
                label=mark.label,
                digest=mark.digest,
                snapshot=snapshot,
                environment_id=environment_id,
                first_environment_id=first,
                message=warning.describe(),
            )
        self.warnings.extend(added)
        return added
