"""The canary: every moto internal the gateway relies on is where ``moto_adapter`` expects it.

When a moto release moves one, this is the one test that says which; the gateway then runs
stock moto (one log line) instead of failing in forty integration tests.
"""

from __future__ import annotations

import logging

import moto
import pytest

from wsrelay.local.dynamodb import moto_adapter


def test_the_pinned_moto_is_a_proven_one() -> None:
    """constraints.txt pins a moto inside ``PROVEN_MOTO``."""
    low, high = moto_adapter.PROVEN_MOTO
    assert low <= moto_adapter.moto_version() < high, moto.__version__


def test_the_canary_finds_every_internal() -> None:
    """Nothing the adapter and the fast paths use has moved (the list names what has)."""
    assert moto_adapter.canary() == []


def test_the_canary_notices_a_moved_internal(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check itself works: an internal taken away is named."""
    from moto.dynamodb.models.table import Table

    monkeypatch.delattr(Table, "_item_comes_before_dct")
    assert moto_adapter.canary() == [
        "moto.dynamodb.models.table.Table._item_comes_before_dct is missing"
    ]


def test_an_unproven_moto_runs_stock_with_one_log_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Outside ``PROVEN_MOTO`` nothing is installed, and it is said once."""
    monkeypatch.setattr(moto_adapter, "_state", {"installed": None})
    monkeypatch.setattr(moto_adapter, "moto_version", lambda: (9, 0))
    with caplog.at_level(logging.WARNING, logger="wsrelay.local"):
        assert moto_adapter.speedups() is False
        assert moto_adapter.speedups() is False
    lines = [r.message for r in caplog.records if "stock moto" in r.message]
    assert len(lines) == 1 and "moto 9.0" in lines[0]


def test_outside_an_opted_in_server_moto_is_stock() -> None:
    """Installed or not, the fast paths act only inside ``moto_adapter.fast()``."""
    moto_adapter.speedups()
    assert not moto_adapter.active()
    with moto_adapter.fast():
        assert moto_adapter.active()
    assert not moto_adapter.active()
