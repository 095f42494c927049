"""environment.yml stays in step with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parent.parent


def _pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.extend(extra)
    pins = {}
    for requirement in requirements:
        match = re.match(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?(.*)", requirement)
        assert match, requirement
        pins[match.group(1).lower()] = match.group(3).strip()
    return pins


def test_environment_installs_the_project_with_every_extra() -> None:
    """conda users get the same packages: environment.yml pip-installs ``-e .[dev]``."""
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s+- -e \.\[dev\]\s*$", text, re.MULTILINE)
    assert re.search(r"^\s+- python=3\.11\b", text, re.MULTILINE)


def test_environment_comment_quotes_the_pins_of_the_named_packages() -> None:
    """The pins quoted in environment.yml's comment are the ones in pyproject.toml."""
    text = (ROOT / "environment.yml").read_text()
    pins = _pins()
    for name in ("boto3", "moto", "aiohttp", "websocket-client", "jupyterlab", "nbval"):
        assert f"{name}{pins[name]}" in text.replace(" ", "").replace("[server]", ""), name
