"""The ``lambda-lifecycle`` command line.

Every command reads the bundled spec and prints something derived from it: ``diagram`` renders the
state diagram (Mermaid, Graphviz DOT or SVG), ``docs`` generates ``docs/lifecycle.md`` or checks
that the committed page is current, and ``spec`` summarises the spec or prints its JSON. There is
no second description of the lifecycle anywhere in this module.

Each subcommand is a :class:`Command`: a function that adds its arguments to an
:mod:`argparse` sub-parser and a function that runs it and returns the exit status. The commands
live in one table, :data:`COMMANDS`; another module adds its own with :func:`register` before
:func:`main` builds the parser.

:func:`main` imports only what the command it runs needs: the table names each command's
functions, and a first pass of :mod:`argparse` over the command line picks the one sub-parser
whose arguments are added (so ``serve`` does not import the spec, the diagrams or the demo, and
``--version`` reads the installed version only when asked).

:func:`main` never raises for an expected failure: a usage error exits 2 (argparse's message on
stderr), a :class:`~lambda_lifecycle.core.errors.LifecycleError` or an :class:`OSError` prints one
line ``lambda-lifecycle: error: <message>`` and exits 1, and Ctrl-C exits 130 quietly.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..core.errors import LifecycleError

if TYPE_CHECKING:
    from ..core.spec import Spec

PROG = "lambda-lifecycle"
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INTERRUPTED = 130

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace], int]


class Command(NamedTuple):
    """A subcommand: its name, its one-line help, how to add its arguments and how to run it.

    (A named tuple rather than a dataclass: ``serve`` listens before :mod:`dataclasses` and
    what it imports are loaded.)"""

    name: str
    help: str
    configure: Configure
    run: Run


def lazy(module: str, name: str) -> Callable[..., Any]:
    """``name`` of the module ``module`` (relative to this package), imported at the first call."""

    def call(*args: Any) -> Any:
        function: Callable[..., Any] = getattr(importlib.import_module(module, __package__), name)
        return function(*args)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = f"``{module}.{name}``, imported when first called."
    return call


# --- Output ----------------------------------------------------------------------------------


def emit(data: str | bytes, output: Path | None) -> None:
    """Write ``data`` to ``output``, or to stdout when it is ``None`` (bytes unencoded)."""
    if output is not None:
        if isinstance(data, bytes):
            output.write_bytes(data)
        else:
            output.write_text(data, encoding="utf-8", newline="\n")
    elif isinstance(data, bytes):
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        sys.stdout.write(data)


def add_output_argument(parser: argparse.ArgumentParser, what: str) -> None:
    """The ``-o FILE`` option shared by the commands that produce a file."""
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help=f"write {what} to FILE instead of stdout",
    )


# --- diagram ---------------------------------------------------------------------------------

DIAGRAM_FORMATS: dict[str, Callable[[Spec], str | bytes]] = {
    "mermaid": lazy(".diagram", "to_mermaid"),
    "dot": lazy(".diagram", "to_dot"),
    "svg": lazy(".diagram", "to_svg"),
}


def configure_diagram(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``diagram``."""
    parser.add_argument(
        "-f",
        "--format",
        choices=tuple(DIAGRAM_FORMATS),
        default="mermaid",
        help="mermaid (default) or dot need nothing installed; svg runs Graphviz's dot",
    )
    add_output_argument(parser, "the diagram")


def run_diagram(args: argparse.Namespace) -> int:
    """Print or write the state diagram."""
    from ..specs import load_spec  # noqa: PLC0415

    render = DIAGRAM_FORMATS[args.format]
    emit(render(load_spec()), args.output)
    return EXIT_OK


# --- docs ------------------------------------------------------------------------------------


DOC_PATH = "docs/lifecycle.md"
"""Where ``docs`` writes and checks the page (``docgen.DOC_PATH``; a test keeps them equal)."""


