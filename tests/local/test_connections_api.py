"""The ``@connections`` management API, called with boto3 from outside and by handlers inside.

Handlers reach it over a private channel (``fast_path=True``) or over HTTP like any client
(``fast_path=False``); the handler-side tests run on both, and check which path was taken.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import quote

import pytest
import websocket
from botocore.exceptions import ClientError
from websocket import ABNF

from .support import (
    WAIT,
    Harness,
    chat_with_manage_api,
    recv_close,
    recv_json,
    running_gateway,
    wait_for,
)

pytestmark = pytest.mark.integration

LIMIT = 131_072
UNKNOWN_ID = "AAAAAAAAAAAAAAA="  # well formed, never issued
GONE = "The connection with the provided id no longer exists."


@pytest.fixture(scope="module", params=[True, False], ids=["fast_path", "http"])
def gateway(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Harness]:
    """The chat's routes plus a two-way ``manage`` route that calls ``@connections`` from a handler."""

    with running_gateway(
        tmp_path_factory.mktemp("connections"), chat_with_manage_api, fast_path=request.param
    ) as harness:
        yield harness


@pytest.fixture
def client(gateway: Harness) -> Any:
    """A boto3 ``apigatewaymanagementapi`` client for the gateway (always over HTTP)."""
    return gateway.gw.management_client()


@pytest.fixture
def member(gateway: Harness) -> Iterator[tuple[websocket.WebSocket, str]]:
    """A connected chat client and its connection id."""
    ws, connection_id = gateway.chat(f"member-{uuid.uuid4().hex[:8]}")
    yield ws, connection_id
    ws.close()


def manage(ws: websocket.WebSocket, **request: Any) -> dict[str, Any]:
    """Ask the ``manage`` handler for one ``@connections`` call; return its outcome."""
    ws.send(json.dumps({"action": "manage", **request}))
    while True:  # frames the call itself posts may arrive first
        frame = recv_json(ws)
        if "manage" in frame:
            outcome: dict[str, Any] = frame["manage"]
            return outcome


def raw(gateway: Harness, method: str, connection_id: str, data: bytes | None = None) -> Any:
    """A plain HTTP request to ``/{stage}/@connections/{id}``, the id percent-encoded."""
    url = f"{gateway.gw.management_url}/@connections/{quote(connection_id, safe='')}"
    request = urllib.request.Request(url, data=data, method=method)
    try:
        return urllib.request.urlopen(request, timeout=WAIT)
    except urllib.error.HTTPError as error:
        return error


# --- from outside, with boto3 ---------------------------------------------------------------


def test_post_to_connection_delivers(client: Any, member: tuple[websocket.WebSocket, str]) -> None:
    """PostToConnection answers 200 and the client receives the data as a text frame."""
    ws, connection_id = member
    response = client.post_to_connection(ConnectionId=connection_id, Data=b'{"hello": "world"}')
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert recv_json(ws) == {"hello": "world"}


def test_post_of_exactly_128kb_is_delivered(
    client: Any, member: tuple[websocket.WebSocket, str]
) -> None:
    """Data of exactly 131,072 bytes is within the limit and arrives whole."""
    ws, connection_id = member
    client.post_to_connection(ConnectionId=connection_id, Data=b"z" * LIMIT)
    assert ws.recv() == "z" * LIMIT


def test_a_post_over_32kb_arrives_in_32kb_frames(
    client: Any, member: tuple[websocket.WebSocket, str]
) -> None:
    """ "Messages posted over 32 KB are split into 32 KB frames (this applies to @connections
    commands as well)" — the quotas table's note on the frame size."""
    ws, connection_id = member
    client.post_to_connection(ConnectionId=connection_id, Data=b"y" * 100_000)
    frames = [ws.recv_frame()]
    while not frames[-1].fin:
        frames.append(ws.recv_frame())
    assert [len(f.data) for f in frames] == [32_768, 32_768, 32_768, 100_000 - 3 * 32_768]
    assert [f.opcode for f in frames] == [ABNF.OPCODE_TEXT] + [ABNF.OPCODE_CONT] * 3
    assert b"".join(f.data for f in frames) == b"y" * 100_000


