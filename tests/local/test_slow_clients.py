"""A client that stops reading holds up no one else, and cannot make the gateway hoard memory.

Posts to it past the backlog limit are refused with 429 ``LimitExceededException``.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

import boto3
import pytest
import websocket
from botocore.config import Config

from wsrelay.local import LocalGateway

from .support import CLIENTS, WAIT, custom_api, unique_table, wait_for

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


def _stalled_posts(gw: LocalGateway, connection_id: str) -> tuple[int, Any]:
    """Post numbered 30 KB frames to a client that does not read until one is refused.

    Returns how many were accepted and the refusal. Retries are off, so the refusal is the
    gateway's own first answer (botocore would retry a 429 a few times, as against AWS).
    """
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=gw.management_url,
        region_name="us-east-1",
        config=Config(retries={"total_max_attempts": 1}),
    )
    for i in range(1000):
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=f"{i:04d}{MESSAGE}".encode())
        except client.exceptions.LimitExceededException as exc:
            return i, exc
    raise AssertionError("1,000 posts of 30 KB to a client that does not read were all accepted")


def test_posts_to_a_client_that_stops_reading_get_429_and_it_stays_open(tmp_path: Path) -> None:
    """Past ``max_backlog_bytes`` a post gets 429 ``LimitExceededException``; nothing is lost.

    The botocore model: "The client is sending more than the allowed number of requests per
    unit of time or the WebSocket client side buffer is full." The poster is told; the
    connection stays open; once the client reads, it gets every accepted frame, in order,
    and posts are accepted again.
    """
    with LocalGateway(port=0, table_name=unique_table(), max_backlog_bytes=1_000_000) as gw:
        stalled = stalled_client(f"{gw.url}?room=r&name=stuck")
        connection_id = wait_for(lambda: gw.connection_ids(), "the connection")[0]
        accepted, refusal = _stalled_posts(gw, connection_id)
        error = refusal.response
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 429
        assert error["Error"]["Code"] == "LimitExceededException"
        assert accepted > 1_000_000 // 30_000  # the kernel's buffers took some, the backlog 1 MB
        client = gw.management_client()
        assert client.get_connection(ConnectionId=connection_id)  # still open
        assert connection_id in gw.connection_ids()
        for i in range(accepted):
            frame = stalled.recv()
            assert frame[:4] == f"{i:04d}", f"frame {i} is {frame[:4]}"
        client.post_to_connection(ConnectionId=connection_id, Data=b"reading again")
        assert stalled.recv() == "reading again"
        assert [row.user_name for row in gw.store().all_connections()] == ["stuck"]


def test_a_functions_post_to_a_client_that_stops_reading_raises_limit_exceeded(
    tmp_path: Path,
) -> None:
    """Over a function's channel too (the fast path), the post raises ``LimitExceededException``."""
    table = unique_table()
    api = custom_api(
        tmp_path / "records.jsonl",
        {"$connect": "record_only", "$disconnect": "record_only", "manage": ("manage", True)},
    )
    with LocalGateway(port=0, api=api, table_name=table, max_backlog_bytes=1_000_000) as gw:
        stalled = stalled_client(gw.url)
        stalled_id = wait_for(lambda: gw.connection_ids(), "the connection")[0]
        poster = reading_client(gw.url)
        outcomes: list[dict[str, Any]] = []
        for i in range(1000):
            request = {"action": "manage", "op": "post", "target": stalled_id, "attempts": 1}
            poster.send(json.dumps({**request, "data": f"{i:04d}{MESSAGE}"}))
            outcome = json.loads(poster.recv())["manage"]
            outcomes.append(outcome)
            if "error" in outcome:
                break
        assert outcomes[-1]["error"] == "LimitExceededException"
        assert outcomes[-1]["status"] == 429
        assert all(o == {"status": 200, "http": False} for o in outcomes[:-1])
        assert stalled_id in gw.connection_ids()
        for i in range(len(outcomes) - 1):  # every post the function was told succeeded
            assert stalled.recv()[:4] == f"{i:04d}"
