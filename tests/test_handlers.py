"""``wsrelay.handlers``: the Lambda entry point, on AWS's own events and on a whole chat.

Everything goes through ``lambda_handler(event, context)`` configured the way Lambda is: by
environment variables. DynamoDB is the session's moto server (``AWS_ENDPOINT_URL_DYNAMODB``);
the ``@connections`` API is ``FakeConnectionsAPI`` on 127.0.0.1
(``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI``), which answers 410 like AWS for ids that are
not connected.
"""

from __future__ import annotations

import ast
import json
import logging
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import load_event
from fake_connections import FakeConnectionsAPI

import wsrelay
from wsrelay import events, handlers
from wsrelay.exceptions import ConfigurationError
from wsrelay.store import ConnectionStore

pytestmark = pytest.mark.integration

STAGE = "prod"  # the captures' stage, so they reach the fake endpoint unchanged
DOMAIN = "abc123defg.execute-api.us-east-1.amazonaws.com"
CAPTURE_SENDER = "BFaT_fALIAMCKug="  # the connection of the message and disconnect captures


@dataclass
class Lambda:
    """The handler's world: its table (to inspect) and the fake @connections API."""

    store: ConnectionStore
    api: FakeConnectionsAPI

    # --- what API Gateway would do --------------------------------------------------------

    def connect(
        self,
        connection_id: str,
        query: Sequence[tuple[str, str]] = (),
        headers: Sequence[tuple[str, str]] = (),
        *,
        age_seconds: float = 0.0,
    ) -> dict[str, Any]:
        """Send a $connect event; a 200 completes the handshake, so the id becomes live.

        ``age_seconds`` back-dates the connection (a row younger than the broadcaster's
        grace survives a 410).
        """
        event = events.build_connect_event(
            connection_id=connection_id,
            request_id=events.new_aws_id(),
            connected_at=int((time.time() - age_seconds) * 1000),
            domain_name=DOMAIN,
            stage=STAGE,
            api_id="abc123defg",
            headers=[
                ("Host", DOMAIN),
                ("Sec-WebSocket-Key", "+W5xw47OHh3OTFsWKjGu9Q=="),
                ("Sec-WebSocket-Version", "13"),
                *headers,
            ],
            query=query,
        )
        response = handlers.lambda_handler(event, None)
        if response["statusCode"] == 200:
            self.api.live.add(connection_id)
        return response

    def message(self, connection_id: str, body: str, route: str | None = None) -> dict[str, Any]:
        """Send a MESSAGE event, routed by ``$request.body.action`` unless ``route`` is given."""
        return handlers.lambda_handler(self.message_event(connection_id, body, route), None)

    def message_event(
        self, connection_id: str, body: str, route: str | None = None
    ) -> dict[str, Any]:
        now = int(time.time() * 1000)
        return events.build_message_event(
            route_key=route if route is not None else route_for(body),
            body=body,
            connection_id=connection_id,
            request_id=events.new_aws_id(),
            message_id=events.new_aws_id(),
            connected_at=now - 1000,
            request_time_epoch=now,
            domain_name=DOMAIN,
            stage=STAGE,
            api_id="abc123defg",
        )

    def disconnect(self, connection_id: str) -> dict[str, Any]:
        """Send a $disconnect event (the connection is already closed, so no longer live)."""
        self.api.live.discard(connection_id)
        now = int(time.time() * 1000)
        event = events.build_disconnect_event(
            connection_id=connection_id,
            request_id=events.new_aws_id(),
            connected_at=now - 5000,
            request_time_epoch=now,
            domain_name=DOMAIN,
            stage=STAGE,
            api_id="abc123defg",
            status_code=1001,
            reason="Going away",
        )
        return handlers.lambda_handler(event, None)

    def frames(self, connection_id: str) -> list[dict[str, Any]]:
        """The frames delivered to one connection so far."""
        return self.api.frames_to(connection_id)


def route_for(body: str) -> str:
    """Choose the route as the API's selection expression ``$request.body.action`` would."""
    try:
        data = json.loads(body)
    except ValueError:
        return "$default"
    action = data.get("action") if isinstance(data, dict) else None
    return action if action in {"sendmessage", "joinroom"} else "$default"


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    """Close the handler's cached boto3 clients after each test, so none outlives its server."""
    yield
    for client in handlers._clients.values():
        client.close()
    handlers._clients.clear()


