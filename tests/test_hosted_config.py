"""The hosted set-ups: Binder (``binder/``), Codespaces (``.devcontainer/``) and their badges.

What they install is resolved for real in ``test_install.py`` (the ``hosted`` and
``notebooks`` extras); these tests hold the files to what ``docs/platforms.md`` and the
README promise.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
EXTRAS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
REPO = re.search(r"github: https://github\.com/(\S+)", (ROOT / "myst.yml").read_text())


def test_binder_environment_is_python_only() -> None:
    """Binder builds Python 3.11 and pip, nothing the tests need (Node, Java, Playwright)."""
    text = (ROOT / "binder" / "environment.yml").read_text().lower()
    assert re.search(r"^\s+- python=3\.11\s*$", text, re.MULTILINE)
    for heavy in ("nodejs", "openjdk", "playwright", "chromium", "[dev]"):
        assert heavy not in text.split("dependencies:")[1], heavy


def test_binder_post_build_stops_on_failure_and_installs_the_hosted_extra() -> None:
    """postBuild is executable, starts with ``set -e``, installs ``.[hosted]`` held to the
    constraints CI tested."""
    path = ROOT / "binder" / "postBuild"
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    if os.name == "posix":
        assert os.access(path, os.X_OK)
    assert path.read_text().startswith("#!/bin/bash\n")
    assert lines[0].startswith("set -e")
    assert "--constraint constraints.txt -e '.[hosted]'" in path.read_text()


def test_the_hosted_extra_has_a_fixed_jupyter_server_proxy() -> None:
    """jupyter-server-proxy >= 4.2: earlier releases have CVE-2024-35225 (and an advisory
    fixed in 4.1.1)."""
    (proxy,) = [Requirement(r) for r in EXTRAS["hosted"] if r.startswith("jupyter-server-proxy")]
    assert not proxy.specifier.contains("4.1.2") and proxy.specifier.contains("4.2.0")


def test_devcontainer_builds_the_venv_and_forwards_the_chat_port() -> None:
    """Codespaces runs the learner's install on create and labels port 8765."""
    config = json.loads((ROOT / ".devcontainer" / "devcontainer.json").read_text())
    assert config["postCreateCommand"] == "make lab-install"
    assert 8765 in config["forwardPorts"]
    assert "wsrelay serve" in config["portsAttributes"]["8765"]["label"]


def test_readme_badges_open_this_repository() -> None:
    """The Binder and Codespaces badges name the repository the book's buttons open."""
    assert REPO, "myst.yml names the repository: project.github"
    repo = REPO.group(1)
    assert f"https://mybinder.org/v2/gh/{repo}/main?urlpath=" in README
    assert f"https://codespaces.new/{repo}" in README
