"""Routing: route selection on ``action``, gateway error frames, failing integrations, two-way routes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

from wsrelay.local import ApiDefinition

from .support import (
    CHAT_ROUTES,
    Harness,
    custom_api,
    gateway_error,
    recv_json,
    running_gateway,
)

pytestmark = pytest.mark.integration

#: Route key → handler of ``handlers_for_tests`` (two-way where a tuple says so).
ROUTES: dict[str, str | tuple[str, bool]] = {
    **{key: "recording_handler" for key in CHAT_ROUTES},
    "raise": "raise_error",
    "sleep": "sleep_past_timeout",
    "nondict": "return_non_dict",
    "unserializable": "return_unserializable",
    "exit": "exit_process",
    "echo": ("echo", True),
    "oneway": "echo",
    "crashy": ("misbehave_or_pid", True),
    "textstatus": ("return_text_status", True),
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """The chat's routes plus misbehaving ones; integrations time out after 1 s."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        return custom_api(record_file, ROUTES, table=table)

    with running_gateway(
        tmp_path_factory.mktemp("routing"), api, integration_timeout=1.0
    ) as harness:
        yield harness


@pytest.fixture(scope="module")
def no_default(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """An API selecting on ``$request.body.msg.kind``, two-way routes only, no ``$connect`` or ``$default``."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        definition = custom_api(record_file, {"echo": ("echo", True), "42": ("echo", True)})
        definition.route_selection_expression = "$request.body.msg.kind"
        return definition

    with running_gateway(tmp_path_factory.mktemp("no-default"), api) as harness:
        yield harness


def echo_works(ws: websocket.WebSocket, text: str) -> bool:
    """Whether the connection still routes frames: the two-way echo route answers ``text``."""
    ws.send(json.dumps({"action": "echo", "text": text}))
    reply = recv_json(ws)
    return reply["routeKey"] == "echo" and text in reply["echo"]


@pytest.mark.parametrize(
    ("frame", "route"),
    [
        ({"action": "sendmessage", "message": "routed"}, "sendmessage"),
        ({"action": "joinroom", "room": "elsewhere"}, "joinroom"),
        ({"action": "nosuchroute"}, "$default"),
        ({"message": "no action at all"}, "$default"),
        ({"action": {"nested": "object"}}, "$default"),
        ("this is not JSON", "$default"),
        ("[1, 2, 3]", "$default"),
    ],
    ids=["sendmessage", "joinroom", "unknown", "missing", "object", "not-json", "list"],
)
def test_route_selected_by_action(gateway: Harness, frame: object, route: str) -> None:
    """``$request.body.action`` picks the route; non-JSON, a missing or unknown action go to ``$default``."""
    ws, connection_id = gateway.chat(f"route-{uuid.uuid4().hex[:12]}")
    try:
        body = frame if isinstance(frame, str) else json.dumps(frame)
        ws.send(body)
        event = gateway.wait_event("MESSAGE", connection_id)
        assert event["requestContext"]["routeKey"] == route
        assert event["body"] == body
        reply = recv_json(ws)  # the chat answers every frame on these routes
        expected = {"sendmessage": "message", "joinroom": "joined", "$default": "error"}[route]
        assert reply["type"] == expected
    finally:
        ws.close()


def test_no_route_and_no_default_is_forbidden(no_default: Harness) -> None:
    """A frame no route matches, on an API without ``$default``, gets API Gateway's Forbidden frame."""
    ws = no_default.connect()
    try:
        ws.send(json.dumps({"action": "echo", "msg": {"kind": "sendmessage"}}))
        forbidden = recv_json(ws)
        assert forbidden["message"] == "Forbidden"
        connection_id = forbidden["connectionId"]
        assert gateway_error(forbidden, "Forbidden", connection_id)
        for frame in ("not JSON either", json.dumps({"action": "echo"}), json.dumps({"msg": 1})):
            ws.send(frame)
            again = recv_json(ws)
            assert gateway_error(again, "Forbidden", connection_id), frame
            assert again["requestId"] != forbidden["requestId"]
        ws.send(json.dumps({"msg": {"kind": "echo"}}))
        assert recv_json(ws)["routeKey"] == "echo"  # and the connection is still open
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("kind", "route"),
    [("echo", "echo"), (42, "42"), ("42", "42")],
    ids=["text", "number", "digits"],
)
def test_dotted_selection_expression_and_stringified_values(
    no_default: Harness, kind: object, route: str
) -> None:
    """A dotted route selection expression selects a nested key; a number selects the route of its text."""
    ws = no_default.connect()
    try:
        ws.send(json.dumps({"msg": {"kind": kind}}))
        assert recv_json(ws)["routeKey"] == route
    finally:
        ws.close()