@pytest.fixture
def world(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lambda]:
    """A fresh table and a fake @connections API, wired in through Lambda's environment."""
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint, region_name="us-east-1")
    store = ConnectionStore(client, f"connections-{uuid.uuid4().hex[:12]}")
    store.create_table()
    with FakeConnectionsAPI(stage=STAGE) as api:
        monkeypatch.setenv("CONNECTIONS_TABLE", store.table_name)
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", moto_endpoint)
        monkeypatch.setenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI", api.url)
        yield Lambda(store, api)
    client.delete_table(TableName=store.table_name)
    client.close()


# --- AWS's own events ----------------------------------------------------------------------


def test_connect_capture(world: Lambda) -> None:
    """The real $connect (no query string) stores the connection in lobby with a generated name."""
    response = handlers.lambda_handler(load_event("apiGatewayWebSocketApiConnect"), None)
    assert response["statusCode"] == 200
    assert "headers" not in response  # the capture offered no subprotocol
    row = world.store.get("BFHPhfCWIAMCKlQ=")
    assert row is not None
    assert row.room == "lobby"
    assert re.fullmatch(r"guest-\d{4}", row.user_name)
    assert row.connected_at == 1_731_324_924_553  # the event's connectedAt, not our clock
    assert row.expires_at == 1_731_324_924 + 7200
    assert response["body"] == f"connected to lobby as {row.user_name}"
    assert world.api.posts == []  # nothing may be posted to a connection still connecting


def test_disconnect_capture(world: Lambda) -> None:
    """The real $disconnect removes its connection's row, and only that row."""
    world.store.add(CAPTURE_SENDER, "lobby", "alice")
    world.store.add("Mg_ugfpqPHcCIVA=", "lobby", "bob")
    response = handlers.lambda_handler(load_event("apiGatewayWebSocketApiDisconnect"), None)
    assert response["statusCode"] == 200
    assert world.store.get(CAPTURE_SENDER) is None
    assert world.store.get("Mg_ugfpqPHcCIVA=") is not None


def test_disconnect_capture_without_a_row(world: Lambda) -> None:
    """A disconnect whose row already expired or was cleaned up is still a 200."""
    response = handlers.lambda_handler(load_event("apiGatewayWebSocketApiDisconnect"), None)
    assert response["statusCode"] == 200


def test_message_capture_routes_chat_as_default(world: Lambda) -> None:
    """The real message (route and action "chat", not ours) is answered with an error frame."""
    world.store.add(CAPTURE_SENDER, "lobby", "alice")
    world.api.live.add(CAPTURE_SENDER)
    response = handlers.lambda_handler(load_event("apiGatewayWebSocketApiMessage"), None)
    assert response["statusCode"] == 400
    [frame] = world.frames(CAPTURE_SENDER)
    assert frame["type"] == "error"
    assert 'unknown action "chat"' in frame["error"]
    assert '{"action": "sendmessage", "message": "hello"}' in frame["error"]
    assert response["body"] == frame["error"]
    assert [p.connection_id for p in world.api.posts] == [CAPTURE_SENDER]


# --- the whole chat --------------------------------------------------------------------------


