"""The Lambda events the running gateway sends, checked against Powertools' parser models and AWS's shapes."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from conftest import load_event

from wsrelay.local import ApiDefinition

from .support import Harness, custom_api, recv_json, running_gateway, wait_for

pytestmark = pytest.mark.integration

MODELS = {
    "CONNECT": APIGatewayWebSocketConnectEventModel,
    "MESSAGE": APIGatewayWebSocketMessageEventModel,
    "DISCONNECT": APIGatewayWebSocketDisconnectEventModel,
}
CONNECTION_ID = re.compile(r"^[A-Za-z0-9_-]{15}=$")
REQUEST_TIME = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000$")


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Harness, str]]:
    """One chat session recorded end to end: connect, four frames, close 4001; its connection id."""
    with running_gateway(tmp_path_factory.mktemp("events")) as harness:
        ws = harness.connect(
            "room=events&name=recorder&tag=a&tag=b",
            header={"X-Custom": "yes"},
            subprotocols=["wsrelay.v1"],
        )
        connection_id = harness.connection_id_of("recorder")
        for frame in (
            json.dumps({"action": "sendmessage", "message": "hello"}),
            json.dumps({"action": "joinroom", "room": "elsewhere"}),
            "not JSON at all",
            json.dumps({"action": "sendmessage", "message": "bye"}),
        ):
            ws.send(frame)
            recv_json(ws)
        ws.close(status=4001, reason=b"leaving")
        harness.wait_event("DISCONNECT", connection_id)
        yield harness, connection_id


@pytest.fixture(scope="module")
def authorized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[dict[str, Any]]]:
    """The events of one connection through an authorizer: CONNECT, MESSAGE, DISCONNECT."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        return custom_api(
            record_file,
            {"$connect": "record_only", "$disconnect": "record_only", "$default": "record_only"},
            authorizer=("authorizer", ("route.request.querystring.token",)),
        )

    with running_gateway(tmp_path_factory.mktemp("authorized"), api) as harness:
        ws = harness.connect("token=allow-bob&name=bob")
        connection_id = harness.connection_id_of("bob")
        ws.send("hello")
        harness.wait_event("MESSAGE", connection_id)
        ws.close()
        harness.wait_event("DISCONNECT", connection_id)
        yield harness.events(connection_id=connection_id)


def events_of(session: tuple[Harness, str], event_type: str | None = None) -> list[dict[str, Any]]:
    harness, connection_id = session
    return harness.events(event_type, connection_id)


def test_every_event_validates_against_powertools(session: tuple[Harness, str]) -> None:
    """Each CONNECT, MESSAGE and DISCONNECT event parses with Powertools' WebSocket models."""
    events = events_of(session)
    assert [e["requestContext"]["eventType"] for e in events] == [
        "CONNECT",
        *["MESSAGE"] * 4,
        "DISCONNECT",
    ]
    for event in events:
        MODELS[event["requestContext"]["eventType"]].model_validate(event)


def test_authorized_events_validate_against_powertools(authorized: list[dict[str, Any]]) -> None:
    """Events that carry an authorizer context still parse with Powertools' models."""
    assert [e["requestContext"]["eventType"] for e in authorized] == [
        "CONNECT",
        "MESSAGE",
        "DISCONNECT",
    ]
    for event in authorized:
        MODELS[event["requestContext"]["eventType"]].model_validate(event)
        assert event["requestContext"]["authorizer"]["principalId"] == "bob"


def test_common_request_context(session: tuple[Harness, str]) -> None:
    """Every event has AWS's common fields; connectedAt stays the same; ids look like AWS's."""
    harness, connection_id = session
    events = events_of(session)
    assert CONNECTION_ID.match(connection_id)
    connected_at = {e["requestContext"]["connectedAt"] for e in events}
    assert len(connected_at) == 1
    request_ids = set()
    for event in events:
        context = event["requestContext"]
        assert event["isBase64Encoded"] is False
        assert context["connectionId"] == connection_id
        assert context["messageDirection"] == "IN"
        assert context["stage"] == harness.gw.stage
        assert context["domainName"] == f"127.0.0.1:{harness.gw.port}"
        assert context["identity"]["sourceIp"] == "127.0.0.1"
        assert REQUEST_TIME.match(context["requestTime"]), context["requestTime"]
        assert context["requestTimeEpoch"] >= context["connectedAt"]
        assert context["extendedRequestId"]
        request_ids.add(context["requestId"])
    assert len(request_ids) == len(events), "request ids are not unique"


def test_connect_event(session: tuple[Harness, str]) -> None:
    """CONNECT has the handshake's headers and query string (multi-valued too), and no body."""
    (event,) = events_of(session, "CONNECT")
    assert "body" not in event
    headers = event["headers"]
    assert headers["X-Custom"] == "yes"
    assert headers["Sec-WebSocket-Version"] == "13"
    assert headers["Sec-WebSocket-Protocol"] == "wsrelay.v1"
    assert "Sec-WebSocket-Key" in headers
    assert headers["Host"] == event["requestContext"]["domainName"]
    assert event["multiValueHeaders"]["X-Custom"] == ["yes"]
    assert event["queryStringParameters"]["room"] == "events"
    assert event["multiValueQueryStringParameters"]["tag"] == ["a", "b"]
    assert event["queryStringParameters"]["tag"] == "b"  # the last value, as AWS gives it


