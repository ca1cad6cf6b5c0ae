"""Pictures of a recorded run: Mermaid text, and one self-contained HTML page with SVG.

- :func:`to_mermaid_sequence`: a ``sequenceDiagram`` per environment, the platform, the runtime
  and each extension as participants, and the messages of :mod:`.timeline` between them.
- :func:`to_mermaid_timeline`: a ``gantt`` chart, one section per environment, one bar per
  phase (Init, Restore, Invoke, Frozen, Reset), like AWS's lifecycle figures.
- :func:`to_html`: both drawn as inline SVG in one HTML file that needs nothing else (no
  script, no network): a person opens it in a browser.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from .timeline import EnvironmentTrace, Span

__all__ = ["PHASE_COLOURS", "to_html", "to_mermaid_sequence", "to_mermaid_timeline"]

PHASE_COLOURS = {
    "Init": "#f5a623",
    "Restore": "#9b59b6",
    "Invoke": "#4a90d9",
    "Frozen": "#d8dee6",
    "Reset": "#d0021b",
}
_GANTT_TAGS = {"Init": "active, ", "Reset": "crit, ", "Frozen": "done, "}


def _mermaid_text(text: str) -> str:
    return text.replace(";", ",").replace("#", "").replace(":", " ")


def _ids(env: EnvironmentTrace) -> dict[str, str]:
    return {name: f"P{index}" for index, name in enumerate(env.participants())}


def to_mermaid_sequence(traces: list[EnvironmentTrace]) -> str:
    """One Mermaid ``sequenceDiagram`` per environment, separated by a blank line."""
    blocks = []
    for env in traces:
        ids = _ids(env)
        lines = ["sequenceDiagram", f"    title {_mermaid_text(env.name)}"]
        lines += [f"    participant {ids[name]} as {_mermaid_text(name)}" for name in ids]
        for message in env.messages:
            lines.append(
                f"    {ids[message.sender]}->>{ids[message.receiver]}: "
                f"{_mermaid_text(message.text)}"
            )
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def to_mermaid_timeline(traces: list[EnvironmentTrace]) -> str:
    """A Mermaid ``gantt`` chart of every environment's phases."""
    lines = [
        "gantt",
        "    title Phases per execution environment",
        "    dateFormat x",
        "    axisFormat %H:%M:%S.%L",
    ]
    for env in traces:
        lines.append(f"    section {_mermaid_text(env.name)}")
        for span in env.spans:
            end = max(_ms(span.end), _ms(span.start) + 1)
            tag = _GANTT_TAGS.get(span.phase, "")
            lines.append(f"    {_mermaid_text(span.label)} :{tag}{_ms(span.start)}, {end}")
    return "\n".join(lines) + "\n"


# --- HTML and SVG -------------------------------------------------------------------------------

_LANE = 34
_LEFT = 220
_WIDTH = 1100
_STEP = 26
_COLUMN = 170


def _timeline_svg(traces: list[EnvironmentTrace]) -> str:
    spans = [span for env in traces for span in env.spans]
    height = _LANE * len(traces) + 40
    if not spans:
        return f'<svg class="timeline" width="{_WIDTH}" height="40"></svg>'
    first = min(span.start for span in spans)
    last = max(span.end for span in spans)
    total = max((last - first).total_seconds(), 1e-3)
    scale = (_WIDTH - _LEFT - 20) / total
    parts = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}"'
        f' height="{height}" font-family="sans-serif" font-size="12">'
    ]
    for row, env in enumerate(traces):
        y = 10 + row * _LANE
        parts.append(f'<text x="4" y="{y + 17}">{escape(env.name[-32:])}</text>')
        for span in env.spans:
            x = _LEFT + (span.start - first).total_seconds() * scale
            width = max((span.end - span.start).total_seconds() * scale, 1.5)
            colour = PHASE_COLOURS.get(span.phase, "#999")
            parts.append(
                f'<rect class="phase {span.phase.lower()}" x="{x:.1f}" y="{y}"'
                f' width="{width:.1f}" height="{_LANE - 10}" fill="{colour}">'
                f"<title>{escape(_span_title(span))}</title></rect>"
            )
    axis_y = 10 + len(traces) * _LANE + 14
    parts.append(
        f'<text x="{_LEFT}" y="{axis_y}">0 s</text>'
        f'<text x="{_WIDTH - 20}" y="{axis_y}" text-anchor="end">{total:.3f} s</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def _span_title(span: Span) -> str:
    milliseconds = (span.end - span.start).total_seconds() * 1000
    return f"{span.label} ({milliseconds:.1f} ms)"


def _sequence_svg(env: EnvironmentTrace) -> str:
    names = env.participants()
    column = {name: 20 + index * _COLUMN + _COLUMN // 2 for index, name in enumerate(names)}
    width = 40 + _COLUMN * len(names)
    height = 60 + _STEP * (len(env.messages) + 1)
    parts = [
        f'<svg class="sequence" xmlns="http://www.w3.org/2000/svg" width="{width}"'
        f' height="{height}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" markerWidth="8" markerHeight="8" refX="8" refY="4"'
        ' orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#333"/></marker></defs>',
    ]
    for name, x in column.items():
        parts.append(
            f'<rect class="participant" x="{x - 70}" y="8" width="140" height="26"'
            f' fill="#eef2f7" stroke="#333"/>'
            f'<text x="{x}" y="26" text-anchor="middle">{escape(name[:22])}</text>'
            f'<line x1="{x}" y1="34" x2="{x}" y2="{height - 10}" stroke="#999"'
            ' stroke-dasharray="4 3"/>'
        )
    for index, message in enumerate(env.messages):
        y = 56 + index * _STEP
        x1, x2 = column[message.sender], column[message.receiver]
        parts.append(
            f'<line class="message" x1="{x1}" y1="{y}" x2="{x2}" y2="{y}" stroke="#333"'
            ' marker-end="url(#arrow)"/>'
            f'<text x="{(x1 + x2) / 2}" y="{y - 4}" text-anchor="middle">'
            f"{escape(message.text)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def to_html(traces: list[EnvironmentTrace], title: str = "lambda-lifecycle trace") -> str:
    """One HTML page: the legend, the timeline of every environment, then each environment's
    sequence diagram; no script and nothing fetched."""
    legend = "".join(
        f'<span class="key"><span style="background:{colour}"></span>{phase}</span>'
        for phase, colour in PHASE_COLOURS.items()
    )
    notes = [
        f"<p>{escape(env.name)}: no times in the input, phases laid end to end from their"
        " durations.</p>"
        for env in traces
        if env.synthetic
    ]
    sequences = "".join(
        f"<h2>{escape(env.name)}</h2>{_sequence_svg(env)}" for env in traces if env.messages
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>"
        "body{font-family:sans-serif;margin:1.5em}"
        ".key{margin-right:1.2em}.key span{display:inline-block;width:1em;height:1em;"
        "margin-right:.3em;vertical-align:middle}"
        "</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{legend}</p>"
        f"{''.join(notes)}<h2>Phases</h2>{_timeline_svg(traces)}{sequences}"
        "</body></html>\n"
    )
