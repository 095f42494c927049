"""``LocalGateway``'s life cycle: start, stop, start again, and several side by side."""

from __future__ import annotations

import json
import socket
import time
import uuid
from pathlib import Path

import pytest
import websocket

from wsrelay.local import DEFAULT_TABLE, LocalGateway

from .support import (
    WAIT,
    chat_api,
    custom_api,
    recv_close,
    recv_json,
    running_gateway,
    unique_table,
    wait_for,
)

pytestmark = pytest.mark.integration


def chat_round_trip(gw: LocalGateway, room: str = "lobby") -> dict[str, object]:
    """Connect to ``gw``, send one chat message, return the frame that comes back."""
    ws = websocket.create_connection(f"{gw.url}?room={room}", timeout=WAIT)
    try:
        text = f"hello {uuid.uuid4().hex[:6]}"
        ws.send(json.dumps({"action": "sendmessage", "message": text}))
        frame: dict[str, object] = recv_json(ws)
        assert frame["message"] == text
        return frame
    finally:
        ws.close()


def test_starts_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    """The default gateway (moto, table, server, warm worker) starts and serves; its start time is printed."""
    started = time.perf_counter()
    with LocalGateway(port=0, table_name=unique_table()) as gw:
        elapsed = time.perf_counter() - started
        chat_round_trip(gw)
        first_frame = time.perf_counter() - started
    with capsys.disabled():
        print(
            f"\n  LocalGateway start: {elapsed:.3f} s (first chat frame back after {first_frame:.3f} s)"
        )


def test_stop_then_start_again(tmp_path: Path) -> None:
    """A stopped gateway starts again and serves, and so does a new one in the same process."""
    table = unique_table()
    gw = LocalGateway(port=0, table_name=table, api=chat_api(table, tmp_path / "events.jsonl"))
    for _ in range(2):
        gw.start()
        try:
            assert gw.running
            chat_round_trip(gw)
        finally:
            gw.stop()
        assert not gw.running
        gw.stop()  # safe to call twice
    with LocalGateway(port=0, table_name=table) as again:
        chat_round_trip(again)


def test_stop_closes_connections_with_1001(tmp_path: Path) -> None:
    """Stopping the gateway closes its connections with 1001 and runs their ``$disconnect``."""
    with running_gateway(tmp_path) as harness:
        ws, connection_id = harness.chat("leaving")
        harness.gw.stop()
        code, _ = recv_close(ws)
        assert code == 1001
        disconnect = harness.wait_event("DISCONNECT", connection_id)
        assert disconnect["requestContext"]["disconnectStatusCode"] == 1001
        with pytest.raises(RuntimeError):
            harness.gw.url  # noqa: B018 - a stopped gateway has no address


def test_stop_runs_every_queued_disconnect(tmp_path: Path) -> None:
    """Clients that left just before the stop still get their ``$disconnect``, all of them.

    With one environment and half a second per ``$disconnect``, sixteen queue for 8 s: the
    stop waits for them rather than cutting them (and logging their failures).
    """
    routes = {"$connect": "record_only", "$disconnect": "slow_record"}
    with running_gateway(
        tmp_path, lambda _, record_file: custom_api(record_file, routes), max_environments=1
    ) as harness:
        clients = [websocket.create_connection(harness.gw.url, timeout=WAIT) for _ in range(16)]
        wait_for(lambda: len(harness.events("CONNECT")) == 16, "sixteen CONNECT events")
        for ws in clients:
            ws.close()
        harness.gw.stop()
        assert len(harness.events("DISCONNECT")) == 16


def test_two_gateways_side_by_side() -> None:
    """Two gateways in one process, each on its own table, serve independently."""
    with (
        LocalGateway(port=0, table_name=unique_table()) as first,
        LocalGateway(port=0, table_name=unique_table(), stage="prod") as second,
    ):
        assert first.port != second.port
        assert second.url.endswith("/prod")
        a = chat_round_trip(first, room="shared")
        b = chat_round_trip(second, room="shared")
        # Each knows only its own connections.
        client = second.management_client()
        with pytest.raises(client.exceptions.GoneException):
            client.get_connection(ConnectionId=str(a["connectionId"]))
        # A room of the same name on each stays separate, with members on both at once.
        one = websocket.create_connection(f"{first.url}?room=shared&name=one", timeout=WAIT)
        two = websocket.create_connection(f"{second.url}?room=shared&name=two", timeout=WAIT)
        try:
            for ws, text in ((one, "on first"), (two, "on second"), (one, "first again")):
                ws.send(json.dumps({"action": "sendmessage", "message": text}))
                assert recv_json(ws)["message"] == text
            two.send(json.dumps({"action": "sendmessage", "message": "only mine"}))
            assert recv_json(two)["message"] == "only mine"
            one.send(json.dumps({"action": "sendmessage", "message": "only first"}))
            assert recv_json(one)["message"] == "only first", "first saw second's message"
        finally:
            one.close()
            two.close()
        assert b["connectionId"] != a["connectionId"]


