"""State diagrams of the lifecycle, rendered from the spec.

The diagrams are not drawn by hand and not produced by ``transitions``' ``GraphMachine``: they are
built here, as text, from the same :class:`~lambda_lifecycle.core.spec.Spec` that drives the
state machine, so a diagram can never disagree with the model. Every transition row of the spec
becomes exactly one edge, labelled ``event`` or ``event [guard]``, in spec order, so the output
is deterministic and diffs cleanly.

- :func:`to_mermaid`: a Mermaid ``stateDiagram-v2`` (renders on GitHub, in the generated docs).
- :func:`to_dot`: Graphviz DOT text, needing no system program to produce.
- :func:`to_svg`: the DOT text laid out by the Graphviz ``dot`` program, which must be installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess

from ..core.errors import LifecycleError
from ..core.spec import Spec, Transition

INITIAL_NODE = "__initial__"
"""The DOT id of the initial pseudo-state (the black dot pointing at the initial state)."""

DOT_TIMEOUT_S = 60.0
"""How long ``dot`` may run before :func:`to_svg` gives up on it."""

_MERMAID_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class DiagramError(LifecycleError):
    """A diagram could not be produced."""


class GraphvizMissing(DiagramError):
    """The Graphviz ``dot`` program, needed for SVG output, is not on ``PATH``."""

    def __init__(self) -> None:
        super().__init__(
            "SVG output needs the Graphviz 'dot' program, which was not found on PATH: "
            "install Graphviz (apt-get install graphviz, or brew install graphviz), "
            "or use --format mermaid or --format dot, which need no system program"
        )


class GraphvizFailed(DiagramError):
    """The Graphviz ``dot`` program ran but did not produce a diagram."""


def edge_label(row: Transition) -> str:
    """The label of a transition row's edge: ``event`` or ``event [guard]``."""
    return row.event if row.guard is None else f"{row.event} [{row.guard}]"


# --- Mermaid ---------------------------------------------------------------------------------


def _mermaid_id(name: str) -> str:
    if not _MERMAID_ID.match(name):
        raise DiagramError(f"state name {name!r} cannot be used as a Mermaid state id")
    return name


def _mermaid_label(text: str) -> str:
    # Mermaid ends a transition label at ':', ';' or a newline.
    return re.sub(r"[:;\n]", " ", text)


def to_mermaid(spec: Spec) -> str:
    """The lifecycle as a Mermaid ``stateDiagram-v2``, ending with a single newline."""
    lines = ["stateDiagram-v2"]
    lines += [f"    {_mermaid_id(name)}" for name in spec.states]
    lines.append(f"    [*] --> {_mermaid_id(spec.initial_state)}")
    lines += [
        f"    {_mermaid_id(row.source)} --> {_mermaid_id(row.dest)}: "
        f"{_mermaid_label(edge_label(row))}"
        for row in spec.transitions
    ]
    lines += [f"    {_mermaid_id(name)} --> [*]" for name in spec.final_states]
    return "\n".join(lines) + "\n"


# --- Graphviz DOT ----------------------------------------------------------------------------


def dot_quote(text: str) -> str:
    """``text`` as a double-quoted DOT string (backslashes and quotes escaped)."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _dot_state(spec: Spec, name: str) -> str:
    attributes = ["shape=box", 'style="rounded"']
    if spec.states[name].kind == "final":
        attributes.append("peripheries=2")
    return f"    {dot_quote(name)} [{', '.join(attributes)}];"


def _dot_edge(source: str, dest: str, label: str | None = None) -> str:
    attributes = "" if label is None else f" [label={dot_quote(label)}]"
    return f"    {dot_quote(source)} -> {dot_quote(dest)}{attributes};"


def _initial_node(spec: Spec) -> str:
    node = INITIAL_NODE
    while node in spec.states:
        node = f"_{node}_"
    return node


def to_dot(spec: Spec) -> str:
    """The lifecycle as a Graphviz ``digraph``, ending with a single newline."""
    initial = _initial_node(spec)
    lines = [
        f"digraph {dot_quote(spec.title)} {{",
        "    rankdir=TB;",
        '    node [fontname="Helvetica"];',
        '    edge [fontname="Helvetica", fontsize=10];',
        f'    {dot_quote(initial)} [shape=point, width=0.2, label=""];',
    ]
    lines += [_dot_state(spec, name) for name in spec.states]
    lines.append(_dot_edge(initial, spec.initial_state))
    lines += [_dot_edge(row.source, row.dest, edge_label(row)) for row in spec.transitions]
    lines.append("}")
    return "\n".join(lines) + "\n"


# --- SVG through Graphviz --------------------------------------------------------------------


def to_svg(spec: Spec) -> bytes:
    """The DOT diagram laid out as SVG by the Graphviz ``dot`` program.

    Raises :class:`GraphvizMissing` when ``dot`` is not on ``PATH`` and :class:`GraphvizFailed`
    (with ``dot``'s error output) when it fails.
    """
    program = shutil.which("dot")
    if program is None:
        raise GraphvizMissing
    try:
        done = subprocess.run(
            [program, "-Tsvg"],
            input=to_dot(spec).encode("utf-8"),
            capture_output=True,
            check=False,
            timeout=DOT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise GraphvizFailed(f"{program} -Tsvg did not finish within {DOT_TIMEOUT_S:g} s") from exc
    if done.returncode != 0:
        stderr = done.stderr.decode("utf-8", errors="replace").strip()
        raise GraphvizFailed(
            f"{program} -Tsvg failed with exit status {done.returncode}: {stderr or 'no output'}"
        )
    return done.stdout
