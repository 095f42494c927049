"""The learner's install (``make lab``) holds no package that only the tests use.

pip resolves the extras for real, in a fresh venv, held to ``constraints.txt`` as ``make``
is (``pip install --dry-run --report``), with a ``PATH`` that holds nothing but that venv:
no Node, no Java, no Chromium. It asks the package index, as ``make lab`` does.

"Test-only" is every package named in the ``dev`` and ``ci`` extras, less the few that
the workbook's own stack also needs (:data:`SHARED`, each with its reason).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
import venv
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]

#: Named in ``dev`` but installed for learners too, by the packages the notebooks need.
SHARED = {
    "cfn-lint": "moto[server] depends on it (moto checks CloudFormation templates with it)",
    "psutil": "ipython, the notebooks' shell, depends on it",
}


def _name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9_.-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def dev_only_packages() -> set[str]:
    """The names in the ``dev`` and ``ci`` extras, but for the project and :data:`SHARED`."""
    names = {_name(r) for extra in ("dev", "ci") for r in EXTRAS[extra]}
    return names - {"wsrelay"} - set(SHARED)


def leaks(resolved: set[str]) -> set[str]:
    """The test-only packages among ``resolved`` (an install's normalised names)."""
    return resolved & dev_only_packages()


@cache
def _venv(folder: Path) -> Path:
    venv.create(folder, with_pip=True)
    return folder / ("Scripts" if sys.platform == "win32" else "bin")


def _resolve(extras: list[str], tmp: Path) -> dict[str, set[str]]:
    """What ``pip install -c constraints.txt '.[extra]'`` would install in a fresh venv, for
    each extra (the resolutions run side by side: each costs most of a minute of CPU)."""
    bin_dir = _venv(tmp / "venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PATH"] = str(bin_dir)  # nothing else: no node, java or chromium can be reached
    runs = {}
    for extra in extras:
        command = [
            str(bin_dir / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--dry-run",
            "--ignore-installed",
            "--report",
            str(tmp / f"{extra}.json"),
            "--constraint",
            str(ROOT / "constraints.txt"),
            f"{ROOT}[{extra}]",
        ]
        log = (tmp / f"{extra}.log").open("w")
        runs[extra] = (subprocess.Popen(command, env=env, stdout=log, stderr=log), log)
    resolved = {}
    for extra, (process, log) in runs.items():
        status = process.wait(timeout=600)
        log.close()
        assert status == 0, (tmp / f"{extra}.log").read_text()[-4000:]
        installs = json.loads((tmp / f"{extra}.json").read_text())["install"]
        resolved[extra] = {_name(item["metadata"]["name"]) for item in installs}
    return resolved


@pytest.fixture(scope="module")
def resolved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    """``.[notebooks]`` (what ``make lab`` installs) and ``.[hosted]`` (Binder's), resolved."""
    return _resolve(["notebooks", "hosted"], tmp_path_factory.mktemp("install"))


@pytest.fixture(scope="module")
def learner(resolved: dict[str, set[str]]) -> set[str]:
    return resolved["notebooks"]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_learner_install_has_no_test_only_package(learner: set[str]) -> None:
    """``.[notebooks]`` resolves to the workbook's stack: JupyterLab, moto, … and no test tool."""
    assert {"wsrelay", "jupyterlab", "moto", "aiohttp", "matplotlib", "boto3"} <= learner
    assert leaks(learner) == set(), "test-only packages in the learner's install"


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_dev_package_in_the_learner_install_is_found(learner: set[str]) -> None:
    """Had a dev package (hypothesis) or a tool of the ``ci`` extra (pytest) come with the
    learner's install, the check above would name it."""
    assert leaks(learner | {"hypothesis", "pytest"}) == {"hypothesis", "pytest"}


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_hosted_install_adds_only_the_proxy(
    resolved: dict[str, set[str]], learner: set[str]
) -> None:
    """``.[hosted]`` (Binder) is the learner's install plus jupyter-server-proxy's own needs."""
    hosted = resolved["hosted"]
    assert "jupyter-server-proxy" in hosted and learner < hosted
    assert leaks(hosted) == set()


def test_shared_packages_are_named_in_dev() -> None:
    """Every :data:`SHARED` exception is still a dev package (else drop it from the list)."""
    assert set(SHARED) <= {_name(r) for r in EXTRAS["dev"]}


def _constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[_name(name)] = version.strip()
    return pins


def test_constraints_pin_everything_installed() -> None:
    """Every package in this (``make``-built) venv is pinned at its installed version: a
    dependency added to pyproject.toml without ``make constraints`` shows up here."""
    from importlib import metadata

    pins = _constraints()
    installed = {_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    installed = {k: v for k, v in installed.items() if k not in ("wsrelay", "setuptools", "wheel")}
    unpinned = sorted(set(installed) - set(pins))
    assert unpinned == [], "run `make constraints`: these are installed but not pinned"
    moved = {k: (pins[k], v) for k, v in installed.items() if pins[k] != v}
    assert moved == {}, "installed versions differ from constraints.txt (pinned, installed)"


def test_constraints_satisfy_pyproject() -> None:
    """Each pinned version is one that pyproject.toml's ranges allow."""
    from packaging.requirements import Requirement

    pins = _constraints()
    requirements = [*PYPROJECT["project"]["dependencies"]]
    requirements += [r for extra in EXTRAS.values() for r in extra]
    outside = [
        f"{req.name}=={pins[_name(req.name)]} (wants {req.specifier})"
        for req in map(Requirement, requirements)
        if _name(req.name) != "wsrelay" and not req.specifier.contains(pins[_name(req.name)])
    ]
    assert outside == []
