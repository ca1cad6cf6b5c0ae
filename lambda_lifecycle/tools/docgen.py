"""The Markdown reference page of the lifecycle, generated from the spec.

``docs/lifecycle.md`` is an output, not a source: :func:`render_lifecycle_doc` writes it from the
:class:`~lambda_lifecycle.core.spec.Spec` alone (``lambda-lifecycle docs -o docs/lifecycle.md``),
and a test fails when the committed page differs from what the spec produces. The page holds the
Mermaid diagram of :mod:`.diagram`, a section per state with its outgoing rows, the events, the
guards, every transition row with its basis, note and verbatim AWS citations, the deadlines and
the configuration's limits with their numbers, and a summary of how much of the model is
documented, observed or assumed.

The rendering is deterministic: everything is listed in spec order, and no date, path or version
of the tool goes into the page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import get_args

from ..core.spec import Basis, Citation, Deadlines, Limits, Spec, State, Transition
from .diagram import edge_label, to_mermaid

SPEC_PATH = "specs/lifecycle.json"
DOC_PATH = "docs/lifecycle.md"
GENERATE_COMMAND = f"lambda-lifecycle docs -o {DOC_PATH}"

BASIS_MEANING: dict[str, str] = {
    "documented": "the AWS documentation states it (the citations are the statement)",
    "observed": "seen on AWS but not stated by the documentation",
    "assumed": "a modelling choice where AWS says nothing precise (the citations are context)",
}

# --- Markdown helpers ------------------------------------------------------------------------


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading (lower case, punctuation dropped, spaces to dashes)."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def code(text: str) -> str:
    """``text`` as an inline code span."""
    fence = "``" if "`" in text else "`"
    return f"{fence}{text}{fence}"


def cell(text: str) -> str:
    """``text`` made safe for one cell of a Markdown table."""
    return " ".join(text.split()).replace("|", "\\|")


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table as lines (the cells are expected to be escaped already)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def state_anchor(name: str) -> str:
    """The anchor of a state's section."""
    return slug(f"State: {name}")


def deadline_anchor(name: str) -> str:
    """The anchor of a deadline's section."""
    return slug(f"Deadline: {name}")


def exact_duration(value: int) -> str:
    """A duration in milliseconds, followed by seconds when it is a whole number of them."""
    if value >= 1000 and value % 1000 == 0:
        return f"{value:,} ms ({value // 1000:,} s)"
    return f"{value:,} ms"


def arrow(row: Transition) -> str:
    """``From -event [guard]-> To``."""
    return f"{row.source} -{edge_label(row)}-> {row.dest}"


def citation_lines(spec: Spec, cites: Iterable[Citation]) -> list[str]:
    """Each citation as a blockquote of the verbatim sentence, then a link to its page."""
    lines: list[str] = []
    for c in cites:
        source = spec.sources[c.source]
        lines += [f"> {line}" if line else ">" for line in c.quote.splitlines()]
        lines += ["", f"— [{source.title}]({source.url})", ""]
    return lines


# --- Sections --------------------------------------------------------------------------------


def intro_lines(spec: Spec) -> list[str]:
    """The title and the warning that the page is generated."""
    return [
        f"# {spec.title}",
        "",
        f"<!-- Generated from {SPEC_PATH} by `lambda-lifecycle docs`. Do not edit by hand. -->",
        "",
        f"This page is generated from `{SPEC_PATH}` (spec version {spec.version}) by "
        "`lambda-lifecycle docs` and must not be edited by hand: change the spec, then run "
        f"`{GENERATE_COMMAND}`. A test fails when this page and the spec disagree.",
        "",
        "Every transition row has a basis:",
        "",
        *[f"- **{basis}**: {BASIS_MEANING.get(basis, basis)}." for basis in get_args(Basis)],
        "",
    ]


def diagram_lines(spec: Spec) -> list[str]:
    """The Mermaid state diagram."""
    return ["## Diagram", "", "```mermaid", *to_mermaid(spec).splitlines(), "```", ""]


def outgoing_table(spec: Spec, state: str) -> list[str]:
    """The transitions leaving ``state``, as a table."""
    rows = spec.rows_from(state)
    if not rows:
        return ["No transition leaves this state."]
    return table(
        ("Id", "Event", "Guard", "Target", "Basis"),
        (
            (
                f"[{code(r.id)}](#{slug(r.id)})",
                code(r.event),
                code(r.guard) if r.guard else "—",
                f"[{r.dest}](#{state_anchor(r.dest)})",
                r.basis,
            )
            for r in rows
        ),
    )


def state_lines(spec: Spec, state: State) -> list[str]:
    """One state's section."""
    return [
        f"### State: {state.name}",
        "",
        f"- Kind: {state.kind}",
        f"- Phase: {state.phase or '— (no phase runs)'}",
        "",
        state.description,
        "",
        *outgoing_table(spec, state.name),
        "",
    ]


def states_lines(spec: Spec) -> list[str]:
    """The section of every state."""
    lines = ["## States", ""]
    for state in spec.states.values():
        lines += state_lines(spec, state)
    return lines


def events_lines(spec: Spec) -> list[str]:
    """The events table."""
    rows = (
        (code(e.name), cell(", ".join(e.origin)), cell(e.description)) for e in spec.events.values()
    )
    return ["## Events", "", *table(("Name", "Origin", "Description"), rows), ""]


def guards_lines(spec: Spec) -> list[str]:
    """The guards table."""
    rows = ((code(g.name), code(g.negation), cell(g.description)) for g in spec.guards.values())
    return ["## Guards", "", *table(("Name", "Negation", "Description"), rows), ""]


