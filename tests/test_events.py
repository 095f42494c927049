"""``wsrelay.events``: the events we build look like AWS's, and the readers read AWS's own.

Two oracles, neither of them our code: the real captures in ``tests/events/`` and
Powertools' parser models (``aws_lambda_powertools.utilities.parser.models``).
"""

from __future__ import annotations

import base64
import json
import random
import re
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from conftest import load_event
from pydantic import BaseModel, ValidationError

from wsrelay import events

CONNECT = "apiGatewayWebSocketApiConnect"
DISCONNECT = "apiGatewayWebSocketApiDisconnect"
MESSAGE = "apiGatewayWebSocketApiMessage"

DOMAIN = "fjnq7njcv2.execute-api.us-east-1.amazonaws.com"
#: 2026-11-27 08:48:09.123 UTC, worked out by hand rather than with a date library:
#: 1970-01-01 → 2026-01-01 is 56 years with 14 leap days (1972 … 2024) = 20,454 days;
#: 2026-01-01 → 2026-11-27 is 304 (Jan to Oct) + 26 = 330 days; 20,784 days * 86,400 s
#: = 1,795,737,600 s; plus 08:48:09 = 31,689 s gives 1,795,769,289 s.
EPOCH_MS = 1_795_769_289_123
REQUEST_TIME = "27/Nov/2026:08:48:09 +0000"

#: AWS's ids: 11 bytes in URL-safe base64, so 15 alphabet characters and one '='.
AWS_ID = re.compile(r"[A-Za-z0-9_-]{15}=")

HANDSHAKE = [
    ("Host", DOMAIN),
    ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"),
    ("Sec-WebSocket-Key", "+W5xw47OHh3OTFsWKjGu9Q=="),
    ("Sec-WebSocket-Version", "13"),
    ("X-Forwarded-For", "166.90.225.1"),
    ("X-Forwarded-Port", "443"),
    ("X-Forwarded-Proto", "https"),
]


def _common(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "connection_id": "Mg_ugfpqPHcCIVA=",
        "request_id": "BFHPhFe3IAMF95g=",
        "connected_at": EPOCH_MS,
        "domain_name": DOMAIN,
        "stage": "prod",
        "api_id": "fjnq7njcv2",
        "source_ip": "166.90.225.1",
    }
    values.update(overrides)
    return values


def connect_event(**overrides: Any) -> dict[str, Any]:
    return events.build_connect_event(**_common(**{"headers": HANDSHAKE, **overrides}))


def disconnect_event(**overrides: Any) -> dict[str, Any]:
    return events.build_disconnect_event(
        request_time_epoch=EPOCH_MS + 60_000,
        status_code=1005,
        reason="Client-side close frame status not set",
        **_common(**overrides),
    )


def message_event(**overrides: Any) -> dict[str, Any]:
    values = {"route_key": "sendmessage", "body": '{"action": "sendmessage", "message": "hi"}'}
    values.update(overrides)
    return events.build_message_event(
        message_id="BFaVtfGSIAMCKug=",
        request_time_epoch=EPOCH_MS + 5_000,
        **_common(**values),
    )


AUTHORIZER = {"principalId": "alice", "integrationLatency": 12, "tenant": "acme"}

#: every event the builders make, with the Powertools model that must accept it
BUILT: dict[str, tuple[type[BaseModel], dict[str, Any]]] = {
    "connect": (APIGatewayWebSocketConnectEventModel, connect_event()),
    "connect-with-query": (
        APIGatewayWebSocketConnectEventModel,
        connect_event(query=[("room", "lobby"), ("name", "alice")]),
    ),
    "connect-with-authorizer": (
        APIGatewayWebSocketConnectEventModel,
        connect_event(query={"token": "t0k3n"}, authorizer=AUTHORIZER, user_agent="wscat/6.1.0"),
    ),
    "disconnect": (APIGatewayWebSocketDisconnectEventModel, disconnect_event()),
    "disconnect-with-authorizer": (
        APIGatewayWebSocketDisconnectEventModel,
        disconnect_event(authorizer=AUTHORIZER),
    ),
    "message": (APIGatewayWebSocketMessageEventModel, message_event()),
    "message-default-route": (
        APIGatewayWebSocketMessageEventModel,
        message_event(route_key="$default", body="not json"),
    ),
    "message-with-authorizer": (
        APIGatewayWebSocketMessageEventModel,
        message_event(authorizer=AUTHORIZER),
    ),
}


