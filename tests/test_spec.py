"""The lifecycle spec itself: shape, references, graph structure, citations, shipping."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lambda_lifecycle.core.errors import SpecError
from lambda_lifecycle.core.spec import Spec, parse_spec
from lambda_lifecycle.core.spec_checks import reachable_from, structural_problems
from lambda_lifecycle.specs import spec_document, spec_text

from .support import GuardModel

ROOT = Path(__file__).resolve().parent.parent
SPEC_PATH = ROOT / "specs" / "lifecycle.json"
SCHEMA_PATH = ROOT / "specs" / "lifecycle.schema.json"


def raw() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SPEC_PATH.read_text(encoding="utf-8"))
    return data


def test_spec_validates_against_its_schema() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(raw(), schema, cls=jsonschema.Draft202012Validator)


def test_schema_rejects_a_row_without_citation() -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    data = raw()
    data["transitions"][0]["cite"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema, cls=jsonschema.Draft202012Validator)


def test_the_package_loads_the_spec_file_itself() -> None:
    assert spec_text() == SPEC_PATH.read_text(encoding="utf-8")
    assert spec_document() == raw()


def test_exactly_the_seven_states(spec: Spec) -> None:
    assert set(spec.states) == {
        "Uninitialized",
        "Init",
        "Frozen",
        "Invoke",
        "Restore",
        "Reset",
        "Shutdown",
    }
    assert spec.initial_state == "Uninitialized"
    assert spec.final_states == ("Shutdown",)


def test_graph_has_no_structural_problem(spec: Spec) -> None:
    assert structural_problems(spec) == []
    assert reachable_from(spec, "Uninitialized") == frozenset(spec.states)


def test_every_row_and_deadline_is_cited_from_a_declared_source(spec: Spec) -> None:
    for row in spec.transitions:
        assert row.cite, row.id
        for c in row.cite:
            assert c.source in spec.sources, row.id
            assert "PLACEHOLDER" not in c.quote
            assert c.quote[0].isupper(), (row.id, c.quote)
    for name, cites in spec.deadlines.cite.items():
        assert cites, name


def test_every_deadline_row_is_fired_by_a_deadline_event(spec: Spec) -> None:
    for row in spec.transitions:
        is_deadline = "deadline" in spec.events[row.event].origin
        assert (row.deadline is not None) == is_deadline, row.id


def test_deadline_numbers_are_the_documented_ones(spec: Spec) -> None:
    d = spec.deadlines
    assert (d.init_on_demand_ms, d.init_provisioned_floor_ms, d.restore_ms) == (
        10_000,
        130_000,
        10_000,
    )
    assert (d.invoke_min_ms, d.invoke_max_ms, d.invoke_default_ms) == (1_000, 900_000, 3_000)
    assert (
        d.shutdown_no_extensions_ms,
        d.shutdown_internal_only_ms,
        d.shutdown_external_ms,
        d.shutdown_runtime_share_ms,
        d.shutdown_runtime_share_with_internal_ms,
    ) == (0, 500, 2_000, 300, 500)


DOCUMENTED_PATHS = {
    # name: (initial guard values, events, expected final state)
    "on-demand cold start": ({"invoke_pending": True}, ["init", "phase_complete"], "Invoke"),
    "warm invoke": ({}, ["init", "phase_complete", "invoke", "phase_complete"], "Frozen"),
    "init failure, retried at the first invoke": (
        {"invoke_pending": True},
        ["init", "init_error", "reset_complete", "invoke", "phase_complete"],
        "Invoke",
    ),
    "init timeout, retried at the first invoke": (
        {"invoke_pending": True},
        ["init", "init_timeout", "reset_complete", "invoke", "phase_complete"],
        "Invoke",
    ),
    "invoke crash, reset, suppressed init": (
        {},
        ["init", "phase_complete", "invoke", "runtime_exit", "reset_complete", "invoke"],
        "Init",
    ),
    "invoke timeout into Reset": (
        {},
        ["init", "phase_complete", "invoke", "invoke_timeout"],
        "Reset",
    ),
    "extension crash during invoke": (
        {},
        ["init", "phase_complete", "invoke", "extension_crash", "reset_complete"],
        "Uninitialized",
    ),
    "provisioned concurrency: init ahead of invokes": ({}, ["init", "phase_complete"], "Frozen"),
    "SnapStart publish, snapshot, restore": (
        {"snapshot_pending": True},
        ["init", "phase_complete", "restore"],
        "Restore",
    ),
    "SnapStart restore timeout": (
        {"snapshot_pending": True},
        ["init", "phase_complete", "restore", "restore_timeout", "reset_complete"],
        "Uninitialized",
    ),
    "spin-down": ({}, ["init", "phase_complete", "shutdown"], "Shutdown"),
}


@pytest.mark.parametrize("name", sorted(DOCUMENTED_PATHS))
def test_documented_path(name: str, machine: Any) -> None:
    guards, events, final = DOCUMENTED_PATHS[name]
    env = GuardModel(
        pending=guards.get("invoke_pending", False), snapshot=guards.get("snapshot_pending", False)
    )
    for event in events:
        machine.fire(env, event)
    assert env.state == final


BROKEN: dict[str, tuple[Any, str]] = {
    "undeclared state": (lambda d: d["transitions"][0].update(to="Thawed"), "undeclared state"),
    "undeclared event": (lambda d: d["transitions"][0].update(event="poke"), "undeclared event"),
    "undeclared guard": (lambda d: d["transitions"][0].update(guard="sunny"), "undeclared guard"),
    "undeclared source": (
        lambda d: d["transitions"][0]["cite"][0].update(source="blog"),
        "undeclared source",
    ),
    "undeclared deadline": (
        lambda d: d["transitions"][0].update(deadline="lunch"),
        "undeclared deadline",
    ),
    "duplicate id": (
        lambda d: d["transitions"][1].update(id=d["transitions"][0]["id"]),
        "duplicate id",
    ),
    "non-deterministic cell": (
        lambda d: d["transitions"].append({**d["transitions"][0], "id": "twin", "to": "Frozen"}),
        "not deterministic",
    ),
    "leaving the final state": (
        lambda d: d["transitions"].append(
            {**d["transitions"][0], "id": "zombie", "from": "Shutdown"}
        ),
        "final state",
    ),
    "missing state": (lambda d: d["states"].pop("Reset"), "Reset"),
    "two initial states": (lambda d: d["states"]["Init"].update(kind="initial"), "initial"),
    "one-sided guard": (lambda d: d["guards"]["invoke_pending"].update(negation="x"), "negation"),
    "missing field": (lambda d: d.pop("deadlines"), "deadlines"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_parse_refuses_a_broken_spec_with_a_named_error(case: str) -> None:
    mutate, words = BROKEN[case]
    data = copy.deepcopy(raw())
    mutate(data)
    with pytest.raises(SpecError, match=words):
        parse_spec(data)


def test_structural_checks_find_unreachable_and_trap_states() -> None:
    data = raw()
    data["transitions"] = [
        row for row in data["transitions"] if row["from"] != "Reset" and row["to"] != "Restore"
    ]
    problems = structural_problems(parse_spec(data))
    assert "state 'Restore' cannot be reached from 'Uninitialized'" in problems
    assert "state 'Reset' is a trap: no transition leaves it" in problems


def test_every_assumed_row_says_why(spec: Spec) -> None:
    for row in spec.transitions:
        if row.basis == "assumed":
            assert row.note, f"assumed row {row.id} needs a note saying what is assumed and why"