def test_full_flow(world: Lambda) -> None:
    """Connect, chat within a room, change rooms and disconnect, through lambda_handler only."""
    a1, a2, b1 = "AAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAB=", "BBBBBBBBBBBBBBB="
    for cid, query in [
        (a1, [("room", "A"), ("name", "alice")]),
        (a2, [("room", "A"), ("name", "anna")]),
        (b1, [("room", "B"), ("name", "bob")]),
    ]:
        assert world.connect(cid, query)["statusCode"] == 200
    assert {(c.connection_id, c.room, c.user_name) for c in world.store.all_connections()} == {
        (a1, "A", "alice"),
        (a2, "A", "anna"),
        (b1, "B", "bob"),
    }

    before = int(time.time() * 1000)
    response = world.message(a1, json.dumps({"action": "sendmessage", "message": "héllo 👋"}))
    after = int(time.time() * 1000)
    assert response == {"statusCode": 200, "body": "delivered 2, gone 0, failed 0"}
    for cid in (a1, a2):  # the sender too
        [frame] = world.frames(cid)
        assert set(frame) == {"type", "room", "sender", "connectionId", "message", "sentAt"}
        assert frame["type"] == "message"
        assert frame["room"] == "A"
        assert frame["sender"] == "alice"
        assert frame["connectionId"] == a1
        assert frame["message"] == "héllo 👋"
        assert before <= frame["sentAt"] <= after
    assert world.frames(b1) == []

    response = world.message(a2, '{"action": "joinroom", "room": "B"}')
    assert response["statusCode"] == 200
    row = world.store.get(a2)
    assert row is not None and (row.room, row.user_name) == ("B", "anna")
    assert world.frames(a2)[-1] == {"type": "joined", "room": "B"}

    world.message(b1, '{"action": "sendmessage", "message": "welcome"}')
    assert world.frames(a2)[-1]["message"] == "welcome"
    assert world.frames(b1)[-1]["message"] == "welcome"
    assert len(world.frames(a1)) == 1  # still only its own message: A no longer has a2

    assert world.disconnect(a1)["statusCode"] == 200
    assert world.store.get(a1) is None
    assert {c.connection_id for c in world.store.all_connections()} == {a2, b1}


def test_broadcast_cleans_up_connections_that_vanished(world: Lambda) -> None:
    """A member that vanished without $disconnect gets a 410: its row goes, the others stay."""
    for cid in ("AAAAAAAAAAAAAAA=", "AAAAAAAAAAAAAAB=", "AAAAAAAAAAAAAAC="):
        world.connect(cid, [("room", "A")], age_seconds=60)
    world.api.live.discard("AAAAAAAAAAAAAAC=")  # lost: no $disconnect ever came
    response = world.message("AAAAAAAAAAAAAAA=", '{"action": "sendmessage", "message": "hi"}')
    assert response["body"] == "delivered 2, gone 1, failed 0"
    assert world.store.get("AAAAAAAAAAAAAAC=") is None
    assert world.store.get("AAAAAAAAAAAAAAB=") is not None


def test_broadcast_keeps_a_row_younger_than_the_grace(world: Lambda) -> None:
    """A 410 from a connection that connected a moment ago (its $connect may be running) keeps its row."""
    world.connect("AAAAAAAAAAAAAAA=", [("room", "A")], age_seconds=60)
    world.connect("AAAAAAAAAAAAAAN=", [("room", "A")])  # just now
    world.api.live.discard("AAAAAAAAAAAAAAN=")  # API Gateway answers 410 until $connect returns
    response = world.message("AAAAAAAAAAAAAAA=", '{"action": "sendmessage", "message": "hi"}')
    assert response["body"] == "delivered 1, gone 1, failed 0"
    assert world.store.get("AAAAAAAAAAAAAAN=") is not None


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [("chat.v2", "chat.v2"), ("chat.v2, json", "chat.v2"), (" json ,chat.v2", "json")],
)
def test_connect_echoes_a_subprotocol(world: Lambda, offered: str, chosen: str) -> None:
    """A client offering subprotocols gets the first one back, as API Gateway requires."""
    response = world.connect("AAAAAAAAAAAAAAA=", headers=[("Sec-WebSocket-Protocol", offered)])
    assert response["statusCode"] == 200
    assert response["headers"] == {"Sec-WebSocket-Protocol": chosen}


def test_connect_subprotocol_header_name_is_case_insensitive(world: Lambda) -> None:
    """HTTP header names are case-insensitive, so a lower-case one is echoed too."""
    response = world.connect("AAAAAAAAAAAAAAA=", headers=[("sec-websocket-protocol", "json")])
    assert response["headers"] == {"Sec-WebSocket-Protocol": "json"}


