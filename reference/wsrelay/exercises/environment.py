"""Checks for ``00_check-environment``: is this kernel ready for the workbook?

Each check returns :class:`Finding` lines: ``✓`` what is fine, or ``✗`` what is wrong and
exactly what to do about it. None prints a version number, so a notebook's stored output is
the same on every machine that is ready::

    from wsrelay.exercises import environment
    environment.check_environment()      # every check, then "All good" or the fixes
    environment.problems()               # the same, as a list of what to fix
"""

from __future__ import annotations

import socket
import sys
from dataclasses import dataclass
from importlib import metadata

from wsrelay.local.hosts import DEFAULT_PORT  # re-exported: what the checks test

__all__ = [
    "DEFAULT_PORT",
    "Finding",
    "check_environment",
    "local_aws",
    "packages",
    "port_free",
    "problems",
    "python_version",
]

#: What installs everything, run from the repository's root.
INSTALL = "run `make lab` in the repository's root (it installs into .venv), or `pip install -e '.[notebooks]'`"


@dataclass(frozen=True)
class Finding:
    """One line of the report: fine or not, and the text to show."""

    ok: bool
    text: str

    def __str__(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.text}"


def python_version() -> list[Finding]:
    """The kernel's Python is one the package supports (``Requires-Python``)."""
    needed = _requires_python()
    found = f"{sys.version_info.major}.{sys.version_info.minor}"
    if sys.version_info >= needed:
        return [Finding(True, f"Python {needed[0]}.{needed[1]} or newer")]
    return [
        Finding(
            False,
            f"this kernel runs Python {found}; the workbook needs {needed[0]}.{needed[1]} or "
            f"newer: install it, recreate .venv (`make clean lab`), and choose the .venv kernel",
        )
    ]


def _requires_python() -> tuple[int, int]:
    try:
        spec = metadata.metadata("wsrelay")["Requires-Python"] or ">=3.11"
    except KeyError:  # Python 3.12+ raises for a missing field; 3.11 returns None
        spec = ">=3.11"
    major, minor = spec.removeprefix(">=").split(".")[:2]
    return int(major), int(minor)


def packages(extra: str = "notebooks") -> list[Finding]:
    """Every package the workbook needs is installed, at a version ``pyproject.toml`` allows.

    Args:
        extra: the ``pyproject.toml`` extra to check (with the extras it includes).
    """
    from packaging.requirements import Requirement

    findings: list[Finding] = []
    for requirement in _requirements(extra):
        req = Requirement(requirement)
        try:
            installed = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            findings.append(Finding(False, f"{req.name} is not installed: {INSTALL}"))
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            findings.append(
                Finding(
                    False,
                    f"{req.name} {installed} is installed, the workbook needs "
                    f"{req.name}{req.specifier}: {INSTALL}",
                )
            )
        else:
            findings.append(Finding(True, req.name))
    return findings


def _requirements(extra: str) -> list[str]:
    """The requirement strings of ``extra`` and the extras it pulls in, core first."""
    from packaging.requirements import Requirement

    wanted, pending = {""}, [extra]
    while pending:
        name = pending.pop()
        if name in wanted:
            continue
        wanted.add(name)
        for line in metadata.requires("wsrelay") or []:
            req = Requirement(line)
            if req.name == "wsrelay" and req.marker and req.marker.evaluate({"extra": name}):
                pending.extend(req.extras)
    found: list[str] = []
    for line in metadata.requires("wsrelay") or []:
        req = Requirement(line)
        if req.name == "wsrelay":
            continue
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in wanted if e):
            found.append(line)
    return found


def local_aws() -> list[Finding]:
    """moto starts on 127.0.0.1 and answers a DynamoDB call with an empty account."""
    from wsrelay.workbook import LocalAws

    try:
        with LocalAws() as aws:
            tables = aws.client("dynamodb").list_tables()["TableNames"]
    except Exception as exc:
        return [
            Finding(
                False,
                f"moto could not serve DynamoDB on 127.0.0.1 ({type(exc).__name__}: {exc}): "
                f"check that nothing blocks local connections, then {INSTALL}",
            )
        ]
    return [Finding(True, f"moto serves DynamoDB on 127.0.0.1 (tables: {tables})")]


def port_free(port: int = DEFAULT_PORT) -> list[Finding]:
    """Nothing listens on ``127.0.0.1:port``, so ``wsrelay serve`` can start there."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the gateway binds: reuse_address, so a port in TIME_WAIT is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return [
                Finding(
                    False,
                    f"port {port} on 127.0.0.1 is in use, so `wsrelay serve` cannot start "
                    f"there: stop the other process (Ctrl-C in its terminal; `lsof -i :{port}` "
                    f"names it), or run `wsrelay serve --port 0` to pick a free port. "
                    f"The notebooks always pick a free port, so they are not affected",
                )
            ]
    return [Finding(True, f"port {port} is free for `wsrelay serve`")]


def _all(port: int) -> list[Finding]:
    return [*python_version(), *packages(), *local_aws(), *port_free(port)]


def problems(port: int = DEFAULT_PORT) -> list[str]:
    """What to fix before the workbook runs (empty when all is well)."""
    return [finding.text for finding in _all(port) if not finding.ok]


def check_environment(port: int = DEFAULT_PORT) -> bool:
    """Print what to fix, or that all is well; return whether all is well."""
    wrong = problems(port)
    if not wrong:
        print("All good: Python, the packages, moto and the gateway's port are ready.")
        print("Next: 01_websocket-api.ipynb")
        return True
    print(f"{len(wrong)} thing(s) to fix, then run this notebook again:")
    for text in wrong:
        print(f"✗ {text}")
    return False