def test_post_to_unknown_id_raises_gone(client: Any) -> None:
    """An id that is not connected gives 410 and botocore's modelled ``GoneException``."""
    with pytest.raises(client.exceptions.GoneException) as caught:
        client.post_to_connection(ConnectionId=UNKNOWN_ID, Data=b"anyone?")
    assert isinstance(caught.value, ClientError)  # so `except ClientError` first hides it
    error = caught.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 410
    assert error["Error"]["Code"] == "GoneException"
    assert error["Error"]["Message"] == GONE


def test_post_over_128kb_raises_payload_too_large(
    client: Any, member: tuple[websocket.WebSocket, str]
) -> None:
    """Data over 131,072 bytes gives 413 ``PayloadTooLargeException`` (botocore does not check it first)."""
    ws, connection_id = member
    with pytest.raises(client.exceptions.PayloadTooLargeException) as caught:
        client.post_to_connection(ConnectionId=connection_id, Data=b"z" * (LIMIT + 1))
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    # Nothing was delivered, and the connection is still there.
    client.post_to_connection(ConnectionId=connection_id, Data=b"small")
    assert ws.recv() == "small"


def test_get_connection_describes_it(
    gateway: Harness, client: Any, member: tuple[websocket.WebSocket, str]
) -> None:
    """GetConnection gives ConnectedAt and LastActiveAt as datetimes and the client's source IP."""
    ws, connection_id = member
    before = client.get_connection(ConnectionId=connection_id)
    assert isinstance(before["ConnectedAt"], datetime)
    assert isinstance(before["LastActiveAt"], datetime)
    assert before["ConnectedAt"].tzinfo is not None
    assert before["Identity"]["SourceIp"] == "127.0.0.1"
    connect = gateway.wait_event("CONNECT", connection_id)
    assert int(before["ConnectedAt"].timestamp() * 1000) == connect["requestContext"]["connectedAt"]
    ws.send(json.dumps({"action": "joinroom", "room": "active"}))
    recv_json(ws)
    after = client.get_connection(ConnectionId=connection_id)
    assert after["ConnectedAt"] == before["ConnectedAt"]
    assert after["LastActiveAt"] >= before["LastActiveAt"]


def test_get_connection_on_the_wire_is_camel_case(
    gateway: Harness, member: tuple[websocket.WebSocket, str]
) -> None:
    """On the wire GetConnection's JSON keys are camelCase with ISO 8601 times."""
    _, connection_id = member
    with raw(gateway, "GET", connection_id) as response:
        assert response.status == 200
        body = json.loads(response.read())
    assert set(body) == {"connectedAt", "lastActiveAt", "identity"}
    assert set(body["identity"]) == {"sourceIp", "userAgent"}
    assert body["identity"]["sourceIp"] == "127.0.0.1"
    datetime.fromisoformat(body["connectedAt"].replace("Z", "+00:00"))
    datetime.fromisoformat(body["lastActiveAt"].replace("Z", "+00:00"))


def test_delete_connection_closes_it(
    gateway: Harness, client: Any, member: tuple[websocket.WebSocket, str]
) -> None:
    """DeleteConnection answers 204, the client gets a close frame, a second delete is Gone."""
    ws, connection_id = member
    response = client.delete_connection(ConnectionId=connection_id)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 204
    code, _ = recv_close(ws)
    assert code == 1000
    with pytest.raises(client.exceptions.GoneException):
        client.delete_connection(ConnectionId=connection_id)
    disconnect = gateway.wait_event("DISCONNECT", connection_id)
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1000
    assert disconnect["requestContext"]["disconnectReason"] == "Connection Closed Normally"
    wait_for(lambda: gateway.gw.store().get(connection_id) is None, "the row to be deleted")
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId=connection_id)


def test_raw_http_errors_carry_the_error_type(gateway: Harness) -> None:
    """Errors carry ``x-amzn-ErrorType``, which is what makes botocore raise the modelled class."""
    gone = raw(gateway, "POST", UNKNOWN_ID, b"x")
    assert gone.code == 410
    assert gone.headers["x-amzn-ErrorType"] == "GoneException"
    assert json.loads(gone.read())["message"] == GONE
    gone.close()


