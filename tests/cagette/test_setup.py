"""The two commands work from a clean Debian: what they install, and in which order."""

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = [req for reqs in project["optional-dependencies"].values() for req in reqs]
    return [Requirement(text) for text in project["dependencies"] + extras]


@pytest.mark.parametrize("requirement", _requirements(), ids=str)
def test_every_dependency_has_an_upper_bound_the_installed_version_meets(requirement):
    assert any(spec.operator in ("<", "<=", "~=", "==") for spec in requirement.specifier)
    assert requirement.specifier.contains(version(requirement.name), prereleases=True)


def test_ci_installs_make_before_calling_it():
    script = (ROOT / ".ci" / "run").read_text()
    checked = re.search(r"for pkg in ([^;]+); do", script).group(1).split()

    assert "make" in checked
    assert "python3-venv" in checked


def test_the_virtualenv_is_created_after_python3_venv_is_installed():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(VENV)/.installed: pyproject.toml\n", 1)[1].split("\n\n", 1)[0]

    assert recipe.index("system-deps.sh --venv") < recipe.index("python3 -m venv")
    assert "python3-venv" in (ROOT / "scripts" / "system-deps.sh").read_text()