def test_connect_defaults(world: Lambda) -> None:
    """No room means lobby; no name means a generated guest name."""
    world.connect("AAAAAAAAAAAAAAA=", [("name", "alice")])
    world.connect("AAAAAAAAAAAAAAB=", [("room", "kitchen")])
    alice, guest = world.store.get("AAAAAAAAAAAAAAA="), world.store.get("AAAAAAAAAAAAAAB=")
    assert alice is not None and (alice.room, alice.user_name) == ("lobby", "alice")
    assert guest is not None and guest.room == "kitchen"
    assert re.fullmatch(r"guest-\d{4}", guest.user_name)


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ([("room", "r" * 65)], ["room", "65 characters long"]),
        ([("name", "n" * 65)], ["name", "65 characters long"]),
        ([("room", "my room")], ["room", "contains ' '"]),
        ([("room", "a/b")], ["room", "contains '/'"]),
        ([("name", "")], ["name", "is empty"]),
        ([("room", "")], ["room", "is empty"]),
        ([("name", "<script>")], ["name", "contains"]),
    ],
)
def test_connect_refuses_bad_parameters_with_400(
    world: Lambda, query: list[tuple[str, str]], words: list[str]
) -> None:
    """An invalid room or name gives 400 (the handshake is refused) and stores nothing."""
    response = world.connect("AAAAAAAAAAAAAAA=", query)
    assert response["statusCode"] == 400
    assert response["body"].startswith("connection refused: ")
    for word in words:
        assert word in response["body"]
    assert world.store.all_connections() == []
    assert world.api.posts == []  # no sender to tell: the connection never existed


SENDER = "SSSSSSSSSSSSSSS="
BYSTANDER = "TTTTTTTTTTTTTTT="

#: (route, body, words the error must contain); body None means the event has no body key
BAD_MESSAGES: list[tuple[str, Any, list[str]]] = [
    ("sendmessage", None, ["empty frame"]),
    ("sendmessage", "", ["empty frame"]),
    ("sendmessage", "hello", ["not JSON"]),
    ("sendmessage", '{"action": "sendmessage", "message": 5}', ['"message" must be text', "int"]),
    ("sendmessage", '{"action": "sendmessage"}', ['"message" must be text', "nothing"]),
    ("sendmessage", '{"action": "sendmessage", "message": "  "}', ['"message" is empty']),
    ("sendmessage", '{"action": "sendmessage", "message": "\\udc00"}', ["surrogate"]),
    ("sendmessage", "[" * 30_000, ["nested too deeply"]),
    (
        "sendmessage",
        json.dumps({"action": "sendmessage", "message": "x" * 131_072}),
        ["message too long", "131,072"],
    ),
    ("sendmessage", {"action": "sendmessage", "message": "hi"}, ["not JSON"]),  # not a string
    ("joinroom", '{"action": "joinroom"}', ['"room" is missing']),
    ("joinroom", '{"action": "joinroom", "room": 7}', ["room must be a string", "int"]),
    ("joinroom", json.dumps({"action": "joinroom", "room": "r" * 65}), ["65 characters long"]),
    ("joinroom", '{"action": "joinroom", "room": "b@d"}', ["contains '@'"]),
    ("$default", "not json at all", ["not JSON"]),
    ("$default", "[1, 2]", ["JSON object", "list"]),
    ("$default", '{"message": "hi"}', ['no "action"']),
    ("$default", '{"action": "shout", "message": "hi"}', ['unknown action "shout"']),
    ("$default", '{"action": "sendmessage", "message": "hi"}', ["no route for that action"]),
    ("$default", None, ["empty frame"]),
    ("a-route-we-do-not-have", '{"action": "a-route-we-do-not-have"}', ["unknown action"]),
]


@pytest.mark.parametrize(
    ("route", "body", "words"),
    BAD_MESSAGES,
    ids=[f"{r}-{str(b)[:30]}" for r, b, _ in BAD_MESSAGES],
)
def test_bad_message_gets_400_and_an_error_frame(
    world: Lambda, route: str, body: Any, words: list[str]
) -> None:
    """Bad frames on every message route: 400, one error frame to the sender, nothing else."""
    world.connect(SENDER, [("room", "A"), ("name", "alice")])
    world.connect(BYSTANDER, [("room", "A"), ("name", "bob")])
    event = world.message_event(SENDER, "placeholder", route)
    if body is None:
        del event["body"]
    else:
        event["body"] = body
    response = handlers.lambda_handler(event, None)
    assert response["statusCode"] == 400
    [frame] = world.frames(SENDER)
    assert frame["type"] == "error"
    for word in words:
        assert word in frame["error"], f"{word!r} not in {frame['error']!r}"
    assert response["body"] == frame["error"]
    assert world.frames(BYSTANDER) == []
    rooms = {c.connection_id: c.room for c in world.store.all_connections()}
    assert rooms == {SENDER: "A", BYSTANDER: "A"}


