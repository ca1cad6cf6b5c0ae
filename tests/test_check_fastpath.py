"""The block reader with warm invocations taken in bulk gives exactly what reading every line
on its own gives: the same report (text and JSON), findings, line numbers and exit status."""

from __future__ import annotations

import io
import random
import sys
from pathlib import Path

import pytest

from lambda_lifecycle.check import blocks, check_inputs
from lambda_lifecycle.check.output import render_json, render_text
from lambda_lifecycle.check.warmscan import WarmRun, scan_block
from lambda_lifecycle.specs import load_spec
from lambda_lifecycle.tools.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "check"
GOLDEN = sorted(FIXTURES.rglob("*.log"))


def reports(path: Path, **kwargs: int) -> tuple[str, str, int]:
    """The text report, the JSON report and the exit status, read the fast way; the same read
    line by line must agree."""
    spec = load_spec()
    fast = check_inputs([str(path)], spec, warm_runs=True, **kwargs)
    slow = check_inputs([str(path)], spec, warm_runs=False, **kwargs)
    assert render_json(fast) == render_json(slow)
    assert render_text(fast) == render_text(slow)
    assert fast.exit_status == slow.exit_status
    return render_text(fast), render_json(fast), fast.exit_status


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_the_golden_logs_read_the_same_both_ways(path: Path) -> None:
    reports(path)


def rid(n: int) -> str:
    return f"{n:08x}-0000-4000-8000-{n * 7919 % 10**12:012d}"


def plain(n: int, duration: str = "20.37", billed: int = 21, used: int = 60) -> list[str]:
    return [
        f"START RequestId: {rid(n)} Version: $LATEST",
        f"[INFO]\t2025-09-01T10:00:00.000Z\t{rid(n)}\tprocessed {n}",
        f"END RequestId: {rid(n)}",
        f"REPORT RequestId: {rid(n)}\tDuration: {duration} ms\tBilled Duration: {billed} ms"
        f"\tMemory Size: 512 MB\tMax Memory Used: {used} MB",
    ]


def odd_invocation(n: int, kind: int) -> list[str]:
    """One invocation with something the bulk path must not take, or must take exactly."""
    lines = plain(n)
    if kind == 0:  # a repeated request id, soon after
        return plain(n - 3)
    if kind == 1:  # memory used = memory size: a hint
        return plain(n, used=512)
    if kind == 2:  # billed wrong
        return plain(n, billed=99)
    if kind == 3:  # longer than the longest timeout
        return plain(n, duration="900100.00", billed=900100)
    if kind == 4:  # a timeout, then a suppressed init
        lines[3] += "\tStatus: timeout"
        lines[3] = lines[3].replace(
            "20.37 ms\tBilled Duration: 21", "3000.00 ms\tBilled Duration: 3000"
        )
        return lines
    if kind == 5:  # Status: success, trailing blanks
        lines[3] += "\tStatus: success  "
        return lines
    if kind == 6:  # Init Duration where it does not belong
        lines[3] += "\tInit Duration: 100.00 ms"
        return lines
    if kind == 7:  # application lines that begin like Lambda's, a time, JSON, blanks
        return [
            lines[0],
            "Starting the handler",
            "Ending soon",
            "2025-09-01T10:00:00.000Z\tINFO\tfrom node",
            '{"level": "INFO", "message": "json app log"}',
            "[ not json",
            "",
            "RequestId: in a sentence",
            "\x00 a NUL first",
            lines[2],
            lines[3],
        ]
    if kind == 8:  # START without its END
        return [lines[0], lines[3]]
    if kind == 9:  # END and REPORT of another request
        return [lines[0], f"END RequestId: {rid(n + 1)}", lines[3]]
    if kind == 10:  # the documentation's spaces
        return [*lines[:3], lines[3].replace("\t", " ")]
    if kind == 11:  # the older error notice in two lines
        return [
            lines[0],
            f"RequestId: {rid(n)} Error: Runtime exited with error: exit status 1",
            "Runtime.ExitError",
            lines[2],
            lines[3] + "\tStatus: error\tError Type: Runtime.ExitError",
        ]
    if kind == 12:  # a malformed Lambda line
        return [lines[0], "INIT_REPORT Init Duration: x ms", *lines[2:]]
    if kind == 13:  # a Duration that the strict reader refuses
        return plain(n, duration="20.")
    if kind == 14:  # bytes that are not UTF-8, a non-ASCII request id
        return [
            lines[0],
            "caf\udce9 \u00e9t\u00e9",
            lines[2],
            lines[3].replace("0000-4000", "00\u00e9-4000"),
        ]
    if kind == 15:  # Windows line ends
        return [line + "\r" for line in lines]
    if kind == 16:  # lone carriage returns, which the line reader takes for line ends
        return [lines[0] + "\r" + lines[1], lines[2] + "\r\r" + lines[3]]
    return lines


