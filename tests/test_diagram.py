"""The diagrams are rendered from the spec: one edge per transition row, nothing else."""

from __future__ import annotations

import re
import shutil
import sys

import pytest

from lambda_lifecycle.core.errors import LifecycleError
from lambda_lifecycle.core.spec import Spec
from lambda_lifecycle.specs import load_spec
from lambda_lifecycle.tools import diagram
from lambda_lifecycle.tools.diagram import (
    GraphvizFailed,
    GraphvizMissing,
    dot_quote,
    edge_label,
    to_dot,
    to_mermaid,
    to_svg,
)


@pytest.fixture
def spec() -> Spec:
    return load_spec()


def mermaid_edges(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if "-->" in line and "[*]" not in line]


def dot_edges(text: str) -> list[str]:
    return [
        line.strip()
        for line in text.splitlines()
        if "->" in line and diagram.INITIAL_NODE not in line
    ]


def test_edge_label_with_and_without_guard(spec: Spec) -> None:
    rows = {row.id: row for row in spec.transitions}
    assert edge_label(rows["init"]) == "init"
    assert edge_label(rows["init-complete-invoke"]) == "phase_complete [invoke_pending]"


def test_mermaid_header_and_trailing_newline(spec: Spec) -> None:
    text = to_mermaid(spec)
    assert text.startswith("stateDiagram-v2\n")
    assert text.endswith("\n")
    assert not text.endswith("\n\n")


def test_mermaid_has_one_edge_per_row_in_spec_order(spec: Spec) -> None:
    expected = [f"{r.source} --> {r.dest}: {edge_label(r)}" for r in spec.transitions]
    assert mermaid_edges(to_mermaid(spec)) == expected


def test_mermaid_pseudo_states(spec: Spec) -> None:
    lines = [line.strip() for line in to_mermaid(spec).splitlines()]
    assert lines.count("[*] --> Uninitialized") == 1
    assert lines.count("Shutdown --> [*]") == 1


def test_mermaid_names_every_state(spec: Spec) -> None:
    text = to_mermaid(spec)
    for name in spec.states:
        assert re.search(rf"^\s*{name}\s*$", text, re.MULTILINE), name


def test_mermaid_labels_have_no_separator(spec: Spec) -> None:
    for line in mermaid_edges(to_mermaid(spec)):
        _, label = line.split(": ", 1)
        assert ":" not in label
        assert ";" not in label


def test_outputs_are_deterministic(spec: Spec) -> None:
    assert to_mermaid(spec) == to_mermaid(load_spec())
    assert to_dot(spec) == to_dot(load_spec())


def test_dot_is_a_balanced_digraph(spec: Spec) -> None:
    text = to_dot(spec)
    assert text.startswith("digraph ")
    assert text.endswith("}\n")
    assert text.count("{") == text.count("}") == 1
    assert text.count('"') % 2 == 0


def test_dot_has_the_same_edges(spec: Spec) -> None:
    expected = [f'"{r.source}" -> "{r.dest}" [label="{edge_label(r)}"];' for r in spec.transitions]
    assert dot_edges(to_dot(spec)) == expected


def test_dot_initial_and_final_nodes(spec: Spec) -> None:
    text = to_dot(spec)
    initial = f'"{diagram.INITIAL_NODE}"'
    assert f"{initial} [shape=point" in text
    assert f'{initial} -> "Uninitialized";' in text
    (final_line,) = [line for line in text.splitlines() if line.strip().startswith('"Shutdown" [')]
    assert "peripheries=2" in final_line
    for name in spec.states:
        assert f'"{name}" [' in text


def test_dot_quote_escapes() -> None:
    assert dot_quote('a "b" \\ c') == '"a \\"b\\" \\\\ c"'
    assert dot_quote("two\nlines") == '"two\\nlines"'


def test_svg_without_graphviz_names_what_to_install(
    spec: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    with pytest.raises(GraphvizMissing) as info:
        to_svg(spec)
    message = str(info.value)
    assert isinstance(info.value, LifecycleError)
    assert "graphviz" in message.lower()
    assert "apt-get install graphviz" in message
    assert "brew install graphviz" in message
    assert "--format mermaid" in message
    assert "\n" not in message


def test_svg_reports_a_failing_dot(spec: Spec, monkeypatch: pytest.MonkeyPatch) -> None:
    # The Python interpreter stands in for a broken ``dot``: it rejects ``-Tsvg`` on stderr.
    monkeypatch.setattr(shutil, "which", lambda _name: sys.executable)
    with pytest.raises(GraphvizFailed, match="exit status") as info:
        to_svg(spec)
    assert "-T" in str(info.value)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_svg_with_graphviz(spec: Spec) -> None:
    svg = to_svg(spec)
    assert isinstance(svg, bytes)
    assert svg.startswith(b"<?xml") or b"<svg" in svg
    for name in spec.states:
        assert name.encode() in svg
