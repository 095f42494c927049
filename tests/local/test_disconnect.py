"""``$disconnect``: the close code and reason it reports, and clean-up after clients that vanish."""

from __future__ import annotations

import json
import signal
import socket
import struct
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from websocket import ABNF

from wsrelay.local import ApiDefinition

from .support import WAIT, Harness, custom_api, recv_close, recv_json, running_gateway, wait_for

pytestmark = pytest.mark.integration

#: A client in its own process that connects, says so, and waits to be killed.
CLIENT = """
import sys, time, websocket
ws = websocket.create_connection(sys.argv[1], timeout=10)
print("open", flush=True)
time.sleep(60)
"""


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """The workbook's chat API, every event recorded."""
    with running_gateway(tmp_path_factory.mktemp("disconnect")) as harness:
        yield harness


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def disconnect_of(chat: Harness, connection_id: str) -> tuple[int, str]:
    """(disconnectStatusCode, disconnectReason) of the connection's ``$disconnect`` event."""
    context = chat.wait_event("DISCONNECT", connection_id)["requestContext"]
    return context["disconnectStatusCode"], context["disconnectReason"]


def assert_room_still_works(chat: Harness, room: str, gone: str) -> None:
    """The vanished connection's row is deleted and the others in its room still chat."""
    store = chat.gw.store()
    wait_for(lambda: store.get(gone) is None, f"the row of {gone} to be deleted")
    first, _ = chat.chat(unique("first"), room)
    second, _ = chat.chat(unique("second"), room)
    try:
        first.send(json.dumps({"action": "sendmessage", "message": "anyone left?"}))
        for ws in (first, second):
            assert recv_json(ws)["message"] == "anyone left?"
        assert gone not in {member.connection_id for member in store.room_members(room)}
    finally:
        first.close()
        second.close()
    client = chat.gw.management_client()
    with pytest.raises(client.exceptions.GoneException):
        client.post_to_connection(ConnectionId=gone, Data=b"hello?")


@pytest.mark.parametrize(
    ("code", "reason"),
    [(1000, "bye"), (4001, "bye"), (1001, "tab closed"), (3000, "")],
)
def test_client_close_code_and_reason_reach_disconnect(
    chat: Harness, code: int, reason: str
) -> None:
    """The code and reason of the client's close frame are ``disconnectStatusCode`` and ``disconnectReason``."""
    ws, connection_id = chat.chat(unique("closer"))
    ws.close(status=code, reason=reason.encode())
    assert disconnect_of(chat, connection_id) == (code, reason)
    # The event is recorded before the handler deletes the row: wait for the delete.
    store = chat.gw.store()
    wait_for(lambda: store.get(connection_id) is None, f"the row of {connection_id} to be deleted")


def test_close_without_a_code_is_1005(chat: Harness) -> None:
    """A close frame without a status code is reported as 1005 "Client-side close frame status not set"."""
    ws, connection_id = chat.chat(unique("silent"))
    try:
        ws.send_frame(ABNF.create_frame(b"", ABNF.OPCODE_CLOSE))
        code, _ = recv_close(ws)  # the gateway answers the close
        assert code in (None, 1000, 1005)
    finally:
        ws.shutdown()
    assert disconnect_of(chat, connection_id) == (1005, "Client-side close frame status not set")


@pytest.mark.parametrize("how", ["fin", "rst"])
def test_vanished_client_is_1006_and_cleaned_up(chat: Harness, how: str) -> None:
    """A client whose socket goes without a close frame gives 1006; its row goes, the room works on."""
    room = unique("room")
    ws, connection_id = chat.chat(unique("vanisher"), room)
    sock = ws.sock
    assert sock is not None
    if how == "rst":  # an abortive close: the peer gets a TCP reset instead of a FIN
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()
    code, _ = disconnect_of(chat, connection_id)
    assert code == 1006
    assert_room_still_works(chat, room, connection_id)


def test_killed_client_process_is_1006(chat: Harness) -> None:
    """A client process killed with SIGKILL (no close frame) gives 1006; its row goes, the room works on."""
    room, name = unique("room"), unique("killed")
    process = subprocess.Popen(
        [sys.executable, "-c", CLIENT, f"{chat.gw.url}?room={room}&name={name}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "open"
        connection_id = chat.connection_id_of(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=WAIT)
        if process.stdout is not None:
            process.stdout.close()
    code, _ = disconnect_of(chat, connection_id)
    assert code == 1006
    assert_room_still_works(chat, room, connection_id)


def test_every_connection_gets_exactly_one_disconnect(chat: Harness) -> None:
    """However a connection ends, ``$disconnect`` runs once for it."""
    ids = []
    for how in ("close", "drop"):
        ws, connection_id = chat.chat(unique(how))
        ids.append(connection_id)
        if how == "close":
            ws.close()
        else:
            assert ws.sock is not None
            ws.sock.close()
    for connection_id in ids:
        chat.wait_event("DISCONNECT", connection_id)
    # Give a duplicate time to show up, then count.
    wait_for(lambda: all(c not in chat.gw.connection_ids() for c in ids), "the connections to go")
    for connection_id in ids:
        assert len(chat.events("DISCONNECT", connection_id)) == 1


def test_closed_connection_is_gone(chat: Harness) -> None:
    """Once the client has closed, the ``@connections`` API answers 410 GoneException for it."""
    ws, connection_id = chat.chat(unique("gone"))
    ws.close()
    chat.wait_event("DISCONNECT", connection_id)
    client = chat.gw.management_client()
    with pytest.raises(client.exceptions.GoneException):
        client.get_connection(ConnectionId=connection_id)


@pytest.fixture(scope="module", params=[True, False], ids=["fast_path", "http"])
def self_poster(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Harness]:
    """An API whose ``$disconnect`` posts to the closing connection (both @connections paths)."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        return custom_api(
            record_file, {"$connect": "record_only", "$disconnect": "disconnect_posts_to_self"}
        )

    with running_gateway(
        tmp_path_factory.mktemp("self-poster"), api, fast_path=request.param
    ) as harness:
        yield harness


@pytest.mark.parametrize("how", ["client-close", "delete", "lost"])
def test_a_post_during_its_own_disconnect_is_gone(self_poster: Harness, how: str) -> None:
    """Once a connection's close has begun, ``$disconnect`` included, posts and gets answer 410."""
    ws = self_poster.connect()
    connect = wait_for(lambda: self_poster.events("CONNECT"), "the CONNECT event")[-1]
    connection_id = connect["requestContext"]["connectionId"]
    if how == "client-close":
        ws.close()
    elif how == "delete":
        self_poster.gw.management_client().delete_connection(ConnectionId=connection_id)
        recv_close(ws)
    else:
        assert ws.sock is not None
        ws.sock.close()
    entry = wait_for(
        lambda: [r for r in self_poster.records() if r.get("connectionId") == connection_id],
        "the $disconnect handler's record",
    )[0]
    for op in ("post", "get"):
        outcome = entry["disconnect"][op]
        assert (outcome["status"], outcome["error"]) == (410, "GoneException"), op
        assert outcome["http"] is (not self_poster.fast_path)


def test_delete_connection_is_reported_as_closed_normally(chat: Harness) -> None:
    """After DeleteConnection, ``$disconnect`` has 1000 "Connection Closed Normally", as API
    Gateway's execution log shows it (aws/chalice#2060)."""
    ws, connection_id = chat.chat(unique("deleted"))
    chat.gw.management_client().delete_connection(ConnectionId=connection_id)
    code, _ = recv_close(ws)
    assert code == 1000
    assert disconnect_of(chat, connection_id) == (1000, "Connection Closed Normally")