@pytest.mark.parametrize("rate_limit", ["", "20"], ids=["no-rate-limit", "rate-limit"])
@pytest.mark.parametrize(
    "body",
    ['{"action": "sendmessage", "message": "hi"}', '{"action": "joinroom", "room": "B"}'],
)
def test_message_from_an_unknown_connection(
    world: Lambda, body: str, rate_limit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sender with no row (expired, or cleaned up) is told to reconnect; no row is made,
    also when the rate limit's count (a conditional write) is what finds the row gone."""
    monkeypatch.setenv(handlers.RATE_LIMIT_VARIABLE, rate_limit)
    world.api.live.add(SENDER)  # connected at the gateway, but its row is gone
    response = world.message(SENDER, body)
    assert response["statusCode"] == 400
    [frame] = world.frames(SENDER)
    assert "not in the connections table" in frame["error"]
    assert "reconnect" in frame["error"]
    assert world.store.all_connections() == []


def test_error_to_a_sender_that_has_gone_is_not_an_error(world: Lambda) -> None:
    """If the sender vanished before its error frame, the handler still answers 400 calmly."""
    response = world.message(SENDER, "not json")  # SENDER is not live: the post gets a 410
    assert response["statusCode"] == 400
    assert [p.status for p in world.api.posts] == [410]


def test_error_frame_that_cannot_be_delivered_is_logged_not_raised(
    world: Lambda, caplog: pytest.LogCaptureFixture
) -> None:
    """A 500 on the error frame's post is logged; the handler still answers 400."""
    world.connect(SENDER, query=[("room", "r1"), ("name", "ada")])
    world.api.failures[SENDER] = 500
    with caplog.at_level(logging.WARNING, logger="wsrelay.handlers"):
        response = world.message(SENDER, "not json")
    assert response["statusCode"] == 400
    assert "could not post the error frame" in caplog.text


@pytest.mark.parametrize(
    ("event", "words"),
    [
        ({}, "no requestContext"),
        ({"body": '{"action": "sendmessage"}'}, "no requestContext"),
        ({"requestContext": None}, "no requestContext"),
        ({"requestContext": "prod"}, "no requestContext"),
        ({"requestContext": {}}, "routeKey is missing"),
        (
            {"requestContext": {"routeKey": "$connect", "connectionId": "x="}},
            "domainName is missing",
        ),
        (
            {"requestContext": {"routeKey": "$connect", "domainName": DOMAIN, "stage": "prod"}},
            "connectionId is missing",
        ),
        (
            {"requestContext": {"routeKey": 5, "domainName": DOMAIN, "stage": "prod"}},
            "routeKey is missing",
        ),
    ],
)
def test_event_without_a_usable_request_context(
    world: Lambda, event: dict[str, Any], words: str
) -> None:
    """A non-WebSocket event gets 400 saying what is missing, not an exception."""
    response = handlers.lambda_handler(event, None)
    assert response["statusCode"] == 400
    assert words in response["body"]
    assert "not an API Gateway WebSocket event" in response["body"]
    assert world.api.posts == []
    assert world.store.all_connections() == []


def test_missing_table_variable_is_a_configuration_error(
    world: Lambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without CONNECTIONS_TABLE the handler raises ConfigurationError naming the variable."""
    monkeypatch.delenv("CONNECTIONS_TABLE")
    with pytest.raises(ConfigurationError, match="CONNECTIONS_TABLE is not set"):
        handlers.lambda_handler(load_event("apiGatewayWebSocketApiConnect"), None)


# --- how the collaborators are built -------------------------------------------------------


def test_management_endpoint_comes_from_the_event_by_default(
    world: Lambda, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the SDK variable the management endpoint is https://{domainName}/{stage}."""
    monkeypatch.delenv("AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI")
    deps = handlers.dependencies_from_environment(load_event("apiGatewayWebSocketApiMessage"))
    management = deps.broadcaster.management
    assert management.meta.endpoint_url == (
        "https://asasasas.execute-api.us-east-1.amazonaws.com/prod"
    )
    assert deps.store.table_name == os.environ["CONNECTIONS_TABLE"]


def test_clients_have_a_connection_per_broadcast_worker(world: Lambda) -> None:
    """The clients' HTTP pools are as large as the broadcaster's worker pool."""
    deps = handlers.dependencies_from_environment(load_event("apiGatewayWebSocketApiMessage"))
    workers = deps.broadcaster.max_workers
    assert deps.broadcaster.management.meta.config.max_pool_connections >= workers
    assert deps.store.client.meta.config.max_pool_connections >= workers


def test_broadcast_through_the_handler_reuses_connections(
    world: Lambda, caplog: pytest.LogCaptureFixture
) -> None:
    """A large room is broadcast without urllib3 discarding connections ("pool is full")."""
    world.api.delay = 0.05  # keep every worker busy at once
    for n in range(40):
        world.store.add(f"member-{n:02d}=", "A", "m")
        world.api.live.add(f"member-{n:02d}=")
    caplog.set_level(logging.WARNING, logger="urllib3")
    response = world.message("member-00=", '{"action": "sendmessage", "message": "hi"}')
    assert response["body"] == "delivered 40, gone 0, failed 0"
    assert world.api.max_in_flight > 10  # more than botocore's default pool of 10
    assert not [r for r in caplog.records if "pool is full" in r.getMessage()]


# --- what ships to Lambda ------------------------------------------------------------------

#: boto3 and what it imports; Lambda's Python runtime provides exactly these.
BOTO3_CLOSURE = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
HANDLER_MODULES = {
    "wsrelay",
    "wsrelay.aws_facts",
    "wsrelay.authorizer",
    "wsrelay.broadcast",
    "wsrelay.events",
    "wsrelay.exceptions",
    "wsrelay.fanout",
    "wsrelay.handlers",
    "wsrelay.protocol",
    "wsrelay.store",
}


def test_handlers_import_only_stdlib_and_boto3(tmp_path: Path) -> None:
    """In an interpreter that sees only the stdlib, boto3's closure and wsrelay, the handlers import."""
    # A Lambda-like path: no site-packages (-S), then only boto3's packages, linked one by one.
    site = tmp_path / "site"
    site.mkdir()
    for name in BOTO3_CLOSURE:
        spec_origin = __import__(name).__file__
        assert spec_origin is not None
        source = Path(spec_origin)
        target = source.parent if source.name == "__init__.py" else source
        (site / target.name).symlink_to(target)
    package = Path(wsrelay.__file__).parent
    code = (
        "import json, sys\n"
        f"sys.path[:0] = [{str(site)!r}, {str(package.parent)!r}]\n"
        "before = set(sys.modules)\n"
        "import wsrelay.handlers\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    imported = set(json.loads(result.stdout))
    top_level = {name.split(".")[0] for name in imported}
    # multiprocessing (stdlib, via s3transfer) registers the main module as "__mp_main__".
    third_party = top_level - set(sys.stdlib_module_names) - {"__mp_main__"}
    assert third_party <= {*BOTO3_CLOSURE, "wsrelay"}, third_party
    assert {"boto3", "botocore"} <= third_party
    assert {name for name in imported if name.startswith("wsrelay")} == HANDLER_MODULES


def test_handler_modules_import_nothing_else_at_run_time() -> None:
    """The handler modules' own import statements name only stdlib, boto3, botocore and wsrelay."""
    package = Path(wsrelay.__file__).parent
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "wsrelay"}
    for module in sorted(HANDLER_MODULES):
        path = package / ("__init__.py" if module == "wsrelay" else f"{module.split('.')[1]}.py")
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []  # type-only imports never run
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] in allowed, f"{module} imports {name}"