def test_two_gateways_on_one_embedded_table_are_refused() -> None:
    """A second gateway on the same table of the shared embedded moto is refused, not left to corrupt the first."""
    with LocalGateway(port=0) as first:
        assert first.table_name == DEFAULT_TABLE
        with pytest.raises(RuntimeError, match="table_name"):
            LocalGateway(port=0).start()
        chat_round_trip(first)
    # Once the first has stopped, the table is free again.
    with LocalGateway(port=0) as second:
        chat_round_trip(second)


def test_a_connection_is_listed_as_soon_as_its_handshake_returns() -> None:
    """When the client's handshake returns, the gateway already lists (and can post to) it."""
    with LocalGateway(port=0, table_name=unique_table()) as gw:
        management = gw.management_client()
        clients = []
        try:
            for n in range(20):
                clients.append(
                    websocket.create_connection(f"{gw.url}?room=r&name=c{n}", timeout=WAIT)
                )
                ids = gw.connection_ids()
                assert len(ids) == n + 1
                for connection_id in ids:
                    management.get_connection(ConnectionId=connection_id)
        finally:
            for ws in clients:
                ws.close()


@pytest.mark.parametrize("repeat", range(5))
def test_server_close_waits_for_the_clients_close_reply(repeat: int) -> None:
    """DeleteConnection runs a full closing handshake: the client's automatic reply goes through."""
    with LocalGateway(port=0, table_name=unique_table()) as gw:
        ws = websocket.create_connection(f"{gw.url}?room=r&name=bye", timeout=WAIT)
        [connection_id] = gw.connection_ids()
        management = gw.management_client()
        management.delete_connection(ConnectionId=connection_id)
        management.close()
        frame = ws.recv_frame()  # the close frame, 1000
        assert frame.opcode == websocket.ABNF.OPCODE_CLOSE
        assert int.from_bytes(frame.data[:2], "big") == 1000
        time.sleep(0.2)
        # The gateway is waiting for our reply, so the socket is still open (no EOF yet).
        ws.sock.setblocking(False)
        with pytest.raises(BlockingIOError):
            ws.sock.recv(1, socket.MSG_PEEK)
        ws.send_close()  # the client's close reply, as websocket-client sends it
        ws.sock.settimeout(WAIT)
        assert ws.sock.recv(1) == b""  # and now the gateway closes its side
        ws.shutdown()


@pytest.mark.usefixtures("no_aws_credentials")
def test_embedded_dynamodb_needs_no_credentials() -> None:
    """A learner with no AWS account: the default gateway chats and gw.store() reads the rows."""
    with LocalGateway(port=0, table_name=unique_table()) as gw:
        ws = websocket.create_connection(f"{gw.url}?room=r&name=ada", timeout=WAIT)
        try:
            ws.send(json.dumps({"action": "sendmessage", "message": "hi"}))
            assert json.loads(ws.recv())["message"] == "hi"
            assert [row.user_name for row in gw.store().all_connections()] == ["ada"]
        finally:
            ws.close()


@pytest.mark.usefixtures("no_aws_credentials")
def test_store_on_a_local_endpoint_needs_no_credentials() -> None:
    """With DynamoDB on 127.0.0.1 (here a moto server) and no AWS credentials, gw.store() works."""
    from wsrelay.workbook import LocalAws

    with (
        LocalAws() as aws,
        LocalGateway(port=0, dynamodb_endpoint=aws.endpoint, table_name=unique_table()) as gw,
    ):
        ws = websocket.create_connection(f"{gw.url}?room=r&name=ada", timeout=WAIT)
        try:
            wait_for(lambda: gw.store().all_connections() or None, "the row of ada")
            assert [row.user_name for row in gw.store().all_connections()] == ["ada"]
        finally:
            ws.close()


@pytest.mark.parametrize("name", ["ab", "bad name!", "x" * 256])
def test_a_table_name_dynamodb_would_refuse_is_refused_up_front(name: str) -> None:
    """The embedded moto takes any table name; the gateway holds to DynamoDB's rule."""
    with pytest.raises(ValueError, match="is not a DynamoDB table name: use 3-255 letters"):
        LocalGateway(port=0, table_name=name)
