"""The README's example of `lambda-lifecycle check` is what the command really prints.

The block is ```` ```text ```` beginning with ``$ lambda-lifecycle check example.log``; the
command is run where the example lives, ``tests/fixtures/check``. Until the README has the
block, the test is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lambda_lifecycle.tools.cli import main

ROOT = Path(__file__).parent.parent
COMMAND = "lambda-lifecycle check example.log"


def test_the_check_example_in_the_readme_is_real(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"```text\n\$ {re.escape(COMMAND)}\n(.*?)```", readme, re.S)
    if match is None:
        pytest.skip("the README has no example of `check` yet")
    monkeypatch.chdir(ROOT / "tests" / "fixtures" / "check")
    assert main(COMMAND.split()[1:]) == 1
    assert capsys.readouterr().out == match[1], (
        "the README's example of `check` is stale: paste what the command prints"
    )