@pytest.mark.parametrize("route", ["raise", "sleep", "nondict", "unserializable", "textstatus"])
def test_failed_integration_is_internal_server_error(gateway: Harness, route: str) -> None:
    """A handler that raises, times out or returns malformed output (a ``statusCode`` that is
    not an integer included) gives "Internal server error"; the connection stays open."""
    ws, connection_id = gateway.chat(f"failing-{route}")
    try:
        ws.send(json.dumps({"action": route}))
        assert gateway_error(recv_json(ws), "Internal server error", connection_id)
        assert echo_works(ws, f"after {route}")
        ws.send(json.dumps({"action": route}))  # and the failing route fails the same way again
        assert gateway_error(recv_json(ws), "Internal server error", connection_id)
        assert echo_works(ws, f"after {route}, twice")
    finally:
        ws.close()


@pytest.fixture(scope="module")
def patient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """The same API with API Gateway's own 29 s: an environment that died is replaced by a
    cold start, which on a busy machine can take longer than the 1 s of ``gateway``."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        return custom_api(record_file, ROUTES, table=table)

    with running_gateway(tmp_path_factory.mktemp("patient"), api) as harness:
        yield harness


def test_dead_worker_is_replaced(patient: Harness) -> None:
    """A handler whose process dies gives "Internal server error"; the very next invocation runs in a new worker."""
    ws, connection_id = patient.chat("crasher")
    try:
        pids = set()
        for attempt in range(5):
            # Sent back to back: the second must not be lost to the dying worker.
            ws.send(json.dumps({"action": "crashy", "do": "exit"}))
            ws.send(json.dumps({"action": "crashy"}))
            assert gateway_error(recv_json(ws), "Internal server error", connection_id), attempt
            reply = recv_json(ws)
            assert "pid" in reply, f"attempt {attempt}: the next invocation failed: {reply}"
            pids.add(reply["pid"])
        assert len(pids) == 5
        ws.send(json.dumps({"action": "exit"}))  # a handler that always dies
        assert gateway_error(recv_json(ws), "Internal server error", connection_id)
        assert echo_works(ws, "after a crash")
        # The chat's own function was never affected.
        ws.send(json.dumps({"action": "sendmessage", "message": "still chatting"}))
        assert recv_json(ws)["message"] == "still chatting"
    finally:
        ws.close()


def test_environment_is_replaced_after_a_timeout_or_a_crash(gateway: Harness) -> None:
    """An exception keeps the warm worker; a timeout or a dead process gets the function a new one."""
    ws, connection_id = gateway.chat("environments")

    def pid() -> int:
        # The caller's 1 s includes a new environment's cold start, as on AWS: on a busy
        # machine the first call after a replacement may time out while the environment
        # boots (it is kept warm all the same), so ask again.
        for _ in range(10):
            ws.send(json.dumps({"action": "crashy"}))
            reply = recv_json(ws)
            if "pid" in reply:
                return int(reply["pid"])
            assert gateway_error(reply, "Internal server error", connection_id), reply
        raise AssertionError("no environment answered within 10 calls")

    def fail(how: str) -> None:
        ws.send(json.dumps({"action": "crashy", "do": how}))
        assert gateway_error(recv_json(ws), "Internal server error", connection_id), how

    try:
        first = pid()
        fail("raise")
        assert pid() == first, "an exception must not replace the environment"
        fail("sleep")
        second = pid()
        assert second != first, "a timed-out environment must be replaced"
        fail("exit")
        third = pid()
        assert third not in (first, second), "a dead environment must be replaced"
    finally:
        ws.close()


def test_two_way_route_returns_the_body(gateway: Harness) -> None:
    """A two-way route sends the handler's ``body`` back to the client as a frame."""
    ws = gateway.connect("name=two-way")
    try:
        ws.send(json.dumps({"action": "echo", "text": "ping"}))
        reply = recv_json(ws)
        assert reply["routeKey"] == "echo"
        assert json.loads(reply["echo"]) == {"action": "echo", "text": "ping"}
    finally:
        ws.close()