def transition_lines(spec: Spec, row: Transition) -> list[str]:
    """One transition row's section, with its citations."""
    basis = f"Basis: **{row.basis}**."
    if row.deadline is not None:
        basis += f" Deadline: [{row.deadline}](#{deadline_anchor(row.deadline)})."
    lines = [f"### {row.id}", "", code(arrow(row)), "", basis, ""]
    if row.note:
        lines += [f"Note: {row.note}", ""]
    return lines + citation_lines(spec, row.cite)


def transitions_lines(spec: Spec) -> list[str]:
    """The section of every transition row, in spec order."""
    lines = ["## Transitions", ""]
    for row in spec.transitions:
        lines += transition_lines(spec, row)
    return lines


def deadline_values(deadlines: Deadlines) -> dict[str, int]:
    """Every number of ``deadlines``, by field name, in declaration order."""
    return {
        f.name: value
        for f in fields(deadlines)
        if isinstance(value := getattr(deadlines, f.name), int)
    }


def deadline_numbers(deadlines: Deadlines, name: str) -> list[tuple[str, int]]:
    """The numbers of ``deadlines`` that belong to the deadline ``name`` (by field prefix)."""
    prefix = f"{name}_"
    return [(k, v) for k, v in deadline_values(deadlines).items() if k.startswith(prefix)]


def deadline_rule(deadlines: Deadlines, name: str) -> str | None:
    """The rule of the deadline ``name``, in the spec's own words."""
    return deadlines.rules.get(name)


def deadline_scope_lines(spec: Spec, name: str) -> list[str]:
    """The states whose phase the deadline ``name`` bounds, and the rows it fires."""
    lines: list[str] = []
    states = [s.name for s in spec.states.values() if (s.phase or "").lower() == name]
    if states:
        links = ", ".join(f"[{s}](#{state_anchor(s)})" for s in states)
        lines += [f"Applies in: {links}.", ""]
    rows = [r for r in spec.transitions if r.deadline == name]
    if rows:
        links = ", ".join(f"[{code(r.id)}](#{slug(r.id)})" for r in rows)
        lines += [f"Fired when it passes: {links}.", ""]
    return lines


def deadline_lines(spec: Spec, name: str) -> list[str]:
    """One deadline's section: where it applies, its rule, its numbers and its citations."""
    lines = [f"### Deadline: {name}", "", *deadline_scope_lines(spec, name)]
    rule = deadline_rule(spec.deadlines, name)
    if rule is not None:
        lines += [f"Rule: {rule}", ""]
    numbers = deadline_numbers(spec.deadlines, name)
    if numbers:
        rows = ((code(k), exact_duration(v)) for k, v in numbers)
        lines += [*table(("Value", "Duration"), rows), ""]
    return lines + citation_lines(spec, spec.deadlines.cite[name])


def deadlines_lines(spec: Spec) -> list[str]:
    """The section of every deadline, in spec order."""
    lines = ["## Deadlines", ""]
    for name in spec.deadlines.cite:
        lines += deadline_lines(spec, name)
    return lines


def limit_anchor(name: str) -> str:
    """The anchor of a limit's section."""
    return slug(f"Limit: {name}")


def limit_numbers(limits: Limits, name: str) -> list[tuple[str, str]]:
    """The numbers of the limit ``name`` (the fields that carry its name), with their units."""
    numbers: list[tuple[str, str]] = []
    for f in fields(limits):
        value = getattr(limits, f.name)
        if isinstance(value, int) and name in f.name:
            numbers.append((f.name, f"{value:,} MB" if f.name.endswith("_mb") else f"{value:,}"))
    return numbers


def limit_lines(spec: Spec, name: str) -> list[str]:
    """One limit's section: its rule, its numbers and its citations."""
    lines = [f"### Limit: {name}", ""]
    rule = spec.limits.rules.get(name)
    if rule is not None:
        lines += [f"Rule: {rule}", ""]
    numbers = limit_numbers(spec.limits, name)
    if numbers:
        lines += [*table(("Value", "Amount"), ((code(k), v) for k, v in numbers)), ""]
    return lines + citation_lines(spec, spec.limits.cite[name])


def limits_lines(spec: Spec) -> list[str]:
    """The section of every configuration limit, in spec order."""
    invoke = f"[the Invoke deadline](#{deadline_anchor('invoke')})"
    lines = [
        "## Limits",
        "",
        "The ranges of a function's configuration that the lifecycle depends on; "
        f"a configuration outside them is refused. The function timeout's range is {invoke}.",
        "",
    ]
    for name in spec.limits.cite:
        lines += limit_lines(spec, name)
    return lines


def basis_lines(spec: Spec) -> list[str]:
    """How many rows each basis covers, and the assumed rows with their notes."""
    counts = ((b, sum(r.basis == b for r in spec.transitions)) for b in get_args(Basis))
    lines = [
        "## Basis",
        "",
        *table(("Basis", "Rows"), ((b, str(n)) for b, n in counts)),
        f"| total | {len(spec.transitions)} |",
        "",
        "Assumed rows:",
        "",
    ]
    assumed = [r for r in spec.transitions if r.basis == "assumed"]
    lines += [
        f"- [{code(r.id)}](#{slug(r.id)}) ({code(arrow(r))}): {r.note or '(no note in the spec)'}"
        for r in assumed
    ]
    if not assumed:
        lines.append("- none")
    return [*lines, ""]


def render_lifecycle_doc(spec: Spec) -> str:
    """The whole of ``docs/lifecycle.md`` for ``spec``, ending with a single newline."""
    lines = [
        *intro_lines(spec),
        *diagram_lines(spec),
        *states_lines(spec),
        *events_lines(spec),
        *guards_lines(spec),
        *transitions_lines(spec),
        *deadlines_lines(spec),
        *limits_lines(spec),
        *basis_lines(spec),
    ]
    return "\n".join(lines).rstrip("\n") + "\n"
