"""docs/check.md shows what `lambda-lifecycle check` really prints for its example."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lambda_lifecycle.tools.cli import main

ROOT = Path(__file__).parent.parent


def test_the_example_output_in_the_docs_is_real(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    page = (ROOT / "docs" / "check.md").read_text(encoding="utf-8")
    match = re.search(r"```text\n\$ lambda-lifecycle check example.log\n(.*?)```", page, re.S)
    assert match is not None
    monkeypatch.chdir(ROOT / "tests" / "fixtures" / "check")
    assert main(["check", "example.log"]) == 1
    assert capsys.readouterr().out == match[1]
