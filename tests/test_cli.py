"""The command line: every command, its exit status, and no traceback on expected failures."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lambda_lifecycle import __version__, specs
from lambda_lifecycle.specs import load_spec, spec_text
from lambda_lifecycle.tools import cli, docgen
from lambda_lifecycle.tools.cli import main
from lambda_lifecycle.tools.diagram import to_dot, to_mermaid
from lambda_lifecycle.tools.docgen import render_lifecycle_doc


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"lambda-lifecycle {__version__}\n"


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().err


def test_diagram_default_is_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram"]) == 0
    assert capsys.readouterr().out == to_mermaid(load_spec())


def test_diagram_dot(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "--format", "dot"]) == 0
    assert capsys.readouterr().out == to_dot(load_spec())


def test_diagram_to_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "lifecycle.mmd"
    assert main(["diagram", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == to_mermaid(load_spec())
    assert capsys.readouterr().out == ""


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["diagram", "--format", "png"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "usage:" in captured.err
    assert "png" in captured.err
    assert "Traceback" not in captured.err


def test_svg_without_graphviz_is_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: None)
    assert main(["diagram", "--format", "svg"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("lambda-lifecycle: error: ")
    assert "graphviz" in lines[0].lower()
    assert "Traceback" not in captured.err


def test_failing_dot_is_one_line_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(shutil, "which", lambda _name: sys.executable)
    assert main(["diagram", "--format", "svg"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lambda-lifecycle: error: ")
    assert len(err.splitlines()) == 1


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot is not installed")
def test_svg_to_file_is_binary(tmp_path: Path) -> None:
    target = tmp_path / "lifecycle.svg"
    assert main(["diagram", "--format", "svg", "-o", str(target)]) == 0
    assert b"<svg" in target.read_bytes()


def test_write_to_missing_directory_is_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diagram", "-o", str(tmp_path / "no" / "such" / "dir.mmd")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lambda-lifecycle: error: ")
    assert len(err.splitlines()) == 1


def test_docs_prints_the_page(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["docs"]) == 0
    assert capsys.readouterr().out == render_lifecycle_doc(load_spec())


def test_docs_writes_then_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "lifecycle.md"
    assert main(["docs", "-o", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == render_lifecycle_doc(load_spec())
    assert main(["docs", "--check", "-o", str(target)]) == 0
    assert "up to date" in capsys.readouterr().out


def test_docs_check_of_stale_file_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "lifecycle.md"
    target.write_text("# stale\n", encoding="utf-8")
    assert main(["docs", "--check", "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert "out of date" in err
    assert "lambda-lifecycle docs -o" in err


def test_docs_check_of_missing_file_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["docs", "--check", "-o", str(tmp_path / "absent.md")]) == 1
    assert capsys.readouterr().err.startswith("lambda-lifecycle: error: ")


def test_spec_summary(capsys: pytest.CaptureFixture[str]) -> None:
    spec = load_spec()
    assert main(["spec"]) == 0
    out = capsys.readouterr().out
    assert spec.title in out
    assert f"transitions  {len(spec.transitions):>3}" in out
    for basis in ("documented", "observed", "assumed"):
        count = sum(row.basis == basis for row in spec.transitions)
        assert f"{basis} {count}" in out
    assert len(out.splitlines()) <= 24


def test_spec_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "--json"]) == 0
    assert capsys.readouterr().out.rstrip("\n") == spec_text().rstrip("\n")


def test_keyboard_interrupt_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def interrupted() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(specs, "load_spec", interrupted)  # imported by the command when it runs
    assert main(["spec"]) == 130
    assert capsys.readouterr().err == ""


def test_register_refuses_a_duplicate_name() -> None:
    existing = cli.COMMANDS["spec"]
    with pytest.raises(ValueError, match="already registered"):
        cli.register(existing)


def test_python_dash_m_runs_the_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lambda_lifecycle", "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"lambda-lifecycle {__version__}\n"


def test_the_command_line_knows_where_the_generated_page_lives() -> None:
    assert cli.DOC_PATH == docgen.DOC_PATH


def test_serve_does_not_import_what_other_commands_need() -> None:
    code = (
        "import sys; from lambda_lifecycle.tools.cli import main, build_parser, chosen_command;"
        "build_parser(only=chosen_command(['serve', '--help']));"
        "print(sorted(m for m in ('lambda_lifecycle.tools.demo', 'lambda_lifecycle.tools.docgen',"
        " 'lambda_lifecycle.tools.diagram', 'importlib.metadata') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = done.stdout.strip()
    # importlib.metadata may come from the package's own import; the tools must not be there.
    assert "tools.demo" not in loaded and "tools.docgen" not in loaded, loaded
    assert "tools.diagram" not in loaded, loaded
