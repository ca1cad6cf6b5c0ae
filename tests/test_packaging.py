"""One copy of the spec and the schemas: a wheel and a source checkout load the same files."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import lambda_lifecycle
from lambda_lifecycle.formats import schemas
from lambda_lifecycle.specs import location, spec_text

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"
PACKAGE = ROOT / "lambda_lifecycle"
FROM_SOURCE = Path(lambda_lifecycle.__file__).resolve().parent == PACKAGE


def spec_tree() -> dict[str, bytes]:
    """Every file of ``specs/``, by path relative to it."""
    return {
        path.relative_to(SPECS).as_posix(): path.read_bytes()
        for path in sorted(SPECS.rglob("*"))
        if path.is_file()
    }


def test_no_copy_of_a_spec_file_in_the_package_sources() -> None:
    contents = set(spec_tree().values())
    copies = [
        path.relative_to(ROOT).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.read_bytes() in contents
    ]
    assert copies == []
    assert sorted(p.name for p in PACKAGE.rglob("*.json")) == []


@pytest.mark.skipif(not FROM_SOURCE, reason="lambda_lifecycle is not imported from this checkout")
def test_a_source_checkout_reads_specs_in_place() -> None:
    assert Path(str(location.spec_files())) == SPECS
    assert spec_text() == (SPECS / "lifecycle.json").read_text(encoding="utf-8")
    assert schemas.schema_text("platform.report") == (
        SPECS / "telemetry" / "platform.report.schema.json"
    ).read_text(encoding="utf-8")


PROBE = """
import json, sys
import lambda_lifecycle
from lambda_lifecycle.specs import load_spec, spec_files, spec_text
from lambda_lifecycle.formats import schemas
spec = load_spec()
print(json.dumps({
    "package": lambda_lifecycle.__file__,
    "version": lambda_lifecycle.__version__,
    "files": str(spec_files()),
    "spec": spec_text(),
    "states": sorted(spec.states),
    "schemas": {t: schemas.schema_text(t) for t in schemas.schema_types()},
}))
"""


@pytest.mark.processes
@pytest.mark.skipif(importlib.util.find_spec("hatchling") is None, reason="needs hatchling")
def test_a_wheel_installed_in_a_fresh_venv_loads_the_same_spec_and_schemas(
    tmp_path: Path,
) -> None:
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, ROOT],
        check=True,
        timeout=300,
    )
    (wheel,) = dist.glob("lambda_lifecycle-*.whl")
    tree = spec_tree()
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for relative, content in tree.items():
            assert archive.read(f"lambda_lifecycle/specs/{relative}") == content
    assert not any(n.startswith("lambda_lifecycle/formats/schemas/") for n in names)

    # A venv of its own, without the dependencies: loading the spec and the schemas needs none.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run(
        [*pip, "--python", python, "install", "--no-deps", "--no-index", wheel],
        check=True,
        timeout=300,
    )
    done = subprocess.run(
        [python, "-c", PROBE],
        cwd=tmp_path,  # not the checkout: nothing may come from the source tree
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    loaded = json.loads(done.stdout)
    installed = Path(loaded["package"]).resolve()
    assert installed.is_relative_to(venv.resolve())
    assert Path(loaded["files"]).resolve() == installed.parent / "specs"
    assert loaded["version"] == lambda_lifecycle.__version__
    assert loaded["spec"] == tree["lifecycle.json"].decode("utf-8")
    assert "Frozen" in loaded["states"]
    assert loaded["schemas"] == {
        name.removeprefix("telemetry/").removesuffix(".schema.json"): content.decode("utf-8")
        for name, content in tree.items()
        if name.startswith("telemetry/")
    }
