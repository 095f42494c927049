"""The learner's install (``make lab``) holds no package that only the tests use.

What ``pip install -c constraints.txt -e '.[notebooks]'`` installs is worked out offline, from
the package metadata of this venv: the closure of the extra's requirements, each with its
environment markers and extras evaluated, as pip evaluates them. This venv is ``make``'s,
held to ``constraints.txt`` (``test_constraints_pin_everything_installed`` proves every
version matches), so the closure is the set pip would resolve — without asking a package
index, as no test here may reach outside the machine.

"Test-only" is every package named in the ``dev`` and ``ci`` extras, less the few that
the workbook's own stack also needs (:data:`SHARED`, each with its reason).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
EXTRAS: dict[str, list[str]] = PYPROJECT["project"]["optional-dependencies"]

#: Named in ``dev`` but installed for learners too, by the packages the notebooks need.
SHARED = {
    "cfn-lint": "moto[server] depends on it (moto checks CloudFormation templates with it)",
    "psutil": "ipython, the notebooks' shell, depends on it",
    "pytest": "notebook 07 runs pytest: testing your own app is its lesson",
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


def closure(extra: str) -> set[str]:
    """The normalised names of what installing ``wsrelay[extra]`` brings, from installed metadata.

    Raises:
        AssertionError: a requirement is not installed here (run ``make venv``).
    """
    from importlib import metadata

    from packaging.markers import default_environment
    from packaging.requirements import Requirement

    environment = default_environment()
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    pending = [("wsrelay", frozenset({extra}))]
    while pending:
        name, extras = pending.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        names.add(name)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            raise AssertionError(f"{name} is not installed in this venv: run make venv") from None
        for text in requires:
            requirement = Requirement(text)
            marker = requirement.marker
            wanted = marker is None or any(
                marker.evaluate({**environment, "extra": e}) for e in {"", *extras}
            )
            if wanted:
                pending.append((_name(requirement.name), frozenset(requirement.extras)))
    return names


@pytest.fixture(scope="module")
def resolved() -> dict[str, set[str]]:
    """``.[notebooks]`` (what ``make lab`` installs) and ``.[hosted]`` (Binder's), resolved."""
    return {extra: closure(extra) for extra in ("notebooks", "hosted")}


@pytest.fixture(scope="module")
def learner(resolved: dict[str, set[str]]) -> set[str]:
    return resolved["notebooks"]


def test_the_learner_install_has_no_test_only_package(learner: set[str]) -> None:
    """``.[notebooks]`` resolves to the workbook's stack: JupyterLab, moto, … and no test tool."""
    assert {"wsrelay", "jupyterlab", "moto", "aiohttp", "matplotlib", "boto3"} <= learner
    assert leaks(learner) == set(), "test-only packages in the learner's install"


def test_a_dev_package_in_the_learner_install_is_found(learner: set[str]) -> None:
    """Had a dev package (hypothesis) or a tool of the ``ci`` extra (nbval) come with the
    learner's install, the check above would name it."""
    assert leaks(learner | {"hypothesis", "nbval"}) == {"hypothesis", "nbval"}


def test_the_hosted_install_adds_only_the_proxy(
    resolved: dict[str, set[str]], learner: set[str]
) -> None:
    """``.[hosted]`` (Binder) is the learner's install plus jupyter-server-proxy's own needs."""
    hosted = resolved["hosted"]
    assert "jupyter-server-proxy" in hosted and learner < hosted
    assert leaks(hosted) == set()


def test_shared_packages_are_named_in_dev() -> None:
    """Every :data:`SHARED` exception is still a dev or ci package (else drop it from the list)."""
    assert set(SHARED) <= {_name(r) for extra in ("dev", "ci") for r in EXTRAS[extra]}


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
