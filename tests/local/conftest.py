"""Fixtures of the local gateway's integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from .support import hang_up_all, without_aws_credentials


@pytest.fixture(autouse=True)
def _hang_up() -> Iterator[None]:
    """Close every client connection a test opened, even one the gateway closed first."""
    yield
    hang_up_all()


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """This process, for the test, as a machine with no AWS credentials at all."""
    clean = without_aws_credentials(os.environ, tmp_path)
    for name in set(os.environ) - set(clean):
        monkeypatch.delenv(name)
    for name, value in clean.items():
        monkeypatch.setenv(name, value)