def generated(seed: int, count: int) -> str:
    """A log of ``count`` invocations, mostly plain, now and then one of the odd kinds."""
    chance = random.Random(seed)
    lines = ["INIT_START Runtime Version: python:3.13.v14\tRuntime Version ARN: arn:x"]
    first = plain(1, duration="20.00", billed=171)
    first[3] += "\tInit Duration: 150.25 ms"
    lines += first
    for n in range(2, count):
        if chance.random() < 0.08:
            lines += odd_invocation(n, chance.randrange(18))
        else:
            lines += plain(n, duration=f"{20 + n % 97 * 1.37:.2f}", billed=21 + n % 97 * 137 // 100)
    return "\n".join(lines) + ("\n" if chance.random() < 0.5 else "")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "generated.log"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    return path


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("block_size", [64, 700, 1 << 20])
def test_generated_logs_with_violations_read_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int, block_size: int
) -> None:
    monkeypatch.setattr(blocks, "BLOCK_SIZE", block_size)
    text, _, status = reports(write(tmp_path, generated(seed, 400)), max_findings=50)
    assert status == 1 and "violations" in text


def test_a_log_of_only_plain_invocations_is_taken_in_bulk(tmp_path: Path) -> None:
    lines = [line for n in range(2, 3000) for line in plain(n)]
    path = write(tmp_path, "\n".join(lines) + "\n")
    _, _, status = reports(path)
    assert status == 0
    block = b"\n" + path.read_bytes()
    found, after = scan_block(block, 1)
    assert after == len(lines) + 1
    assert [type(item) for item in found] == [WarmRun]
    run = found[0]
    assert isinstance(run, WarmRun)
    assert len(run.rids) == 2998 and run.starts[:2] == [1, 5] and run.ends[-1] == len(lines) - 1


def test_line_numbers_stay_exact_around_block_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(blocks, "BLOCK_SIZE", 100)
    lines = [line for n in range(2, 40) for line in plain(n)]
    lines[57] = "REPORT RequestId: broken"  # an unreadable REPORT, with its line number
    text, _, status = reports(write(tmp_path, "\n".join(lines)))
    assert status == 1
    assert "generated.log:58: " in text


@pytest.mark.parametrize(
    "content",
    [
        "",
        "\n\n\n",
        "\n".join(plain(2)),
        "\n" * 5 + "\n".join(plain(2) + plain(3)) + "\n",
        "[" + "\n".join(plain(2)),  # a JSON document that breaks off: unreadable
        '{"time": "2025-09-01T10:00:00.000Z", "type": "platform.start", "record": {}}\n'
        + "\n".join(plain(2)),
    ],
    ids=["empty", "blank", "one", "blank-first", "broken-json", "json-lines"],
)
def test_small_and_odd_inputs_read_the_same_both_ways(tmp_path: Path, content: str) -> None:
    reports(write(tmp_path, content))


def test_stdin_reads_the_same_both_ways(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = generated(3, 300)
    outputs = []
    for fast in (True, False):
        stdin = io.TextIOWrapper(io.BytesIO(text.encode("utf-8", "surrogateescape")))
        monkeypatch.setattr(sys, "stdin", stdin)
        monkeypatch.setattr(
            "lambda_lifecycle.check.command.check_inputs",
            lambda *args, _fast=fast, **kwargs: check_inputs(*args, warm_runs=_fast, **kwargs),
        )
        status = main(["check", "--format", "json", "-"])
        outputs.append((status, capsys.readouterr().out))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 1


@pytest.mark.parametrize("billed", [20, 21])
def test_a_duration_with_more_than_six_decimals_is_rounded_as_the_line_reader_does(
    tmp_path: Path, billed: int
) -> None:
    lines = [line for n in range(2, 50) for line in plain(n)]
    lines += plain(60, duration="20.0000001", billed=billed)  # round(d, 6) is 20.0
    _, _, status = reports(write(tmp_path, "\n".join(lines) + "\n"))
    assert status == (0 if billed == 20 else 1)


def test_a_decimal_of_at_most_six_places_is_its_own_round() -> None:
    chance = random.Random(13)
    samples = ["0.000001", "1.000005", "9999999.999999", "2.5", "0.125", "1234567.000001"]
    for _ in range(20_000):
        places = chance.randrange(7)
        whole = str(chance.randrange(10 ** chance.randrange(1, 8)))
        samples.append(
            whole + ("." + str(chance.randrange(10**places)).zfill(places) if places else "")
        )
    for text in samples:
        value = float(text)
        assert round(value, 6) == value, text
