"""The handshake: ``$connect`` and its authorizer decide before the WebSocket upgrade."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

from wsrelay.local import ApiDefinition

from .support import WAIT, Harness, custom_api, running_gateway, wait_for

pytestmark = pytest.mark.integration

TOKEN = "route.request.querystring.token"


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """The workbook's chat API, every event recorded."""
    with running_gateway(tmp_path_factory.mktemp("chat")) as harness:
        yield harness


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """An API whose ``$connect`` is guarded by a REQUEST authorizer on ``?token=``."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        return custom_api(
            record_file,
            {
                "$connect": "connect_choosing_subprotocol",
                "$disconnect": "record_only",
                "$default": "record_only",
                "sendmessage": "record_only",
            },
            authorizer=("authorizer", (TOKEN,)),
        )

    with running_gateway(tmp_path_factory.mktemp("guarded"), api) as harness:
        yield harness


@pytest.fixture(scope="module", params=[True, False], ids=["fast_path", "http"])
def early_poster(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Harness]:
    """An API whose ``$connect`` posts to the connection being made (both @connections paths)."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        return custom_api(
            record_file, {"$connect": "connect_posts_to_self", "$default": ("echo", True)}
        )

    with running_gateway(tmp_path_factory.mktemp("early"), api, fast_path=request.param) as harness:
        yield harness


@pytest.mark.parametrize(
    ("query", "parameters"),
    [
        ("room=no%20spaces", {"room": "no spaces"}),
        ("room=" + "r" * 65, {"room": "r" * 65}),
        ("name=a%2Fb", {"name": "a/b"}),
    ],
    ids=["space", "too-long", "slash"],
)
def test_connect_refusal_is_the_handshake_status(
    chat: Harness, query: str, parameters: dict[str, str]
) -> None:
    """A ``$connect`` that returns 400 refuses the upgrade with HTTP 400: no connection exists."""
    before = chat.gw.connection_ids()
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        chat.connect(query)
    assert caught.value.status_code == 400
    assert b"connection refused" in (caught.value.resp_body or b"")
    assert chat.gw.connection_ids() == before
    # $connect did run (and refused): the event was recorded, no row was stored.
    refused = [e for e in chat.events("CONNECT") if e.get("queryStringParameters") == parameters]
    assert refused, "the $connect event of the refused handshake was not recorded"
    assert chat.gw.store().get(refused[-1]["requestContext"]["connectionId"]) is None


def test_accepted_connect_stores_the_connection(chat: Harness) -> None:
    """A valid ``?room=&name=`` completes the handshake and the row exists once the upgrade is done."""
    ws, connection_id = chat.chat("handshake-ok", room="hs")
    try:
        row = chat.gw.store().get(connection_id)
        assert row is not None and (row.room, row.user_name) == ("hs", "handshake-ok")
        # $disconnect is best effort, so the row carries a TTL: two hours after connecting.
        assert row.expires_at == row.connected_at // 1000 + 7200
        assert connection_id in chat.gw.connection_ids()
    finally:
        ws.close()


def test_chat_returns_the_first_offered_subprotocol(chat: Harness) -> None:
    """The chat's ``$connect`` answers ``Sec-WebSocket-Protocol`` with the first one offered."""
    ws = chat.connect("name=proto", subprotocols=["wsrelay.v1", "other.v9"])
    try:
        assert ws.getsubprotocol() == "wsrelay.v1"
        assert ws.getheaders()["sec-websocket-protocol"] == "wsrelay.v1"
    finally:
        ws.close()


def test_subprotocol_chosen_by_connect_goes_back(guarded: Harness) -> None:
    """The ``Sec-WebSocket-Protocol`` a ``$connect`` returns is the one the handshake answers."""
    ws = guarded.connect("token=allow-sub", subprotocols=["first.v1", "second.v2"])
    try:
        assert ws.getsubprotocol() == "second.v2"
    finally:
        ws.close()


def test_connect_response_headers_go_back(guarded: Harness) -> None:
    """Other headers a ``$connect`` returns are in the handshake's response too."""
    ws = guarded.connect("token=allow-headers")
    try:
        assert ws.getheaders()["x-reply"] == "from $connect"
    finally:
        ws.close()


def refused(harness: Harness, query: str) -> tuple[int, dict[str, object]]:
    """The status and JSON body with which the handshake for ``?query`` is refused."""
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        harness.connect(query)
    return caught.value.status_code, json.loads(caught.value.resp_body or b"{}")


@pytest.mark.parametrize(
    "query", ["fail=1", "garbage=1", "text-status=1"], ids=["raises", "non-object", "text-status"]
)
def test_failed_connect_is_502(guarded: Harness, query: str) -> None:
    """A ``$connect`` that raises or returns malformed output refuses the handshake with 502.

    serverless/serverless-websockets-plugin#13 and mavi888/websockets-chat#1 show wscat's
    "Unexpected server response: 502" for a failing ``$connect``.
    """
    status, body = refused(guarded, f"token=allow-x&{query}")
    assert (status, body) == (502, {"message": "Internal server error"})


def test_connect_returning_500_is_500(guarded: Harness) -> None:
    """A handler that *returns* 500 gets 500 (aws-samples/simple-websockets-chat-app#49)."""
    status, body = refused(guarded, "token=allow-x&status=500")
    assert (status, body) == (500, {"refused": "by $connect"})


