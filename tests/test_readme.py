"""The README's promises: its diagram is the generated one, and CI runs its test command."""

from __future__ import annotations

import re
from pathlib import Path

import anyio
import pytest

from lambda_lifecycle import Environment, InProcessRuntime
from lambda_lifecycle.specs import load_spec
from lambda_lifecycle.tools.diagram import to_mermaid

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def sh_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)```", README, re.DOTALL)


def test_readme_diagram_is_what_the_diagram_command_prints() -> None:
    blocks = re.findall(r"```mermaid\n(.*?)```", README, re.DOTALL)
    assert blocks == [to_mermaid(load_spec())], (
        "the README's Mermaid block is stale: paste the output of `lambda-lifecycle diagram`"
    )


def test_readme_starts_with_exactly_two_setup_commands() -> None:
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.*?)```", setup, re.DOTALL)
    assert len(commands) == 2
    main_job, tests = (c.strip() for c in commands)
    assert main_job.endswith("lambda-lifecycle demo")
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    setup = README.split("## Set up", 1)[1].split("\n## ", 1)[0]
    test_command = re.findall(r"```sh\n(.*?)```", setup, re.DOTALL)[1].strip()
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci


def test_readme_embedding_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    block = re.findall(r"```python\n(.*?)```", README, re.DOTALL)[0]
    exec(compile(block, "README.md", "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out
    assert "{'count': 1}" in out
    assert "['init', 'init-complete-invoke', 'invoke-complete']" in out


def test_readme_logs_and_telemetry_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    block = re.findall(r"```python\n(.*?)```", README, re.DOTALL)[1]
    scope: dict[str, object] = {}
    exec(compile(block, "README.md", "exec"), scope)

    async def runtime(client: object) -> None:
        while True:
            event = await client.next()  # type: ignore[attr-defined]
            client.respond(event.request_id, b"{}")  # type: ignore[attr-defined]

    async def main() -> None:
        async with Environment(InProcessRuntime(runtime)) as env:
            await scope["observe"](env)  # type: ignore[operator]

    anyio.run(main)
    out = capsys.readouterr().out
    assert out.startswith("INIT_START\n")  # no runtime version configured: no version fields
    assert "START RequestId:" in out
    assert "REPORT RequestId:" in out
    assert "telemetry events" in out