def test_raw_http_payload_too_large(
    gateway: Harness, member: tuple[websocket.WebSocket, str]
) -> None:
    """A raw POST over 131,072 bytes gets 413 with ``x-amzn-ErrorType: PayloadTooLargeException``."""
    _, connection_id = member
    too_large = raw(gateway, "POST", connection_id, b"z" * (LIMIT + 1))
    assert too_large.code == 413
    assert too_large.headers["x-amzn-ErrorType"] == "PayloadTooLargeException"
    too_large.close()


def test_percent_encoded_ids_are_decoded(
    gateway: Harness, member: tuple[websocket.WebSocket, str]
) -> None:
    """An id sent percent-encoded (``=`` as ``%3D``) names the same connection for POST, GET and DELETE."""
    ws, connection_id = member
    assert connection_id.endswith("=")
    url_id = quote(connection_id, safe="")
    assert "%3D" in url_id
    with raw(gateway, "POST", connection_id, b"via %3D") as response:
        assert response.status == 200
    assert ws.recv() == "via %3D"
    with raw(gateway, "GET", connection_id) as response:
        assert response.status == 200
    with raw(gateway, "DELETE", connection_id) as response:
        assert response.status == 204
    code, _ = recv_close(ws)
    assert code == 1000


def test_other_methods_are_refused(gateway: Harness) -> None:
    """Only POST, GET and DELETE are part of the API."""
    refused = raw(gateway, "PUT", UNKNOWN_ID, b"x")
    assert refused.code == 405
    refused.close()


# --- from a handler, over the fast path and over HTTP -----------------------------------


def test_handler_posts_to_its_connection(
    gateway: Harness, member: tuple[websocket.WebSocket, str]
) -> None:
    """A handler's PostToConnection answers 200 and the data reaches the client."""
    ws, _ = member
    ws.send(json.dumps({"action": "manage", "op": "post", "data": "from the handler"}))
    assert ws.recv() == "from the handler"
    outcome = recv_json(ws)["manage"]
    assert outcome == {"status": 200, "http": not gateway.fast_path}


def test_handler_post_to_unknown_id_is_gone(
    gateway: Harness, member: tuple[websocket.WebSocket, str]
) -> None:
    """A handler posting to an unknown id catches botocore's ``GoneException`` (410)."""
    ws, _ = member
    outcome = manage(ws, op="post", target=UNKNOWN_ID, data="anyone?")
    assert outcome == {"error": "GoneException", "status": 410, "http": not gateway.fast_path}


def test_handler_post_too_large(gateway: Harness, member: tuple[websocket.WebSocket, str]) -> None:
    """A handler posting over 131,072 bytes catches ``PayloadTooLargeException`` (413)."""
    ws, _ = member
    outcome = manage(ws, op="post", data="z", repeat=LIMIT + 1)
    assert outcome == {
        "error": "PayloadTooLargeException",
        "status": 413,
        "http": not gateway.fast_path,
    }


def test_handler_gets_its_connection(
    gateway: Harness, member: tuple[websocket.WebSocket, str]
) -> None:
    """A handler's GetConnection parses to datetimes and the source IP."""
    ws, _ = member
    outcome = manage(ws, op="get")
    assert outcome == {
        "connectedAt": "datetime",
        "lastActiveAt": "datetime",
        "sourceIp": "127.0.0.1",
        "status": 200,
        "http": not gateway.fast_path,
    }


def test_handler_deletes_its_connection(
    gateway: Harness, member: tuple[websocket.WebSocket, str]
) -> None:
    """A handler's DeleteConnection answers 204 and closes the connection; the two-way reply is then lost."""
    ws, connection_id = member
    ws.send(json.dumps({"action": "manage", "op": "delete"}))
    code, _ = recv_close(ws)
    assert code == 1000
    assert (
        gateway.wait_event("DISCONNECT", connection_id)["requestContext"]["disconnectStatusCode"]
        == 1000
    )
    other, _ = gateway.chat(f"deleter-{uuid.uuid4().hex[:8]}")
    try:
        outcome = manage(other, op="delete", target=connection_id)
    finally:
        other.close()
    assert outcome == {"error": "GoneException", "status": 410, "http": not gateway.fast_path}
