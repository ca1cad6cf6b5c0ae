"""``lambda-lifecycle check FILE...``: the command line of the checker.

Imported only when ``check`` is the command given. Exit status 0 when every input conforms, 1
for violations or malformed lines, 2 when an input cannot be read (and 2 for a usage error, as
argparse does).
"""

from __future__ import annotations

import argparse
import sys

from .checker import check_inputs
from .output import render_json, render_text

__all__ = ["configure_check", "run_check"]


def configure_check(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``check``."""
    parser.add_argument(
        "files",
        nargs="+",
        metavar="FILE",
        help="CloudWatch text or JSON logs, an `aws logs` JSON export, or a Telemetry API"
        " capture; - for stdin",
    )
    parser.add_argument(
        "-f",
        "--format",
        choices=("text", "json"),
        default="text",
        help="the report: text (default) or json",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="the function timeout, to check Invoke phases against it (else learned from"
        " 'Task timed out' notices, or the 900 s maximum)",
    )
    parser.add_argument(
        "--max-findings",
        type=int,
        default=10_000,
        metavar="N",
        help="keep at most N findings in the report (all are counted; default 10000)",
    )


def run_check(args: argparse.Namespace) -> int:
    """Check the inputs, print the report, return the exit status."""
    from ..specs import load_spec  # noqa: PLC0415

    timeout_ms = None if args.timeout is None else round(args.timeout * 1000)
    result = check_inputs(
        args.files, load_spec(), timeout_ms=timeout_ms, max_findings=args.max_findings
    )
    render = render_json if args.format == "json" else render_text
    sys.stdout.write(render(result))
    for problem in result.unreadable:
        print(f"lambda-lifecycle: error: {problem}", file=sys.stderr)
    return result.exit_status
