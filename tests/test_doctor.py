"""``wsrelay doctor``: each check's ✓ and ✗, run as a learner runs it (a subprocess, a shell)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

WSRELAY = [sys.executable, "-m", "wsrelay.cli", "doctor"]


def doctor(
    *arguments: str, env: dict[str, str] | None = None, shell: str | None = None
) -> tuple[int, str]:
    """Run ``wsrelay doctor`` (in ``bash -c`` after ``shell`` when given); (status, output)."""
    command = [*WSRELAY, *arguments]
    if shell is not None:
        command = ["bash", "-c", f"{shell} && exec {' '.join(command)}"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
    return result.returncode, result.stdout + result.stderr


def no_credentials(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
        AWS_CONFIG_FILE=str(tmp_path / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


def line(output: str, start: str) -> str:
    found = [text for text in output.splitlines() if text.startswith(start)]
    assert len(found) == 1, output
    return found[0]


def test_a_ready_machine_reads_all_ticks_and_names_its_account(moto_endpoint: str) -> None:
    """Python, packages, open files, the gateway's chat and the AWS account (moto's STS) are ✓."""
    env = {**os.environ, "AWS_ENDPOINT_URL_STS": moto_endpoint}
    status, output = doctor("--port", "0", env=env)
    assert status == 0, output
    assert line(output, "✓ Python")
    assert "✓ the local gateway serves the chat page at http://127.0.0.1:" in output
    assert "✓ optional: AWS account 123456789012 as arn:aws:" in output
    assert (
        output.rstrip().endswith("Ready for the workbook.") or "Ready for the workbook (" in output
    )


def test_a_busy_port_is_a_cross_with_the_fix_but_does_not_block(tmp_path: Path) -> None:
    """``wsrelay serve``'s port taken: ✗ saying how to free it or use --port 0; exit status 0."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        status, output = doctor("--offline", "--port", str(port), env=no_credentials(tmp_path))
    text = line(output, f"✗ port {port}")
    assert "--port 0" in text and "lsof" in text
    assert status == 0, output


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for ulimit")
def test_an_open_file_limit_that_cannot_be_raised_blocks(tmp_path: Path) -> None:
    """Soft and hard limits of 256 (``ulimit -n 256``): ✗ with the ulimit command; exit status 1."""
    status, output = doctor("--offline", env=no_credentials(tmp_path), shell="ulimit -n 256")
    text = line(output, "✗ open files")
    assert "256" in text and "ulimit -n 4096" in text
    assert status == 1, output
    assert "1 problem(s) block the workbook" in output


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash for ulimit")
def test_a_low_soft_limit_under_a_high_hard_limit_is_fine(tmp_path: Path) -> None:
    """macOS's 256 soft limit with room above it: ✓, the gateway raises it when it starts."""
    status, output = doctor("--offline", env=no_credentials(tmp_path), shell="ulimit -Sn 256")
    assert "raised when the gateway starts" in line(output, "✓ open files")
    assert status == 0, output


def test_no_credentials_is_an_optional_cross(tmp_path: Path) -> None:
    """No AWS credentials: ✗ with `aws configure` and the shared-account advice; not blocking."""
    status, output = doctor("--port", "0", env=no_credentials(tmp_path))
    text = line(output, "✗ optional: no AWS credentials")
    assert "aws configure" in text and "--stack-name" in text
    assert status == 0, output
