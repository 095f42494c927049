"""``wsrelay.local.fdlimit``: the gateway raises its soft open-file limit, or says why not.

The real limits are changed in child processes only (``preexec_fn`` sets the limits a
macOS-like machine starts with), so this test process keeps its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from wsrelay.local import fdlimit

resource = pytest.importorskip("resource", reason="POSIX only: Windows has no RLIMIT_NOFILE")

SOFT, HARD = resource.getrlimit(resource.RLIMIT_NOFILE)
# What the child prints: its limits after the code under test ran.
REPORT = "import json, resource; print(json.dumps(resource.getrlimit(resource.RLIMIT_NOFILE)))"


def _limits(soft: int, hard: int | None = None) -> Callable[[], None]:
    """A ``preexec_fn`` that starts the child with these limits (hard: unchanged)."""

    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, HARD if hard is None else hard))

    return apply


def _run(code: str, preexec: Callable[[], None]) -> tuple[list[int], str]:
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\n{REPORT}"],
        preexec_fn=preexec,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1]), result.stderr


def _expected(wanted: int) -> int:
    return wanted if HARD == resource.RLIM_INFINITY else min(wanted, HARD)


def test_a_256_soft_limit_is_raised_to_what_the_gateway_wants() -> None:
    """macOS's default soft limit (256) becomes 8,192 (or the hard limit), silently."""
    code = "import logging; logging.basicConfig()\nfrom wsrelay.local.fdlimit import ensure_open_files\nprint(ensure_open_files())"
    (soft, hard), stderr = _run(code, _limits(256))
    assert soft == _expected(fdlimit.WANTED_OPEN_FILES)
    assert hard == HARD  # the hard limit is never touched
    assert stderr == ""


def test_a_low_hard_limit_is_reached_and_a_warning_says_how_to_lift_it() -> None:
    """With a hard limit of 300 the soft limit goes to 300 and a warning names ``ulimit -n``."""
    code = "import logging; logging.basicConfig()\nfrom wsrelay.local.fdlimit import ensure_open_files\nensure_open_files()"
    (soft, hard), stderr = _run(code, _limits(256, 300))
    assert (soft, hard) == (300, 300)
    assert "WARNING:wsrelay.local:the open-file limit is 300 (hard limit 300)" in stderr
    assert "about 236 connections" in stderr
    assert "`ulimit -n 8192`" in stderr


@pytest.mark.integration
def test_starting_a_gateway_raises_the_limit() -> None:
    """``LocalGateway.start()`` makes the adjustment: a child started with 256 has more."""
    code = "from wsrelay.local import LocalGateway\ngw = LocalGateway(port=0).start()\ngw.stop()"
    (soft, _), _ = _run(code, _limits(256))
    assert soft == _expected(fdlimit.WANTED_OPEN_FILES)


def test_a_higher_soft_limit_is_never_lowered() -> None:
    """A process that already has more open files than wanted keeps its limit."""
    soft = fdlimit.ensure_open_files(wanted=16)
    assert soft is not None and soft >= 16
    assert resource.getrlimit(resource.RLIMIT_NOFILE) == (SOFT, HARD)


class _MacOS:
    """``resource`` as macOS behaves: an unlimited hard limit, yet any soft limit above
    ``kern.maxfilesperproc`` (10,240) refused with ValueError."""

    RLIMIT_NOFILE = resource.RLIMIT_NOFILE
    RLIM_INFINITY = resource.RLIM_INFINITY

    def __init__(self) -> None:
        self.limits: tuple[int, int] = (256, resource.RLIM_INFINITY)
        self.asked: list[int] = []

    def getrlimit(self, which: int) -> tuple[int, int]:
        return self.limits

    def setrlimit(self, which: int, limits: tuple[int, int]) -> None:
        self.asked.append(limits[0])
        if limits[0] > fdlimit.MACOS_MAX_FILES_PER_PROC:
            raise ValueError("current limit exceeds maximum limit")
        self.limits = limits


def test_macos_refusal_above_maxfilesperproc_is_retried_at_the_ceiling(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Asked for 20,000 under an "unlimited" hard limit, it settles at 10,240 and warns."""
    mac: Any = _MacOS()
    assert fdlimit.ensure_open_files(20_000, rlimit=mac) == 10_240
    assert mac.asked == [20_000, 10_240]
    assert "the open-file limit is 10240 (hard limit unlimited)" in caplog.text


def test_macos_default_is_raised_without_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    """The default 8,192 is under macOS's ceiling: one call, no warning."""
    mac: Any = _MacOS()
    assert fdlimit.ensure_open_files(rlimit=mac) == 8192
    assert mac.asked == [8192]
    assert caplog.text == ""


def test_without_the_resource_module_nothing_is_done(monkeypatch: pytest.MonkeyPatch) -> None:
    """On Windows (no ``resource``) the call returns ``None`` and changes nothing."""
    monkeypatch.setattr(fdlimit, "resource", None)
    assert fdlimit.ensure_open_files() is None