def test_connect_event_has_forwarding_headers(session: tuple[Harness, str]) -> None:
    """CONNECT carries the X-Forwarded-For/Port/Proto headers API Gateway adds."""
    harness, _ = session
    (event,) = events_of(session, "CONNECT")
    headers = event["headers"]
    assert headers["X-Forwarded-For"] == "127.0.0.1"
    assert headers["X-Forwarded-Port"] == str(harness.gw.port)
    assert headers["X-Forwarded-Proto"] == "http"
    assert event["multiValueHeaders"]["X-Forwarded-For"] == ["127.0.0.1"]


def test_connect_event_headers_are_those_api_gateway_passes_on(
    session: tuple[Harness, str],
) -> None:
    """No hop-by-hop headers (the real capture has none), and an X-Ray trace id, as AWS adds."""
    (event,) = events_of(session, "CONNECT")
    names = {name.lower() for name in event["headers"]}
    capture = {name.lower() for name in load_event("apiGatewayWebSocketApiConnect")["headers"]}
    assert not {"upgrade", "connection"} & (names | capture)
    assert re.fullmatch(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24}", event["headers"]["X-Amzn-Trace-Id"])
    stamp = int(event["headers"]["X-Amzn-Trace-Id"].split("-")[1], 16)
    assert abs(stamp - event["requestContext"]["connectedAt"] / 1000) < 2
    assert names >= capture - {"sec-websocket-extensions"}  # websocket-client offers none


def test_forwarded_for_appends_the_client_address(session: tuple[Harness, str]) -> None:
    """An X-Forwarded-For the client sent is kept, with its own address appended."""
    harness, _ = session
    ws = harness.connect("name=proxied", header={"X-Forwarded-For": "203.0.113.7"})
    ws.close()
    event = harness.wait_event("CONNECT", harness.connection_id_of("proxied"))
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"


def test_connect_without_query_has_no_query_keys(tmp_path: Path) -> None:
    """A URL without a query string gives a CONNECT with no query keys at all."""
    with running_gateway(tmp_path) as harness:
        ws = harness.connect()
        try:
            ws.send(json.dumps({"action": "sendmessage", "message": "x"}))
            recv_json(ws)
        finally:
            ws.close()
        (event,) = harness.events("CONNECT")
    assert "queryStringParameters" not in event
    assert "multiValueQueryStringParameters" not in event


def test_message_events(session: tuple[Harness, str]) -> None:
    """MESSAGE has the frame's text as body, a messageId, the route key, and no headers."""
    events = events_of(session, "MESSAGE")
    assert [e["requestContext"]["routeKey"] for e in events] == [
        "sendmessage",
        "joinroom",
        "$default",
        "sendmessage",
    ]
    assert events[2]["body"] == "not JSON at all"
    message_ids = {e["requestContext"]["messageId"] for e in events}
    assert len(message_ids) == 4
    for event in events:
        assert "headers" not in event
        assert "multiValueHeaders" not in event
        assert "queryStringParameters" not in event


def test_disconnect_event(session: tuple[Harness, str]) -> None:
    """DISCONNECT has AWS's fixed headers, the close code and reason, and no body."""
    harness, _ = session
    (event,) = events_of(session, "DISCONNECT")
    assert "body" not in event
    assert event["headers"] == {
        "Host": f"127.0.0.1:{harness.gw.port}",
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }
    assert event["requestContext"]["disconnectStatusCode"] == 4001
    assert event["requestContext"]["disconnectReason"] == "leaving"


def _staged(record_file: Path) -> ApiDefinition:
    return custom_api(
        record_file,
        {"$connect": "record_only", "$disconnect": "record_only", "$default": "record_only"},
        authorizer=("authorizer", ("stageVariables.tier", "route.request.querystring.token")),
    )


def test_stage_variables_reach_every_event_and_the_authorizer(tmp_path: Path) -> None:
    """The stage's variables are ``stageVariables`` in every event and an identity source.

    websocket-api-stages ("Stage variables"); CreateAuthorizer's IdentitySource takes
    ``stageVariables.x``.
    """
    with running_gateway(
        tmp_path, lambda table, records: _staged(records), stage_variables={"tier": "gold"}
    ) as harness:
        ws = harness.connect("token=allow-sam")
        connect = wait_for(lambda: harness.events("CONNECT"), "the CONNECT event")[0]
        connection_id = connect["requestContext"]["connectionId"]
        ws.send("hello")
        harness.wait_event("MESSAGE", connection_id)
        ws.close()
        harness.wait_event("DISCONNECT", connection_id)
        for event in harness.events(connection_id=connection_id):
            assert event["stageVariables"] == {"tier": "gold"}, event["requestContext"]["eventType"]
        authorizer = [r["authorizer_event"] for r in harness.records() if "authorizer_event" in r]
        assert authorizer[0]["stageVariables"] == {"tier": "gold"}


def test_a_missing_stage_variable_identity_source_is_401(tmp_path: Path) -> None:
    """Without the stage variable the identity source names, the handshake is 401 and the
    authorizer is not called; without stage variables events have no ``stageVariables``."""
    with running_gateway(tmp_path, lambda table, records: _staged(records)) as harness:
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            harness.connect("token=allow-sam")
        assert refused.value.status_code == 401
        assert not [r for r in harness.records() if "authorizer_event" in r]
