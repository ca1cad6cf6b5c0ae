"""Shared fixtures: the spec and the machine built from it."""

from __future__ import annotations

import pytest

from lambda_lifecycle.core.machine import LifecycleMachine
from lambda_lifecycle.core.spec import Spec
from lambda_lifecycle.specs import lifecycle_machine, load_spec

pytest_plugins = ["pytester"]  # the pytest plugin is tested with pytester


@pytest.fixture(scope="session")
def spec() -> Spec:
    return load_spec()


@pytest.fixture(scope="session")
def machine() -> LifecycleMachine:
    return lifecycle_machine()