# --- the Powertools oracle -------------------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(BUILT))
def test_built_event_validates_against_powertools_model(kind: str) -> None:
    """Every event the builders make is accepted by Powertools' model for its kind."""
    model, event = BUILT[kind]
    parsed = model.model_validate(event)
    assert parsed.request_context.connection_id == "Mg_ugfpqPHcCIVA="  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "model"),
    [
        (CONNECT, APIGatewayWebSocketConnectEventModel),
        (DISCONNECT, APIGatewayWebSocketDisconnectEventModel),
        (MESSAGE, APIGatewayWebSocketMessageEventModel),
    ],
)
def test_oracle_accepts_the_real_captures(name: str, model: type[BaseModel]) -> None:
    """The oracle itself agrees with AWS: each real capture validates against its model."""
    model.model_validate(load_event(name))


def test_oracle_rejects_a_connect_event_built_as_a_message() -> None:
    """The oracle is strict enough to matter: a message event is not a valid connect event."""
    with pytest.raises(ValidationError):
        APIGatewayWebSocketConnectEventModel.model_validate(message_event())


def test_built_events_are_json_ready() -> None:
    """The builders return plain JSON values: a JSON round trip changes nothing."""
    for _, event in BUILT.values():
        assert json.loads(json.dumps(event)) == event


# --- the same shape as the real captures -----------------------------------------------------


@pytest.mark.parametrize(
    ("capture", "built"),
    [
        (CONNECT, connect_event()),
        (DISCONNECT, disconnect_event()),
        (MESSAGE, message_event(route_key="chat")),
    ],
)
def test_built_event_has_the_capture_key_sets(capture: str, built: dict[str, Any]) -> None:
    """Top-level, requestContext and identity keys are exactly those of AWS's capture."""
    real = load_event(capture)
    assert set(built) == set(real)
    assert set(built["requestContext"]) == set(real["requestContext"])
    assert set(built["requestContext"]["identity"]) == set(real["requestContext"]["identity"])
    for key, value in real["requestContext"].items():
        assert type(built["requestContext"][key]) is type(value), key


def test_connect_without_query_has_no_query_keys() -> None:
    """Like AWS, a connect URL with no query string gives no query keys at all."""
    event = connect_event()
    assert "queryStringParameters" not in event
    assert "multiValueQueryStringParameters" not in event
    assert "queryStringParameters" not in load_event(CONNECT)
    assert "body" not in event


def test_connect_with_query_adds_exactly_the_two_query_maps() -> None:
    """A query string adds the single- and multi-value maps; a repeated name keeps both."""
    event = connect_event(query=[("room", "a"), ("name", "bob"), ("room", "b")])
    assert set(event) - set(load_event(CONNECT)) == {
        "queryStringParameters",
        "multiValueQueryStringParameters",
    }
    assert event["queryStringParameters"] == {"room": "b", "name": "bob"}
    assert event["multiValueQueryStringParameters"] == {"room": ["a", "b"], "name": ["bob"]}


def test_connect_headers_fold_like_aws() -> None:
    """Headers keep their order and case; multiValueHeaders holds every value of a name."""
    event = connect_event(
        headers=[*HANDSHAKE, ("Sec-WebSocket-Protocol", "chat"), ("X-Forwarded-For", "10.0.0.1")]
    )
    assert list(event["headers"])[: len(HANDSHAKE)] == [name for name, _ in HANDSHAKE]
    assert event["headers"]["X-Forwarded-For"] == "10.0.0.1"
    assert event["multiValueHeaders"]["X-Forwarded-For"] == ["166.90.225.1", "10.0.0.1"]
    assert event["multiValueHeaders"]["Host"] == [DOMAIN]


def test_connect_request_context_values() -> None:
    """A connect's request time is its connection time; the request id is reused as AWS does."""
    context = connect_event()["requestContext"]
    real = load_event(CONNECT)["requestContext"]
    assert context["routeKey"] == real["routeKey"] == "$connect"
    assert context["eventType"] == real["eventType"] == "CONNECT"
    assert context["messageDirection"] == real["messageDirection"] == "IN"
    assert context["connectedAt"] == context["requestTimeEpoch"] == EPOCH_MS
    assert context["requestTime"] == REQUEST_TIME
    assert context["extendedRequestId"] == context["requestId"]
    assert real["extendedRequestId"] == real["requestId"]  # the capture shows AWS does this