def test_one_way_route_drops_the_body(gateway: Harness) -> None:
    """Without a route response the handler's ``body`` reaches no one."""
    ws = gateway.connect("name=one-way")
    try:
        ws.send(json.dumps({"action": "oneway", "text": "dropped"}))
        ws.send(json.dumps({"action": "echo", "text": "kept"}))
        # Frames are handled in order, so a reply to the first would arrive first.
        reply = recv_json(ws)
        assert reply["routeKey"] == "echo"
        assert "kept" in reply["echo"]
    finally:
        ws.close()


def test_failure_on_one_connection_leaves_others_alone(gateway: Harness) -> None:
    """While one connection's handler hangs until its timeout, another connection is served at once."""
    slow, slow_id = gateway.chat("slow-one")
    quick = gateway.connect("name=quick-one")
    try:
        slow.send(json.dumps({"action": "sleep"}))
        assert echo_works(quick, "not blocked")
        assert gateway_error(recv_json(slow), "Internal server error", slow_id)
    finally:
        slow.close()
        quick.close()


# --- route selection expressions in every documented form, and the gateway's own frames -----

#: (expression, the frame sent, the route key API Gateway's table says it selects).
EXPRESSIONS = [
    ("${request.body.action}", {"action": "join"}, "join"),  # the form AWS's page leads with
    ("$request.body.action", {"action": "join"}, "join"),
    (
        "${request.body.service}/${request.body.action}",
        {"service": "chat", "action": "join"},
        "chat/join",
    ),
    ("${request.body.action}-${request.body.nothing}", {"action": "join"}, "join-"),
    ("$request.body.data.kind", {"data": {"kind": "join"}}, "join"),
    ("$request.body.items", {"items": ["a", "b"]}, "[a, b]"),  # arrays read "[item1, item2]"
    ("\\$default", {"action": "join"}, "$default"),  # an escaped dollar: static "$default"
]


@pytest.fixture(scope="module", params=EXPRESSIONS, ids=lambda e: e[0])
def expression(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[tuple[Harness, dict[str, object], str]]:
    """A gateway whose API selects routes with one expression; two-way echo routes only."""
    text, frame, key = request.param

    def api(table: str, record_file: Path) -> ApiDefinition:
        routes = {k: ("echo", True) for k in (key, "$default", "join")}
        definition = custom_api(record_file, routes)
        definition.route_selection_expression = text
        return definition

    with running_gateway(tmp_path_factory.mktemp("expression"), api) as harness:
        yield harness, frame, key


def test_route_selection_expressions_in_every_documented_form(
    expression: tuple[Harness, dict[str, object], str],
) -> None:
    """``${request.body.action}``, several variables with static text, JSONPath, arrays, ``\\$``.

    The table of websocket-api-develop-routes ("Route selection expressions").
    """
    harness, frame, key = expression
    ws = harness.connect()
    try:
        ws.send(json.dumps(frame))
        assert recv_json(ws)["routeKey"] == key
        ws.send("not JSON")  # every variable is "": no route of that key
        assert recv_json(ws)["routeKey"] == ("$default" if key != "action" else key)
    finally:
        ws.close()


def test_gateway_error_frames_are_byte_for_byte_awss(no_default: Harness, gateway: Harness) -> None:
    """``{"message": "…", "connectionId":"…", "requestId":"…"}``: a space after the first colon only.

    Raw frames from aws-samples/simple-websockets-chat-app#42 (Internal server error) and #24
    (Forbidden), nearst/laconia#41.
    """
    ws = no_default.connect()
    try:
        ws.send("no route")
        raw = ws.recv()
        ids = json.loads(raw)
        assert raw == (
            f'{{"message": "Forbidden", "connectionId":"{ids["connectionId"]}", '
            f'"requestId":"{ids["requestId"]}"}}'
        )
    finally:
        ws.close()
    ws, connection_id = gateway.chat("raw-bytes")
    try:
        ws.send(json.dumps({"action": "raise"}))
        raw = ws.recv()
        request_id = json.loads(raw)["requestId"]
        assert raw == (
            f'{{"message": "Internal server error", "connectionId":"{connection_id}", '
            f'"requestId":"{request_id}"}}'
        )
    finally:
        ws.close()
