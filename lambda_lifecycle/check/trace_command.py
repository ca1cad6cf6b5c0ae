"""``lambda-lifecycle trace FILE...``: pictures of a recorded run.

Reads the same inputs as ``check`` (a Telemetry API capture shows the most: the extensions and
every message; a text log with times shows the phases) and prints a Mermaid sequence diagram,
a Mermaid timeline of the phases, or writes one self-contained HTML page with both as SVG.
Imported only when ``trace`` is the command given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .model import Finding
from .pictures import to_html, to_mermaid_sequence, to_mermaid_timeline
from .sources import LIFECYCLE_TYPES, Unreadable, read_input
from .timeline import TraceBuilder

__all__ = ["configure_trace", "run_trace"]

TRACE_TYPES = LIFECYCLE_TYPES | {"platform.extension"}


def configure_trace(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``trace``."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="as for check; - for stdin")
    parser.add_argument(
        "-f",
        "--format",
        choices=("sequence", "timeline", "html"),
        default="sequence",
        help="a Mermaid sequence diagram (default), a Mermaid timeline of the phases, or an"
        " HTML page with both drawn as SVG",
    )
    parser.add_argument("-o", "--output", type=Path, metavar="FILE", help="write to FILE")
    parser.add_argument(
        "--max-messages",
        type=int,
        default=400,
        metavar="N",
        help="at most N messages per environment in the sequence diagram (default 400)",
    )


def run_trace(args: argparse.Namespace) -> int:
    """Render the run; 2 when an input cannot be read."""
    builder = TraceBuilder(max_messages=args.max_messages)

    def ignore(_: Finding) -> None:
        return None

    try:
        for name in args.files:
            for seen in read_input(name, ignore, TRACE_TYPES):
                builder.feed(seen)
    except Unreadable as exc:
        print(f"lambda-lifecycle: error: {exc}", file=sys.stderr)
        return 2
    traces = builder.build(())
    if args.format == "html":
        text = to_html(traces)
    elif args.format == "timeline":
        text = to_mermaid_timeline(traces)
    else:
        text = to_mermaid_sequence(traces)
    if args.output is not None:
        args.output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0
