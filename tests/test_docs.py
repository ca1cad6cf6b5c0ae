"""docs/lifecycle.md is generated from the spec, and the committed copy is current."""

from __future__ import annotations

from pathlib import Path

import pytest

from lambda_lifecycle.core.spec import Spec
from lambda_lifecycle.specs import load_spec
from lambda_lifecycle.tools.diagram import to_mermaid
from lambda_lifecycle.tools.docgen import render_lifecycle_doc

DOC = Path(__file__).resolve().parent.parent / "docs" / "lifecycle.md"


@pytest.fixture
def spec() -> Spec:
    return load_spec()


@pytest.fixture
def page(spec: Spec) -> str:
    return render_lifecycle_doc(spec)


def test_committed_page_is_current(page: str) -> None:
    assert DOC.is_file(), (
        "docs/lifecycle.md is missing: run `lambda-lifecycle docs -o docs/lifecycle.md`"
    )
    assert DOC.read_text(encoding="utf-8") == page, (
        "docs/lifecycle.md is out of date with specs/lifecycle.json: "
        "run `lambda-lifecycle docs -o docs/lifecycle.md`"
    )


def test_rendering_is_deterministic(spec: Spec, page: str) -> None:
    assert render_lifecycle_doc(spec) == page
    assert page.endswith("\n")
    assert not page.endswith("\n\n")


def test_page_says_it_is_generated(page: str) -> None:
    assert "specs/lifecycle.json" in page
    assert "lambda-lifecycle docs" in page
    assert "edited by hand" in page


def test_page_embeds_the_mermaid_diagram(spec: Spec, page: str) -> None:
    assert f"```mermaid\n{to_mermaid(spec)}```\n" in page


def test_every_transition_and_citation_appears(spec: Spec, page: str) -> None:
    for row in spec.transitions:
        assert f"\n### {row.id}\n" in page, row.id
        for cite in row.cite:
            assert f"> {cite.quote}\n" in page, (row.id, cite.quote)


def test_every_deadline_citation_appears(spec: Spec, page: str) -> None:
    for cites in spec.deadlines.cite.values():
        for cite in cites:
            assert cite.quote in page


def test_every_limit_with_its_numbers_and_citations_appears(spec: Spec, page: str) -> None:
    limits = page[page.index("\n## Limits\n") : page.index("\n## Basis\n")]
    for name, cites in spec.limits.cite.items():
        assert f"\n### Limit: {name}\n" in limits
        assert f"Rule: {spec.limits.rules[name]}\n" in limits
        for cite in cites:
            assert f"> {cite.quote}\n" in limits
    assert "| `memory_max_mb` | 10,240 MB |" in limits
    assert "| `max_extensions` | 10 |" in limits


def test_every_state_event_and_guard_appears(spec: Spec, page: str) -> None:
    for state in spec.states.values():
        assert f"### State: {state.name}\n" in page
        assert state.description in page
    for name in (*spec.events, *spec.guards):
        assert f"`{name}`" in page


def test_basis_summary_lists_assumed_rows(spec: Spec, page: str) -> None:
    summary = page[page.index("\n## Basis\n") :]
    for row in spec.transitions:
        assert (f"[`{row.id}`]" in summary) == (row.basis == "assumed"), row.id