def test_authorizer_context_lands_in_request_context() -> None:
    """An authorizer's context appears as requestContext.authorizer, and only when given."""
    assert connect_event(authorizer=AUTHORIZER)["requestContext"]["authorizer"] == AUTHORIZER
    assert message_event(authorizer=AUTHORIZER)["requestContext"]["authorizer"] == AUTHORIZER
    assert "authorizer" not in connect_event()["requestContext"]


def test_user_agent_is_optional_in_identity() -> None:
    """identity has userAgent only when the client sent one, as in the captures."""
    assert connect_event()["requestContext"]["identity"] == {"sourceIp": "166.90.225.1"}
    with_agent = connect_event(user_agent="wscat/6.1.0")["requestContext"]["identity"]
    assert with_agent == {"sourceIp": "166.90.225.1", "userAgent": "wscat/6.1.0"}


def test_disconnect_has_the_fixed_headers_and_close_details() -> None:
    """A disconnect carries AWS's four fixed headers, the close code and its reason."""
    event = disconnect_event()
    real = load_event(DISCONNECT)
    assert list(event["headers"]) == list(real["headers"])
    assert event["headers"] == {
        "Host": DOMAIN,
        "x-api-key": "",
        "X-Forwarded-For": "",
        "x-restapi": "",
    }
    assert event["multiValueHeaders"] == {k: [v] for k, v in event["headers"].items()}
    context = event["requestContext"]
    assert context["disconnectStatusCode"] == real["requestContext"]["disconnectStatusCode"] == 1005
    assert context["disconnectReason"] == real["requestContext"]["disconnectReason"]
    assert context["connectedAt"] == EPOCH_MS
    assert context["requestTimeEpoch"] == EPOCH_MS + 60_000
    assert "body" not in event


def test_message_event_carries_the_body_verbatim() -> None:
    """A message event has no headers, a messageId, and the frame's text untouched."""
    text = '{"action":"sendmessage",  "message":"héllo \\u00e9"}'
    event = message_event(body=text)
    assert "headers" not in event
    assert event["body"] == text
    assert event["requestContext"]["messageId"] == "BFaVtfGSIAMCKug="
    assert event["requestContext"]["eventType"] == "MESSAGE"
    assert event["isBase64Encoded"] is False


# --- ids and times -------------------------------------------------------------------------


def test_new_aws_id_looks_like_aws_ids() -> None:
    """Generated ids are 16 URL-safe base64 characters ending in '=', like the captures' ids."""
    ids = [events.new_aws_id() for _ in range(500)]
    assert all(AWS_ID.fullmatch(i) for i in ids), [i for i in ids if not AWS_ID.fullmatch(i)]
    assert len(set(ids)) == len(ids)
    assert all(len(base64.urlsafe_b64decode(i)) == 11 for i in ids)
    # The pattern is AWS's, not just ours: every id in the real captures matches it.
    for name in (CONNECT, DISCONNECT, MESSAGE):
        context = load_event(name)["requestContext"]
        for key in ("connectionId", "requestId", "extendedRequestId", "messageId"):
            if key in context:
                assert AWS_ID.fullmatch(context[key]), (name, key, context[key])


def test_new_aws_id_uses_url_safe_alphabet() -> None:
    """Ids never contain '+' or '/', which would break an @connections URL path."""
    rng = random.Random(7)
    ids = "".join(events.new_aws_id(rng) for _ in range(2000))
    assert "+" not in ids and "/" not in ids
    assert "-" in ids and "_" in ids  # the URL-safe replacements do occur


def test_new_aws_id_is_repeatable_with_a_seeded_rng() -> None:
    """A seeded random.Random gives the same sequence every time (for notebooks)."""
    first = [events.new_aws_id(random.Random(42)) for _ in range(3)]
    again = [events.new_aws_id(random.Random(42)) for _ in range(3)]
    assert first == again
    rng = random.Random(42)
    assert events.new_aws_id(rng) != events.new_aws_id(rng)


def test_format_request_time_matches_a_hand_computed_value() -> None:
    """27/Nov/2026:08:48:09 +0000 is the log format of the hand-computed epoch above."""
    assert events.format_request_time(EPOCH_MS) == REQUEST_TIME


def test_format_request_time_never_rounds_up() -> None:
    """Milliseconds are dropped, not rounded: .999 s is still the same second."""
    assert events.format_request_time(1_795_769_289_999) == REQUEST_TIME
    assert events.format_request_time(1_795_769_289_000) == REQUEST_TIME


