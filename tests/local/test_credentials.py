"""The functions' credentials are the gateway's one decision, whatever the parent process has.

Lambda gives a function its execution role's credentials in its environment. The gateway
decides once (``wsrelay.local.backends``): placeholders when every endpoint is on this
machine, this user's own credentials otherwise; a worker never substitutes placeholders
of its own for a DynamoDB elsewhere (issue 13: "handlers sign with placeholders against a
real DynamoDB endpoint").
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from wsrelay.local import ApiDefinition, LocalGateway

from .support import CLIENTS, WAIT, custom_api

pytestmark = pytest.mark.integration


def reported(**options: Any) -> dict[str, Any]:
    """What a function of a gateway started with ``options`` finds in its environment."""
    import websocket

    api: ApiDefinition = custom_api(Path(os.devnull), {"$default": ("report_credentials", True)})
    with LocalGateway(port=0, api=api, create_table=False, **options) as gw:
        ws = websocket.create_connection(gw.url, timeout=WAIT)
        CLIENTS.append(ws)
        ws.send("who am I?")
        answer: dict[str, Any] = json.loads(ws.recv())
        return answer


def test_a_local_dynamodb_with_credentials_in_the_shell_uses_them(moto_endpoint: str) -> None:
    """DynamoDB on 127.0.0.1 (a moto server) and credentials found: the function gets those."""
    assert reported(dynamodb_endpoint=moto_endpoint) == {
        "key": os.environ["AWS_ACCESS_KEY_ID"],  # tests/conftest.py sets "testing"
        "secret": True,
        "token": None,
    }


@pytest.mark.usefixtures("no_aws_credentials")
def test_a_local_dynamodb_without_credentials_gets_placeholders(moto_endpoint: str) -> None:
    """DynamoDB on 127.0.0.1 and no credentials anywhere: placeholders (it checks none)."""
    assert reported(dynamodb_endpoint=moto_endpoint) == {
        "key": "local",
        "secret": True,
        "token": "local",
    }


@pytest.mark.usefixtures("no_aws_credentials")
def test_the_embedded_dynamodb_gets_placeholders() -> None:
    """The embedded moto checks no signatures: placeholders, whatever the shell has."""
    assert reported() == {"key": "local", "secret": True, "token": "local"}


@pytest.mark.usefixtures("no_aws_credentials")
def test_a_dynamodb_elsewhere_without_credentials_gets_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No placeholders for a DynamoDB that is not on this machine: a warning instead.

    (Nothing is sent there: the API has no table to create and its function calls nothing.)
    """
    answer = reported(dynamodb_endpoint="http://dynamodb.example.invalid:8000")
    assert answer == {"key": None, "secret": False, "token": None}
    assert "no AWS credentials found" in caplog.text
