"""The project's own stack as a SAM template (``template.yaml``) serves the chat as ``wsrelay serve`` does."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from wsrelay.local import LocalGateway
from wsrelay.store import TABLE_SCHEMA, TTL_ATTRIBUTE

from .support import CLIENTS, WAIT, unique_table

pytestmark = pytest.mark.integration

ROOT_TEMPLATE = Path(__file__).parents[2] / "template.yaml"


def conversation(gw: LocalGateway) -> list[Any]:
    """A scripted chat (join, talk, move rooms, a bad frame); every frame the clients got."""

    def connect(query: str) -> websocket.WebSocket:
        ws = websocket.create_connection(f"{gw.url}?{query}", timeout=WAIT)
        CLIENTS.append(ws)
        return ws

    seen: list[Any] = []
    ada, bob = connect("room=kitchen&name=ada"), connect("room=kitchen&name=bob")
    ada.send(json.dumps({"action": "sendmessage", "message": "hello"}))
    seen += [json.loads(ada.recv()), json.loads(bob.recv())]
    bob.send(json.dumps({"action": "joinroom", "room": "garden"}))
    seen.append(json.loads(bob.recv()))
    bob.send(json.dumps({"action": "sendmessage", "message": "anyone?"}))
    seen.append(json.loads(bob.recv()))
    ada.send("not json")
    seen.append(json.loads(ada.recv()))
    try:
        connect("room=bad%20room")
    except websocket.WebSocketBadStatusException as exc:
        seen.append(exc.status_code)
    for frame in seen:
        if isinstance(frame, dict):
            frame.pop("sentAt", None)
            frame.pop("connectionId", None)
    return seen


@pytest.fixture(scope="module")
def root() -> Iterator[LocalGateway]:
    with LocalGateway.from_template(ROOT_TEMPLATE, port=0) as gw:
        yield gw


def test_the_root_template_describes_the_chat(root: LocalGateway) -> None:
    """Its table has the store's schema and TTL; its one function is the chat's handler."""
    table = root.resources["ConnectionsTable"]
    assert table == "local-dev-connections" and root.stage == "dev"
    described = root.dynamodb_client().describe_table(TableName=table)["Table"]
    index = described["GlobalSecondaryIndexes"][0]
    assert index["IndexName"] == TABLE_SCHEMA["GlobalSecondaryIndexes"][0]["IndexName"]
    assert described["KeySchema"] == TABLE_SCHEMA["KeySchema"]
    ttl = root.dynamodb_client().describe_time_to_live(TableName=table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == TTL_ATTRIBUTE
    handlers = {f.handler: f for f in root.api.functions.values()}
    assert set(handlers) == {"wsrelay.handlers.lambda_handler", "wsrelay.handlers.fanout_handler"}
    function = handlers["wsrelay.handlers.lambda_handler"]
    assert function.code_dir == ROOT_TEMPLATE.parent / "reference"
    # Rooms bigger than a page go to the fan-out function (tests/local/test_big_room.py).
    fanout = handlers["wsrelay.handlers.fanout_handler"]
    assert function.environment["FANOUT_FUNCTION"] == fanout.name
    assert set(root.api.routes) == {
        "$connect",
        "$disconnect",
        "$default",
        "sendmessage",
        "joinroom",
    }
    assert root.outputs["WebSocketUrl"] == root.url
    assert root.outputs["ConnectionsUrl"] == root.management_url


def test_the_root_template_chats_exactly_as_wsrelay_serve(root: LocalGateway) -> None:
    """The same conversation gives the same frames from ``serve --template`` and ``serve``."""
    with LocalGateway(port=0, table_name=unique_table()) as plain:
        expected = conversation(plain)
    got = conversation(root)
    assert got == expected
    assert expected[0] == {
        "type": "message",
        "room": "kitchen",
        "sender": "ada",
        "message": "hello",
    }
    assert expected[-1] == 400
    assert re.search("not JSON|JSON", expected[-2]["error"])


def test_the_store_of_a_template_app_is_its_table(root: LocalGateway) -> None:
    """A template with one table: ``table_name`` and ``store()`` are that table's."""
    assert root.table_name == root.resources["ConnectionsTable"]
    ws = websocket.create_connection(f"{root.url}?room=stored&name=ada", timeout=WAIT)
    CLIENTS.append(ws)
    assert [m.user_name for m in root.store().room_members("stored")] == ["ada"]
