"""The checker's quick reading of REPORT lines gives what the full parser gives, or nothing."""

from __future__ import annotations

import pytest

from lambda_lifecycle.check.fastlines import fast_report
from lambda_lifecycle.formats.records import Report
from lambda_lifecycle.formats.textlog import parse_line

BASE = "REPORT RequestId: r1\tDuration: 133.61 ms\tBilled Duration: 214 ms\tMemory Size: 128 MB"

READ = [
    f"{BASE}\tMax Memory Used: 31 MB",
    f"{BASE}\tMax Memory Used: 31 MB\t",
    f"{BASE}\tMax Memory Used: 31 MB\tInit Duration: 80.00 ms",
    f"{BASE}\tMax Memory Used: 31 MB\tInit Duration: 80.00 ms\tStatus: timeout",
    f"{BASE}\tMax Memory Used: 31 MB\tStatus: error\tError Type: Runtime.ExitError",
    "REPORT RequestId: r1\tDuration: 3 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB"
    "\tMax Memory Used: 128 MB",
]
LEFT_TO_THE_PARSER = [
    BASE.replace("\t", " ") + " Max Memory Used: 31 MB",  # the documentation's spaces
    f"{BASE}\tMax Memory Used: - MB",
    f"{BASE}\tMax Memory Used: 31 MB\tRestore Duration: 10.00 ms\tBilled Restore Duration: 10 ms",
    f"{BASE}\tMax Memory Used: 31 MB\nXRAY TraceId: 1-a\tSegmentId: b\tSampled: true",
    f"{BASE}\tMax Memory Used: 31 MB\tStatus: later",
    f"{BASE}\tMax Memory Used: 3x MB",
    f"{BASE}\tMax Memory Used: \uff13 MB",  # a full-width digit
    f"{BASE}\tMax Memory Used: 31 MB\tError Type: X\tStatus: error",
    f"{BASE}",
]


@pytest.mark.parametrize("line", READ)
def test_fast_reading_agrees_with_the_parser(line: str) -> None:
    fast = fast_report(line)
    full = parse_line(line)
    assert isinstance(full, Report) and fast is not None
    for name in (
        "request_id",
        "status",
        "error_type",
        "duration_ms",
        "billed_duration_ms",
        "memory_size_mb",
        "max_memory_used_mb",
        "init_duration_ms",
        "restore_duration_ms",
        "billed_restore_duration_ms",
    ):
        assert getattr(fast, name) == getattr(full, name), name


@pytest.mark.parametrize("line", LEFT_TO_THE_PARSER)
def test_anything_else_is_left_to_the_parser(line: str) -> None:
    assert fast_report(line) is None
