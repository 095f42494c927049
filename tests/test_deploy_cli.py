"""``wsrelay deploy | destroy | status`` through the real ``wsrelay`` entry point, on moto."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

from wsrelay.cli import main
from wsrelay.deploy.package import build_zip, code_sha256
from wsrelay.deploy.stack import template_text


def _stack() -> str:
    return f"c{uuid.uuid4().hex[:10]}"


def test_template_option_prints_the_template(capsys: pytest.CaptureFixture[str]) -> None:
    """``wsrelay deploy --template`` prints the packaged template and deploys nothing."""
    assert main(["deploy", "--template"]) == 0
    assert capsys.readouterr().out == template_text()


def test_zip_option_writes_the_package(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``wsrelay deploy --zip PATH`` writes the Lambda zip and prints its CodeSha256."""
    target = tmp_path / "wsrelay-lambda.zip"
    assert main(["deploy", "--zip", str(target)]) == 0
    assert target.read_bytes() == build_zip()
    assert code_sha256(build_zip()) in capsys.readouterr().out


def test_options_are_documented(capsys: pytest.CaptureFixture[str]) -> None:
    """Each command's help names the stack, stage, region and endpoint options."""
    for command in ("deploy", "destroy", "status"):
        with pytest.raises(SystemExit) as exited:
            main([command, "--help"])
        assert exited.value.code == 0
        out = capsys.readouterr().out
        for option in ("--stack-name", "--stage", "--region", "--endpoint-url"):
            assert option in out, (command, option)
        assert ("--template" in out) == (command == "deploy")


def test_a_bad_stack_name_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid stack name is refused before any AWS call, with the rule to follow."""
    assert main(["status", "--stack-name", "9 lives", "--endpoint-url", "http://127.0.0.1:9"]) == 2
    assert "invalid stack name '9 lives'" in capsys.readouterr().err


def test_registering_imports_no_boto3() -> None:
    """Building the deploy sub-parsers leaves boto3 unimported (it loads only in ``run``)."""
    probe = (
        "import argparse, sys\n"
        "from wsrelay.deploy import cli\n"
        "for name in ('deploy', 'destroy', 'status'):\n"
        "    cli.register(name, argparse.ArgumentParser())\n"
        "print(sorted(m for m in ('boto3', 'botocore') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.integration
def test_deploy_status_destroy(moto_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Deploy prints a line per step and the URLs; status lists it; destroy removes it."""
    stack = _stack()
    where = ["--stack-name", stack, "--region", "us-east-1", "--endpoint-url", moto_endpoint]
    assert main(["deploy", *where]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"deploying stack {stack}-dev to account 123456789012 in us-east-1"
    assert out[1] == f"✓ created table {stack}-dev-connections"
    assert out[-2].startswith("WebSocket URL:    wss://")
    assert out[-2].endswith(".execute-api.us-east-1.amazonaws.com/dev")
    assert out[-1].startswith("@connections URL: https://")
    assert main(["status", *where]) == 0
    assert f"✓ function {stack}-dev-handler" in capsys.readouterr().out
    assert main(["destroy", *where]) == 0
    assert f"✓ deleted table {stack}-dev-connections" in capsys.readouterr().out


@pytest.mark.integration
def test_a_failed_step_exits_1_with_advice(
    moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name taken by someone else's table: exit 1, the step, the cause and what to do."""
    stack = _stack()
    boto3.client("dynamodb", endpoint_url=moto_endpoint).create_table(
        TableName=f"{stack}-dev-connections",
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
    )
    assert main(["deploy", "--stack-name", stack, "--endpoint-url", moto_endpoint]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[0] == f"✗ check table {stack}-dev-connections failed"
    assert err[1].startswith("  AWS said: NameTaken: a table named")
    assert err[2].startswith("  what to do: wsrelay never changes or deletes")
