"""The pure core's small pieces: configuration ranges, deadlines, billing, payloads, variables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lambda_lifecycle import ConfigurationError, Environment, FunctionConfig
from lambda_lifecycle.core.deadlines import (
    ShutdownBudget,
    billed_duration_ms,
    init_limit_ms,
    restore_limit_ms,
    shutdown_budget,
)
from lambda_lifecycle.core.payloads import describe_exit, runtime_exited, timed_out
from lambda_lifecycle.core.spec import Spec
from lambda_lifecycle.core.variables import WITHHELD_FROM_EXTENSIONS, participant_variables
from lambda_lifecycle.core.walk import Step, walk_violations
from lambda_lifecycle.engine.invocation import new_request_id, new_trace_id

from .support import EchoRuntime, RecordingExtension


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("timeout", 0.5, "timeout 0.5 is outside AWS's range 1 to 900 s"),
        ("timeout", 901, "outside AWS's range 1 to 900 s"),
        ("memory_mb", 127, "memory_mb 127 is outside AWS's range 128 to 10240 MB"),
        ("memory_mb", 256.5, "whole number"),
        ("ephemeral_storage_mb", 10_241, "ephemeral_storage_mb"),
        ("initialization_type", "eager", "must be one of on-demand"),
        ("function_name", "bad name!", "function_name"),
        ("function_version", "v1", "function_version"),
        ("region", "mars-1", "region"),
        ("account_id", "123", "12 digits"),
        ("idle_timeout", 0, "idle_timeout"),
        ("timeout", True, "must be a number"),
    ],
)
def test_configuration_outside_aws_ranges_is_refused(field: str, value: object, words: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(words)):
        FunctionConfig(**{field: value})  # type: ignore[arg-type]


def test_snapstart_needs_a_published_version() -> None:
    with pytest.raises(ConfigurationError, match="published versions"):
        FunctionConfig(initialization_type="snap-start")
    assert FunctionConfig(initialization_type="snap-start", function_version="3")


def test_function_arn() -> None:
    assert FunctionConfig(function_name="f").function_arn == (
        "arn:aws:lambda:us-east-1:000000000000:function:f"
    )
    assert FunctionConfig(function_name="f", function_version="4").function_arn.endswith(":f:4")


def test_more_than_ten_extensions_is_refused() -> None:
    exts = [RecordingExtension(name=f"e{i}").participant() for i in range(11)]
    with pytest.raises(ConfigurationError, match="at most 10"):
        Environment(EchoRuntime().participant(), exts)


def test_duplicate_extension_names_are_refused() -> None:
    exts = [RecordingExtension(name="same").participant() for _ in range(2)]
    with pytest.raises(ConfigurationError, match="unique"):
        Environment(EchoRuntime().participant(), exts)


def test_init_limits(spec: Spec) -> None:
    d = spec.deadlines
    assert init_limit_ms(d, FunctionConfig(timeout=900), "init") == 10_000
    assert init_limit_ms(d, FunctionConfig(timeout=5), "invoke") == 5_000
    pc = FunctionConfig(initialization_type="provisioned-concurrency", timeout=60)
    assert init_limit_ms(d, pc, "init") == 130_000
    pc_long = FunctionConfig(initialization_type="provisioned-concurrency", timeout=600)
    assert init_limit_ms(d, pc_long, "init") == 600_000
    assert restore_limit_ms(d) == 10_000


def test_shutdown_budgets(spec: Spec) -> None:
    d = spec.deadlines
    assert shutdown_budget(d, 0, 0) == ShutdownBudget(0, 0, sigterm=False)
    assert shutdown_budget(d, 2, 0) == ShutdownBudget(500, 500, sigterm=True)
    assert shutdown_budget(d, 0, 1) == ShutdownBudget(2000, 300, sigterm=True)
    assert shutdown_budget(d, 1, 3) == ShutdownBudget(2000, 500, sigterm=True)


@pytest.mark.parametrize(
    ("duration", "init", "billed"),
    [
        (133.61, 80.00, 214),  # AWS's examples since the 2025-08-01 billing change
        (3016.78, 84.00, 3101),
        (3004.92, 111.23, 3117),
        (100.0, None, 100),  # no float noise rounding an exact value up
        (0.01, None, 1),
        (933.59, None, 934),
    ],
)
def test_billed_duration(duration: float, init: float | None, billed: int) -> None:
    assert billed_duration_ms(duration, init) == billed


def test_error_payload_wording() -> None:
    assert timed_out("r", 1) == {
        "errorMessage": "RequestId: r Error: Task timed out after 1.00 seconds",
        "errorType": "Sandbox.Timedout",
    }
    assert runtime_exited("r", None)["errorMessage"] == (
        "RequestId: r Error: Runtime exited without providing a reason"
    )
    assert runtime_exited("r", "exit status 127")["errorMessage"].endswith(
        "Runtime exited with error: exit status 127"
    )
    assert describe_exit(0, None) is None
    assert describe_exit(2, None) == "exit status 2"
    assert describe_exit(None, "killed") == "signal: killed"


def test_extensions_do_not_get_the_withheld_variables(tmp_path: Path) -> None:
    config = FunctionConfig(function_name="fn", memory_mb=256)
    runtime = participant_variables(config, "runtime", tmp_path, {"X": "1"}, 1.7e9, token="ab")
    external = participant_variables(config, "external", tmp_path, {"X": "1"}, 1.7e9)
    assert runtime["_HANDLER"] == "index.handler"
    assert runtime["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert runtime["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/fn"
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\]ab", runtime["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert runtime["TMPDIR"] == str(tmp_path)
    assert external["X"] == "1"
    assert not WITHHELD_FROM_EXTENSIONS & set(external)
    assert external["AWS_LAMBDA_FUNCTION_NAME"] == "fn"


def test_request_and_trace_ids_have_aws_shapes() -> None:
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000
    for rid in list(ids)[:20]:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-a[0-9a-f]{3}-[0-9a-f]{12}", rid)
    assert re.fullmatch(
        r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0", new_trace_id(1.7e9)
    )


def test_walk_violations_name_each_wrong_step(spec: Spec) -> None:
    legal = [
        Step("init", "Uninitialized", "init", "Init"),
        Step("init-complete-freeze", "Init", "phase_complete", "Frozen"),
        Step("spindown", "Frozen", "shutdown", "Shutdown"),
    ]
    assert walk_violations(spec, legal, end="Shutdown") == []
    assert walk_violations(spec, legal[:2], end="Shutdown") == [
        "the walk ends in Frozen, not Shutdown"
    ]
    jumped = [legal[0], legal[2]]
    assert walk_violations(spec, jumped) == ["step 2: 'spindown' taken in state Init, not Frozen"]
    wrong = [Step("init", "Uninitialized", "invoke", "Init"), Step("nope", "Init", "x", "Init")]
    assert walk_violations(spec, wrong) == [
        "step 1: 'init' recorded as Uninitialized --invoke--> Init; "
        "the spec says Uninitialized --init--> Init",
        "step 2: 'nope' is not a row of the spec",
    ]
