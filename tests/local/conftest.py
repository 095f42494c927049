"""Fixtures of the local gateway's integration tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .support import hang_up_all


@pytest.fixture(autouse=True)
def _hang_up() -> Iterator[None]:
    """Close every client connection a test opened, even one the gateway closed first."""
    yield
    hang_up_all()
