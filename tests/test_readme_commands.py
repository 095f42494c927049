"""The README's commands do what it says: ``make lab`` serves the workbook, ``make help`` lists targets, ``make bench`` prints its table."""

from __future__ import annotations

import re
import shlex
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from wsrelay.local.hosts import free_port

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()

pytestmark = pytest.mark.integration


def _recipe(target: str) -> list[str]:
    """The commands ``make`` would run for ``target`` (``make -n``: printed, not run)."""
    printed = subprocess.run(
        ["make", "-n", "--no-print-directory", target],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line for line in printed.splitlines() if line.strip()]
    assert lines, f"make -n {target} printed nothing"
    return shlex.split(lines[-1])


def test_readme_shows_the_two_commands() -> None:
    """The front door: ``make lab`` and ``make test``, in a code block."""
    assert re.search(r"^make lab\b", README, re.MULTILINE)
    assert re.search(r"^make test\b", README, re.MULTILINE)


def test_make_lab_serves_the_notebooks(tmp_path: Path) -> None:
    """The command ``make lab`` runs starts JupyterLab on notebooks/, which lists them all."""
    port = free_port()
    command = [
        *_recipe("lab"),
        "--no-browser",
        f"--ServerApp.port={port}",
        "--ServerApp.ip=127.0.0.1",
        "--IdentityProvider.token=",
        "--ServerApp.port_retries=0",
    ]
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    lab = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/contents", timeout=5
                ) as reply:
                    listing = reply.read().decode()
                break
            except OSError:
                if lab.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        f"JupyterLab did not start: {lab.stderr.read().decode() if lab.stderr else ''}"
                    ) from None
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=10) as reply:
            assert reply.status == 200
        for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
            assert notebook.name in listing
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=15)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait()
        if lab.stderr:
            lab.stderr.close()


def test_make_bench_runs_the_benchmark_and_prints_its_table() -> None:
    """``make bench`` runs ``benchmarks/fanout.py``; a tiny run prints the README's table."""
    command = _recipe("bench")
    assert command[1:2] == ["benchmarks/fanout.py"], command
    assert (ROOT / command[1]).is_file()
    result = subprocess.run(
        [
            *command,
            "--sizes",
            "3",
            "--messages",
            "2",
            "--warmup",
            "1",
            "--big-room",
            "7",
            "--big-room-page",
            "3",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| server | N | connect p50 / max ms | all N accepted (s)")
    assert [row.split(" | ")[:2] for row in rows[1:]] == [
        ["| wsrelay gateway", "3"],
        ["| wsrelay serve --template template.yaml", "3"],
        ["| ceiling (websockets)", "3"],
        ["| big room: one invocation", "7"],
        ["| big room: split in pages of 3", "7"],
    ]
