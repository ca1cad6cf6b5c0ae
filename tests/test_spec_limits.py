"""The configuration's ranges and defaults are the spec's: core/config.py states no number."""

from __future__ import annotations

import ast
import copy
import dataclasses
import re
from pathlib import Path

import pytest

from lambda_lifecycle.core import config
from lambda_lifecycle.core.config import FunctionConfig, Ranges, ranges
from lambda_lifecycle.core.errors import ConfigurationError, SpecError
from lambda_lifecycle.core.spec import Spec, parse_spec
from lambda_lifecycle.specs import spec_document

CONFIG_SOURCE = Path(config.__file__).read_text(encoding="utf-8")


def test_the_limits_are_parsed_with_their_citations(spec: Spec) -> None:
    limits = spec.limits
    assert (limits.memory_min_mb, limits.memory_max_mb, limits.memory_default_mb) == (
        128,
        10_240,
        128,
    )
    assert (
        limits.ephemeral_storage_min_mb,
        limits.ephemeral_storage_max_mb,
        limits.ephemeral_storage_default_mb,
    ) == (512, 10_240, 512)
    assert limits.max_extensions == 10
    assert set(limits.cite) == set(limits.rules) == {"memory", "ephemeral_storage", "extensions"}
    assert all(limits.cite.values())


def test_the_configuration_ranges_are_the_spec_numbers(spec: Spec) -> None:
    got = ranges()
    assert got == Ranges.of(spec)
    d = spec.deadlines
    assert got.timeout_s == (d.invoke_min_ms / 1000, d.invoke_max_ms / 1000)
    assert got.timeout_s == config.TIMEOUT_RANGE_S
    assert (spec.limits.memory_min_mb, spec.limits.memory_max_mb) == config.MEMORY_RANGE_MB
    assert got.ephemeral_storage_mb == config.EPHEMERAL_STORAGE_RANGE_MB
    assert spec.limits.max_extensions == config.MAX_EXTENSIONS
    with pytest.raises(AttributeError):
        config.NOT_A_LIMIT  # type: ignore[attr-defined]  # noqa: B018


def test_the_defaults_are_the_spec_defaults(spec: Spec) -> None:
    default = FunctionConfig()
    assert default.timeout_ms == spec.deadlines.invoke_default_ms
    assert default.memory_mb == spec.limits.memory_default_mb
    assert default.ephemeral_storage_mb == spec.limits.ephemeral_storage_default_mb


def test_the_bounds_are_the_spec_bounds(spec: Spec) -> None:
    top = spec.deadlines.invoke_max_ms / 1000
    FunctionConfig(timeout=top, memory_mb=spec.limits.memory_max_mb)
    words = "timeout 901.0 is outside AWS's range 1 to 900 s"
    with pytest.raises(ConfigurationError, match=re.escape(words)):
        FunctionConfig(timeout=top + 1)
    with pytest.raises(ConfigurationError, match="memory_mb"):
        FunctionConfig(memory_mb=spec.limits.memory_min_mb - 1)
    with pytest.raises(ConfigurationError, match="ephemeral_storage_mb"):
        FunctionConfig(ephemeral_storage_mb=spec.limits.ephemeral_storage_max_mb + 1)


def test_another_spec_gives_other_ranges() -> None:
    doc = copy.deepcopy(spec_document())
    doc["deadlines"]["invoke"]["max_ms"] = 60_000
    doc["limits"]["memory"]["max_mb"] = 3_008
    doc["limits"]["extensions"]["max"] = 5
    other = Ranges.of(parse_spec(doc))
    assert other.timeout_s == (1.0, 60.0)
    assert other.memory_mb == (128, 3_008)
    assert other.max_extensions == 5


@pytest.mark.parametrize(
    ("section", "name"),
    [("deadlines", "invoke"), ("limits", "memory"), ("limits", "ephemeral_storage")],
)
def test_a_default_outside_its_range_is_refused(section: str, name: str) -> None:
    doc = copy.deepcopy(spec_document())
    entry = doc[section][name]
    key = "default_ms" if section == "deadlines" else "default_mb"
    entry[key] = (entry["max_ms"] if section == "deadlines" else entry["max_mb"]) + 1
    with pytest.raises(SpecError, match=f"{section}.{name}: the default"):
        parse_spec(doc)


def test_a_limit_citing_an_undeclared_source_is_refused() -> None:
    doc = copy.deepcopy(spec_document())
    doc["limits"]["extensions"]["cite"][0]["source"] = "nowhere"
    with pytest.raises(SpecError, match="limit 'extensions'"):
        parse_spec(doc)


def test_config_states_none_of_the_spec_numbers(spec: Spec) -> None:
    stated = {
        node.value
        for node in ast.walk(ast.parse(CONFIG_SOURCE))
        if isinstance(node, ast.Constant) and type(node.value) in (int, float)
    }
    numbers = {
        *(v for v in dataclasses.astuple(spec.limits) if isinstance(v, int)),
        spec.deadlines.invoke_max_ms // 1000,
        spec.deadlines.invoke_default_ms // 1000,
    }
    assert stated & numbers == set()