def configure_docs(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``docs``."""
    add_output_argument(parser, "the page")
    parser.add_argument(
        "--check",
        action="store_true",
        help=f"compare the page with FILE (default {DOC_PATH}) and fail if it is out of date",
    )


def run_docs(args: argparse.Namespace) -> int:
    """Print, write or check the generated ``docs/lifecycle.md``."""
    from ..specs import load_spec  # noqa: PLC0415
    from .docgen import render_lifecycle_doc  # noqa: PLC0415

    text = render_lifecycle_doc(load_spec())
    if not args.check:
        emit(text, args.output)
        return EXIT_OK
    target: Path = args.output or Path(DOC_PATH)
    if target.read_text(encoding="utf-8") != text:
        print(
            f"{PROG}: {target} is out of date with the spec; "
            f"regenerate it with `{PROG} docs -o {target}`",
            file=sys.stderr,
        )
        return EXIT_FAILURE
    print(f"{target} is up to date")
    return EXIT_OK


# --- spec ------------------------------------------------------------------------------------


def configure_spec(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``spec``."""
    parser.add_argument("--json", action="store_true", help="print the bundled spec JSON")


def spec_summary(spec: Spec) -> str:
    """A one-screen summary of ``spec``."""
    from collections import Counter  # noqa: PLC0415
    from typing import get_args  # noqa: PLC0415

    from ..core.spec import Basis  # noqa: PLC0415

    by_basis = Counter(row.basis for row in spec.transitions)
    bases = ", ".join(f"{basis} {by_basis[basis]}" for basis in get_args(Basis))
    lines = [
        f"{spec.title}, spec version {spec.version}",
        "",
        f"states       {len(spec.states):>3}  {', '.join(spec.states)}",
        f"  initial         {spec.initial_state}",
        f"  final           {', '.join(spec.final_states)}",
        f"events       {len(spec.events):>3}  {', '.join(spec.events)}",
        f"guards       {len(spec.guards):>3}  {', '.join(spec.guards)}",
        f"transitions  {len(spec.transitions):>3}  {bases}",
        f"deadlines    {len(spec.deadlines.cite):>3}  {', '.join(spec.deadlines.cite)}",
        f"sources      {len(spec.sources):>3}  {', '.join(spec.sources)}",
    ]
    return "\n".join(lines) + "\n"


def run_spec(args: argparse.Namespace) -> int:
    """Print the spec summary, or the bundled spec JSON."""
    from ..specs import load_spec, spec_text  # noqa: PLC0415

    if args.json:
        text = spec_text()
        emit(text if text.endswith("\n") else text + "\n", None)
    else:
        emit(spec_summary(load_spec()), None)
    return EXIT_OK


# --- The command table -----------------------------------------------------------------------

COMMANDS: dict[str, Command] = {}
"""Every subcommand, by name, in the order ``--help`` lists them."""


def register(command: Command) -> Command:
    """Add ``command`` to :data:`COMMANDS` (a name may be registered once)."""
    if command.name in COMMANDS:
        raise ValueError(f"a {PROG} command named {command.name!r} is already registered")
    COMMANDS[command.name] = command
    return command


register(
    Command(
        "demo",
        "walk one environment through the lifecycle and print every step",
        lazy(".demo", "configure_demo"),
        lazy(".demo", "run_demo"),
    )
)
register(Command("diagram", "print the lifecycle state diagram", configure_diagram, run_diagram))
register(Command("docs", "generate or check docs/lifecycle.md", configure_docs, run_docs))
register(
    Command("spec", "summarise the lifecycle spec, or print its JSON", configure_spec, run_spec)
)
register(
    Command(
        "serve",
        "serve a function locally: the Runtime, Extensions and Telemetry APIs and an invoke "
        "endpoint",
        lazy(".serve", "configure_serve"),
        lazy(".serve", "run_serve"),
    )
)
register(
    Command(
        "invoke",
        "invoke a function served by `serve`",
        lazy(".serve", "configure_invoke"),
        lazy(".serve", "run_invoke"),
    )
)
register(
    Command(
        "check",
        "check CloudWatch logs or Telemetry API captures against the lifecycle spec",
        lazy("..check.command", "configure_check"),
        lazy("..check.command", "run_check"),
    )
)
register(
    Command(
        "trace",
        "draw a recorded run: a Mermaid sequence diagram, a timeline of phases, or HTML",
        lazy("..check.trace_command", "configure_trace"),
        lazy("..check.trace_command", "run_trace"),
    )
)


# --- main ------------------------------------------------------------------------------------


class _Version(argparse.Action):
    """``--version``: the installed version, read only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
        kwargs.update(nargs=0, default=argparse.SUPPRESS)
        super().__init__(option_strings, dest, **kwargs)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        from .. import __version__  # noqa: PLC0415

        sys.stdout.write(f"{PROG} {__version__}\n")
        parser.exit()


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser, with one sub-parser per registered command.

    With ``only``, only that command's sub-parser gets its arguments (the others are listed,
    but importing what their arguments need is left until they are chosen).
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="An executable model of the AWS Lambda execution environment lifecycle.",
    )
    parser.add_argument("--version", action=_Version, help="show the version and exit")
    commands = parser.add_subparsers(
        title="commands", dest="command", metavar="COMMAND", required=True
    )
    for command in COMMANDS.values():
        sub = commands.add_parser(command.name, help=command.help, description=command.help)
        if only is None or only == command.name:
            command.configure(sub)
        sub.set_defaults(run=command.run)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command ``argv`` names, from a first pass of argparse over it (None: none yet)."""
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("command", nargs="?")
    first.add_argument("rest", nargs=argparse.REMAINDER)
    try:
        known, _ = first.parse_known_args(argv)
    except SystemExit:  # pragma: no cover (the first pass takes anything)
        return None
    name: str | None = known.command
    return name if name in COMMANDS else None


def exit_status(code: str | int | None) -> int:
    """The exit status that a :class:`SystemExit` code stands for."""
    if code is None:
        return EXIT_OK
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return EXIT_FAILURE


def one_line(exc: BaseException) -> str:
    """The message of ``exc`` on one line."""
    parts = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return "; ".join(parts) or type(exc).__name__


def silence_stdout() -> None:
    """Point stdout at the null device, so that a closed pipe is not reported again at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (captured, replaced)
        pass
    finally:
        os.close(devnull)


def run_command(args: argparse.Namespace) -> int:
    """Run the parsed command, turning expected failures into one line on stderr."""
    run: Run = args.run
    try:
        return run(args)
    except BrokenPipeError:  # the reader went away (``| head``): nothing left to say
        silence_stdout()
        return EXIT_FAILURE
    except (LifecycleError, OSError) as exc:
        print(f"{PROG}: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``lambda-lifecycle`` with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    try:
        try:
            if argv is None:
                argv = sys.argv[1:]
            args = build_parser(only=chosen_command(argv) or "").parse_args(argv)
        except SystemExit as exc:  # --help, --version and usage errors
            return exit_status(exc.code)
        return run_command(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
