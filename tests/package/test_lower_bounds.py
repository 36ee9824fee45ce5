"""pyproject.toml's lower bounds are tested: the wheel with its [airflow,dashboard] extras,
resolved with every direct dependency at the lowest version its range allows, on the lowest
Python, in a fresh venv (no borrowed site-packages) runs the same end-to-end check as the
wheel test (tests/package/conftest.py)."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.package.conftest import ROOT, check_demo_and_own_dag, run

# Both tests share one venv (about 1.4 GB): keep them in one xdist worker.
pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("lower-bounds")]

EXTRAS = ("airflow", "dashboard")
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
DIRECT = [Requirement(line) for line in [*PROJECT["dependencies"], *(
    r for extra in EXTRAS for r in PROJECT["optional-dependencies"][extra])]]


def floor(specifier: SpecifierSet) -> Version:
    """The version of a range's `>=` bound: the lowest it allows, and the one installed."""
    (bound,) = [Version(s.version) for s in specifier if s.operator == ">="]
    assert specifier.contains(bound), f"{specifier} excludes its own lower bound"
    return bound


PYTHON = floor(SpecifierSet(PROJECT["requires-python"]))


@pytest.fixture(scope="module")
def lowest(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(python of a venv with the wheel at its lowest direct versions, an empty folder)."""
    base = tmp_path_factory.mktemp("lowest")
    # The uv that infra/bootstrap.sh installs, with the same cache: only what the lock does not
    # hold is downloaded.
    uv = str(Path(sys.executable).parent / "uv")
    made = run([uv, "venv", "-q", "--python", str(PYTHON), str(base / "venv")], base)
    assert made.returncode == 0, made.stderr
    python = base / "venv" / "bin" / "python"
    # uv lowers only the requirements it is given, not those of the wheel it installs: so the
    # ranges are given too, as they are in pyproject.toml.
    installed = run([uv, "pip", "install", "-q", "--python", str(python),
                     "--resolution", "lowest-direct", f"{wheel}[{','.join(EXTRAS)}]",
                     *map(str, DIRECT)], base, timeout=900)
    assert installed.returncode == 0, installed.stderr
    elsewhere = base / "elsewhere"
    elsewhere.mkdir()
    return python, elsewhere


def test_every_direct_dependency_is_installed_at_its_lower_bound(
        lowest: tuple[Path, Path]) -> None:
    python, elsewhere = lowest
    names = [r.name for r in DIRECT]
    found = run([str(python), "-c", "import importlib.metadata as m, json, sys; print(json.dumps("
                 "{'python': '%d.%d' % sys.version_info[:2], **{n: m.version(n) for n in "
                 "sys.argv[1:]}}))", *names], elsewhere)
    assert found.returncode == 0, found.stderr
    versions = json.loads(found.stdout)
    assert Version(versions.pop("python")) == PYTHON
    above = [f"{r.name} {versions[r.name]} (lower bound {floor(r.specifier)})" for r in DIRECT
             if Version(versions[r.name]) != floor(r.specifier)]
    assert not above, f"resolved above pyproject.toml's lower bound: {', '.join(above)}"


def test_the_lowest_versions_run_the_demo_and_a_dag_of_ones_own_with_the_task_group(
        lowest: tuple[Path, Path]) -> None:
    check_demo_and_own_dag(*lowest)
