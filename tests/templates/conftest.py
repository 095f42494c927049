"""The reader's tests extract code into a temp dir of the test session, not the machine's."""

from __future__ import annotations

import tempfile

import pytest


@pytest.fixture(autouse=True)
def session_temp_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Point ``tempfile.gettempdir()`` (the code cache's parent) into pytest's base temp dir."""
    folder = tmp_path_factory.getbasetemp() / "system-temp"
    folder.mkdir(exist_ok=True)
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