def test_connect_past_the_integration_timeout_is_504(tmp_path: Path) -> None:
    """API Gateway stops waiting for ``$connect`` and answers 504 (knowledge-center/api-gateway-504-errors)."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        return custom_api(record_file, {"$connect": "connect_choosing_subprotocol"})

    with running_gateway(tmp_path, api, integration_timeout=0.5) as harness:
        status, body = refused(harness, "sleep=3")
        assert (status, body) == (504, {"message": "Endpoint request timed out"})
        assert harness.gw.connection_ids() == []


def test_websockets_client_sees_the_subprotocol(guarded: Harness) -> None:
    """The ``websockets`` client negotiates the subprotocol ``$connect`` chose as well."""
    from websockets.sync.client import connect

    with connect(
        guarded.gw.url + "?token=allow-ws",
        subprotocols=["a.v1", "b.v2"],  # type: ignore[list-item]
        open_timeout=WAIT,
    ) as ws:
        assert ws.subprotocol == "b.v2"


def test_authorizer_missing_token_is_401(guarded: Harness) -> None:
    """Without the identity source (``?token=``) the handshake gets 401 and the authorizer is not called."""
    # Count CONNECT events only: a $disconnect from an earlier test may still land.
    before = len(guarded.events("CONNECT"))
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        guarded.connect("other=1")
    assert caught.value.status_code == 401
    assert len(guarded.events("CONNECT")) == before, "$connect ran although the authorizer refused"


def test_authorizer_deny_is_403(guarded: Harness) -> None:
    """An authorizer that returns a Deny policy refuses the handshake with 403; ``$connect`` never runs."""
    with pytest.raises(websocket.WebSocketBadStatusException) as caught:
        guarded.connect("token=let-me-in")
    assert caught.value.status_code == 403
    assert not [
        e
        for e in guarded.events("CONNECT")
        if (e.get("queryStringParameters") or {}).get("token") == "let-me-in"
    ]


@pytest.mark.parametrize(
    ("token", "status"),
    [("unauthorized", 401), ("crash", 500), ("anonymous", 500), ("nested", 500)],
    ids=["unauthorized", "error", "no-principal", "object-in-context"],
)
def test_authorizer_errors(guarded: Harness, token: str, status: int) -> None:
    """``raise Exception("Unauthorized")`` is 401; any other error or malformed output is 500.

    api-gateway-lambda-authorizer-output: "Unauthorized" is the documented 401; the output
    must have ``principalId`` and ``policyDocument``; context values are strings, numbers
    or booleans, never objects or arrays.
    """
    before = len(guarded.events("CONNECT"))
    assert refused(guarded, f"token={token}")[0] == status
    assert len(guarded.events("CONNECT")) == before, "$connect ran although the authorizer refused"


@pytest.mark.parametrize(
    ("token", "status"),
    [
        ("wildcard-wes", None),
        ("deny-prod-dee", None),
        ("deny-here-dan", 403),
        ("other-account", 403),
        ("s3-only", 403),
    ],
    ids=["wildcard-mid-arn", "deny-elsewhere", "deny-here", "other-account", "other-action"],
)
def test_authorizer_policy_is_evaluated_like_iam(
    guarded: Harness, token: str, status: int | None
) -> None:
    """Wildcards anywhere in the ARN, a Deny only where it matches, the account id and the action."""
    if status is None:
        ws = guarded.connect(f"token={token}")
        ws.close()
    else:
        assert refused(guarded, f"token={token}")[0] == status


def test_authorizer_context_reaches_later_events(guarded: Harness) -> None:
    """An Allow's context and principalId appear as ``requestContext.authorizer`` on every later event."""
    ws = guarded.connect("token=allow-alice")
    connect = wait_for(
        lambda: [
            e
            for e in guarded.events("CONNECT")
            if e["queryStringParameters"].get("token") == "allow-alice"
        ],
        "the CONNECT event of alice",
    )[0]
    connection_id = connect["requestContext"]["connectionId"]
    ws.send('{"action": "sendmessage", "message": "hi"}')
    message = guarded.wait_event("MESSAGE", connection_id)
    ws.close(status=1000)
    disconnect = guarded.wait_event("DISCONNECT", connection_id)
    for event in (connect, message, disconnect):
        authorizer = event["requestContext"]["authorizer"]
        assert authorizer["principalId"] == "alice"
        assert authorizer["user"] == "alice"
        assert authorizer["tier"] == "gold"
        assert authorizer["quota"] == 7


def test_post_inside_own_connect_is_gone(early_poster: Harness) -> None:
    """Inside its own ``$connect`` a connection does not exist yet: post and get answer 410 GoneException."""
    ws = early_poster.connect()
    try:
        ws.send("after the handshake")
        reply = ws.recv()  # the two-way echo: the connection works once $connect has returned
        assert "after the handshake" in reply
        entries = wait_for(
            lambda: (
                found
                if len(found := [r for r in early_poster.records() if "connectionId" in r]) == 2
                else None
            ),
            "the $connect handler's two records",
        )
    finally:
        ws.close()
    by_op = {next(k for k in r if k.startswith("connect_")): r for r in entries}
    for op in ("connect_post", "connect_get"):
        outcome = by_op[op][op]
        assert outcome["status"] == 410
        assert outcome["error"] == "GoneException"
        assert outcome["message"] == "The connection with the provided id no longer exists."
        # fast_path=False sends the handler's call over HTTP; the fast path does not.
        assert by_op[op]["http"] is (not early_poster.fast_path)
