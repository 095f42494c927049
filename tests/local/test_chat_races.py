"""Races between connections that the gateway reproduces faithfully, seen through the chat."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket

from wsrelay.local import ApiDefinition

from .support import CHAT_ROUTES, WAIT, Harness, custom_api, recv_json, running_gateway, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def slow_connect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """The chat, with a ``$connect`` that stores the row and then takes a second to return."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        routes: dict[str, str | tuple[str, bool]] = {
            key: "recording_handler" for key in CHAT_ROUTES
        }
        routes["$connect"] = "slow_connect"
        return custom_api(record_file, routes, table=table)

    with running_gateway(tmp_path_factory.mktemp("races"), api) as harness:
        yield harness


def new_row(harness: Harness, known: set[str]) -> str:
    """The id of a row a ``$connect`` has just written, not one of ``known``."""

    def written() -> set[str]:
        return {r["row_written"] for r in harness.records() if "row_written" in r}

    fresh = wait_for(lambda: written() - known or None, "a new connection's row")
    return str(next(iter(fresh)))


def test_newcomer_is_not_open_until_connect_returns(slow_connect: Harness) -> None:
    """While ``$connect`` runs, the connection's row exists but ``@connections`` answers 410 for it."""
    known = {r["row_written"] for r in slow_connect.records() if "row_written" in r}
    client = slow_connect.gw.management_client()
    opened: list[websocket.WebSocket] = []
    opener = threading.Thread(
        target=lambda: opened.append(slow_connect.connect("room=early&name=early"))
    )
    opener.start()
    try:
        newcomer = new_row(slow_connect, known)
        assert slow_connect.gw.store().get(newcomer) is not None
        with pytest.raises(client.exceptions.GoneException):
            client.get_connection(ConnectionId=newcomer)
    finally:
        opener.join(timeout=WAIT)
    client.get_connection(ConnectionId=newcomer)  # open once the handshake is done
    opened[0].close()


def test_broadcast_during_connect_keeps_the_newcomer(slow_connect: Harness) -> None:
    """A message broadcast while a newcomer's ``$connect`` is running does not orphan the newcomer."""
    member, _ = slow_connect.chat("member", room="race")
    known = {r["row_written"] for r in slow_connect.records() if "row_written" in r}
    joined: list[websocket.WebSocket] = []
    opener = threading.Thread(
        target=lambda: joined.append(slow_connect.connect("room=race&name=newcomer"))
    )
    opener.start()
    try:
        new_row(slow_connect, known)
        member.send(json.dumps({"action": "sendmessage", "message": "welcome?"}))
        assert recv_json(member)["message"] == "welcome?"
    finally:
        opener.join(timeout=WAIT)
    newcomer = joined[0]
    newcomer.send(json.dumps({"action": "sendmessage", "message": "hello all"}))
    frame = recv_json(newcomer)
    assert frame.get("message") == "hello all", frame