def test_format_request_time_pads_the_day() -> None:
    """Days below 10 are zero-padded and months are English abbreviations."""
    # 2027-01-05 00:00:00 UTC: 2026-11-27 + 39 days, minus 08:48:09.
    epoch_s = 1_795_769_289 + 39 * 86_400 - 31_689
    assert events.format_request_time(epoch_s * 1000) == "05/Jan/2027:00:00:00 +0000"


@pytest.mark.parametrize("name", [CONNECT, DISCONNECT, MESSAGE])
def test_format_request_time_agrees_with_aws(name: str) -> None:
    """Each capture's requestTime is what we format from its requestTimeEpoch."""
    context = load_event(name)["requestContext"]
    assert events.format_request_time(context["requestTimeEpoch"]) == context["requestTime"]


# --- readers, on AWS's own events ----------------------------------------------------------


def test_readers_on_the_connect_capture() -> None:
    """route_key, connection_id, domain_name, stage and the empty query of a real connect."""
    event = load_event(CONNECT)
    assert events.route_key(event) == "$connect"
    assert events.event_type(event) == "CONNECT"
    assert events.connection_id(event) == "BFHPhfCWIAMCKlQ="
    assert events.domain_name(event) == "asasasas.execute-api.us-east-1.amazonaws.com"
    assert events.stage(event) == "prod"
    assert events.query_parameters(event) == {}
    assert events.body(event) is None


def test_readers_on_the_disconnect_capture() -> None:
    """The readers on a real disconnect: no body, no query."""
    event = load_event(DISCONNECT)
    assert events.route_key(event) == "$disconnect"
    assert events.event_type(event) == "DISCONNECT"
    assert events.connection_id(event) == "BFaT_fALIAMCKug="
    assert events.stage(event) == "prod"
    assert events.body(event) is None
    assert events.query_parameters(event) == {}


def test_readers_on_the_message_capture() -> None:
    """The readers on a real message: a custom route key and the frame's text as body."""
    event = load_event(MESSAGE)
    assert events.route_key(event) == "chat"
    assert events.event_type(event) == "MESSAGE"
    assert events.connection_id(event) == "BFaT_fALIAMCKug="
    assert events.domain_name(event) == "asasasas.execute-api.us-east-1.amazonaws.com"
    assert events.stage(event) == "prod"
    assert events.body(event) == '{"action": "chat", "message": "Hello from client"}'


def test_query_parameters_reader() -> None:
    """Query parameters come back as a dict; a null map (as AWS may send) reads as empty."""
    event = connect_event(query=[("room", "a"), ("room", "b"), ("name", "x")])
    assert events.query_parameters(event) == {"room": "b", "name": "x"}
    assert events.query_parameters({**load_event(CONNECT), "queryStringParameters": None}) == {}


def test_body_reader_decodes_base64_bodies() -> None:
    """A base64-encoded body is decoded as UTF-8, and invalid bytes are replaced."""
    event = message_event()
    encoded = base64.b64encode("héllo".encode()).decode()
    assert events.body({**event, "body": encoded, "isBase64Encoded": True}) == "héllo"
    bad = base64.b64encode(b"ok \xff").decode()
    assert events.body({**event, "body": bad, "isBase64Encoded": True}) == "ok \ufffd"


def test_body_reader_keeps_text_that_claims_base64_but_is_not() -> None:
    """A body flagged base64 that does not decode is returned as sent, not raised."""
    event = message_event()
    assert events.body({**event, "body": "not base64!", "isBase64Encoded": True}) == "not base64!"


def test_readers_reject_an_event_without_request_context() -> None:
    """Reading a non-WebSocket event raises ValueError saying what is missing."""
    with pytest.raises(ValueError, match="no requestContext"):
        events.route_key({"body": "{}"})
    with pytest.raises(ValueError, match=r"requestContext\.connectionId is missing"):
        events.connection_id({"requestContext": {"routeKey": "$default"}})
    with pytest.raises(ValueError, match="no requestContext"):
        events.stage({"requestContext": "prod"})


def test_readers_round_trip_the_builders() -> None:
    """What a builder puts in, the readers read back out."""
    event = message_event(route_key="joinroom", body='{"action":"joinroom","room":"b"}')
    assert events.route_key(event) == "joinroom"
    assert events.connection_id(event) == "Mg_ugfpqPHcCIVA="
    assert events.domain_name(event) == DOMAIN
    assert events.stage(event) == "prod"
    assert events.body(event) == '{"action":"joinroom","room":"b"}'
