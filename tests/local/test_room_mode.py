"""Room mode: a gateway others can reach answers ``@connections`` only when the call is signed.

On AWS the management API takes only SigV4-signed calls. A gateway bound beyond loopback
(``wsrelay serve --host 0.0.0.0``) does the same with credentials made for the run; one on
loopback serves any request. The tests bind 127.0.0.1 and turn the check on with
``require_signatures=True``, which is what binding beyond loopback does.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from botocore.exceptions import ClientError

from wsrelay.local import LocalGateway
from wsrelay.local.cli import startup_lines

from .support import WAIT, Harness, chat_with_manage_api, recv_json, running_gateway

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=[True, False], ids=["fast_path", "http"])
def room(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Harness]:
    """The chat, plus a two-way ``manage`` route, with signatures required."""

    with running_gateway(
        tmp_path_factory.mktemp("room"),
        chat_with_manage_api,
        fast_path=request.param,
        require_signatures=True,
    ) as harness:
        yield harness


def client(gw: LocalGateway, **credentials: str) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=gw.management_url,
        region_name="us-east-1",
        **credentials,
    )


def test_a_call_signed_with_the_gateways_credentials_is_served(room: Harness) -> None:
    """``management_client()`` signs with the gateway's credentials, made for the run."""
    ws, connection_id = room.chat("signed")
    credentials = room.gw.credentials
    assert credentials["AWS_ACCESS_KEY_ID"].startswith("LOCAL")
    assert credentials["AWS_SECRET_ACCESS_KEY"] not in ("local", "testing")
    assert room.gw.credentials_made_for_run
    room.gw.management_client().post_to_connection(ConnectionId=connection_id, Data=b"signed")
    assert ws.recv() == "signed"
    own = client(
        room.gw,
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
    )
    assert own.get_connection(ConnectionId=connection_id)["Identity"]["SourceIp"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("key", "secret", "error"),
    [
        ("local", "local", "UnrecognizedClientException"),  # the placeholders everyone knows
        (None, "wrong-secret", "InvalidSignatureException"),  # the right key, a wrong secret
    ],
    ids=["placeholders", "wrong-secret"],
)
def test_other_credentials_are_refused_403(
    room: Harness, key: str | None, secret: str, error: str
) -> None:
    """The placeholders everyone knows, or a wrong secret: 403, and nothing happens."""
    _, connection_id = room.chat(f"refused-{error}")
    intruder = client(
        room.gw,
        aws_access_key_id=key or room.gw.credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=secret,
    )
    for call in (
        lambda: intruder.post_to_connection(ConnectionId=connection_id, Data=b"spoofed"),
        lambda: intruder.get_connection(ConnectionId=connection_id),
        lambda: intruder.delete_connection(ConnectionId=connection_id),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert caught.value.response["Error"]["Code"] == error
    assert connection_id in room.gw.connection_ids()  # nothing was closed


def test_an_unsigned_request_is_refused(room: Harness) -> None:
    """An unsigned call gets 403 ``MissingAuthenticationTokenException``, as API Gateway answers it."""
    _, connection_id = room.chat("unsigned")
    url = f"{room.gw.management_url}/@connections/{quote(connection_id, safe='')}"
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(urllib.request.Request(url, data=b"x", method="POST"), timeout=WAIT)
    assert caught.value.code == 403
    assert caught.value.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert json.loads(caught.value.read()) == {"message": "Missing Authentication Token"}


def test_the_functions_own_calls_still_work(room: Harness) -> None:
    """A handler's calls go over its channel, or over HTTP signed with the role's credentials."""
    ws, _ = room.chat("function")
    ws.send(json.dumps({"action": "sendmessage", "message": "broadcast in the room"}))
    assert recv_json(ws)["message"] == "broadcast in the room"
    ws.send(json.dumps({"action": "manage", "op": "get"}))
    outcome = recv_json(ws)["manage"]
    assert outcome["status"] == 200
    assert outcome["http"] is (not room.fast_path)


def test_serve_prints_the_credentials_made_for_the_run(room: Harness) -> None:
    """``wsrelay serve --host …`` says how to sign: the key and the secret made for the run."""
    lines = startup_lines(room.gw, "127.0.0.1")
    credentials = room.gw.credentials
    (line,) = [line for line in lines if line.startswith("@connections:")]
    assert "SigV4-signed requests only" in line
    assert f"AWS_ACCESS_KEY_ID={credentials['AWS_ACCESS_KEY_ID']}" in line
    assert f"AWS_SECRET_ACCESS_KEY={credentials['AWS_SECRET_ACCESS_KEY']}" in line


def test_a_gateway_on_loopback_serves_any_request(tmp_path: Path) -> None:
    """On loopback any request is served, signed with anything or not, and serve prints no credentials."""
    with running_gateway(tmp_path) as harness:
        assert not harness.gw.requires_signatures
        _, connection_id = harness.chat("loopback")
        anyone = client(harness.gw, aws_access_key_id="x", aws_secret_access_key="y")
        assert anyone.get_connection(ConnectionId=connection_id)
        lines = startup_lines(harness.gw, "127.0.0.1")
        assert not [line for line in lines if line.startswith("@connections:")]


@pytest.mark.parametrize(
    ("host", "shared"),
    [("0.0.0.0", True), ("192.168.1.20", True), ("127.0.0.1", False), ("localhost", False)],
)
def test_beyond_loopback_means_signatures(host: str, shared: bool) -> None:
    """Binding anything but loopback turns the check on (nothing is bound here)."""
    gw = LocalGateway(host=host, port=0)
    assert gw.requires_signatures is shared
    assert LocalGateway(host=host, require_signatures=False).requires_signatures is False
