"""A client that stops reading holds up no one else, and cannot make the gateway hoard memory."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import pytest
import websocket

from wsrelay.local import LocalGateway

from .support import CLIENTS, WAIT, recv_close, unique_table, wait_for

pytestmark = pytest.mark.integration

# Frames of ~30 KB (under the 32 KB frame limit): 300 of them are ~9 MB for the stalled
# client, far more than the kernel buffers between it and the gateway hold.
MESSAGE = "m" * 30_000
BROADCASTS = 300


def stalled_client(url: str) -> websocket.WebSocket:
    """A client with a small receive buffer that never reads (hung up after the test)."""
    ws = websocket.create_connection(
        url, timeout=WAIT, sockopt=((socket.SOL_SOCKET, socket.SO_RCVBUF, 4096),)
    )
    CLIENTS.append(ws)
    return ws


def reading_client(url: str) -> websocket.WebSocket:
    """A client that reads what it is sent (hung up after the test)."""
    ws = websocket.create_connection(url, timeout=WAIT)
    CLIENTS.append(ws)
    return ws


def test_a_stalled_client_does_not_hold_up_the_room(tmp_path: Path) -> None:
    """Every broadcast still reaches the reading client promptly while another stops reading."""
    # A backlog limit above what this test sends, so the stalled client stays connected.
    with LocalGateway(port=0, table_name=unique_table(), max_backlog_bytes=64 * 2**20) as gw:
        stalled_client(f"{gw.url}?room=r&name=stuck")
        reader = reading_client(f"{gw.url}?room=r&name=reader")
        started = time.perf_counter()
        for i in range(BROADCASTS):
            reader.send(json.dumps({"action": "sendmessage", "message": f"{i:04d}{MESSAGE}"}))
            frame = json.loads(reader.recv())
            assert frame["message"].startswith(f"{i:04d}"), frame.get("message", frame)[:40]
        elapsed = time.perf_counter() - started
        assert elapsed < 60, f"{BROADCASTS} round trips took {elapsed:.1f} s"
        assert len(gw.connection_ids()) == 2  # the stalled client is still connected
        stopping = time.perf_counter()
    # Stopping cuts the stalled client after the 2 s close grace, rather than waiting on it.
    assert time.perf_counter() - stopping < 8


def test_a_stalled_client_is_closed_once_its_backlog_passes_the_limit(tmp_path: Path) -> None:
    """Past ``max_backlog_bytes`` the stalled client is closed (1008), the others carry on.

    400 frames of 30 KB are 12 MB: a few MB fit in the kernel's buffers, the rest would wait
    in the gateway. When the stalled client reads at last, it finds the frames sent before
    the limit was passed, then the close frame; its row goes with it ($disconnect).
    """
    with LocalGateway(port=0, table_name=unique_table(), max_backlog_bytes=1_000_000) as gw:
        stalled = stalled_client(f"{gw.url}?room=r&name=stuck")
        reader = reading_client(f"{gw.url}?room=r&name=reader")
        for i in range(400):
            reader.send(json.dumps({"action": "sendmessage", "message": f"{i:04d}{MESSAGE}"}))
            assert json.loads(reader.recv())["message"].startswith(f"{i:04d}")
        code, reason = recv_close(stalled)
        assert (code, reason) == (1008, "Client is not reading")
        wait_for(lambda: len(gw.store().all_connections()) == 1 or None, "the stalled row gone")
        assert [row.user_name for row in gw.store().all_connections()] == ["reader"]
        reader.send(json.dumps({"action": "sendmessage", "message": "still here"}))
        assert json.loads(reader.recv())["message"] == "still here"
