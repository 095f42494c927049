"""The idle timeout and the maximum connection duration (10 min and 2 h on AWS; shortened here)."""

from __future__ import annotations

import contextlib
import select
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from websocket import ABNF

from wsrelay.local import ApiDefinition

from .support import Harness, custom_api, recv_close, recv_json, running_gateway

pytestmark = pytest.mark.integration

IDLE = 0.5
MAX_DURATION = 1.0


def api(table: str, record_file: Path) -> ApiDefinition:
    return custom_api(
        record_file,
        {"$connect": "record_only", "$disconnect": "record_only", "$default": ("echo", True)},
    )


@pytest.fixture(scope="module")
def idle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """A gateway that closes connections idle for 0.5 s."""
    with running_gateway(tmp_path_factory.mktemp("idle"), api, idle_timeout=IDLE) as harness:
        yield harness


@pytest.fixture(scope="module")
def short_lived(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """A gateway that closes every connection 1 s after it opened."""
    with running_gateway(
        tmp_path_factory.mktemp("max-duration"), api, max_duration=MAX_DURATION
    ) as harness:
        yield harness


def test_idle_connection_closes_1001(idle: Harness) -> None:
    """A connection that sends nothing for the idle timeout is closed with 1001 Going away."""
    opened = time.monotonic()
    ws = idle.connect("name=idler")
    connection_id = idle.connection_id_of("idler")
    try:
        code, reason = recv_close(ws)
    finally:
        ws.shutdown()
    assert code == 1001, reason
    assert time.monotonic() - opened >= IDLE * 0.8
    disconnect = idle.wait_event("DISCONNECT", connection_id)
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1001


def test_sending_keeps_the_connection_open(idle: Harness) -> None:
    """Frames from the client reset the idle timer: three idle periods pass and the connection lives."""
    ws = idle.connect("name=chatty")
    try:
        started = time.monotonic()
        count = 0
        while time.monotonic() - started < IDLE * 3:
            ws.send(f"tick {count}")
            assert recv_json(ws)["echo"] == f"tick {count}"
            count += 1
            time.sleep(IDLE / 5)
        # Once it goes quiet, the idle timeout applies again.
        code, _ = recv_close(ws)
        assert code == 1001
    finally:
        ws.shutdown()


def test_maximum_duration_closes_an_active_connection(short_lived: Harness) -> None:
    """A connection reaching the maximum duration is closed with 1001, however busy it is."""
    opened = time.monotonic()
    ws = short_lived.connect("name=busy")
    connection_id = short_lived.connection_id_of("busy")
    replies = 0
    try:
        while True:
            assert time.monotonic() - opened < 10, "the connection outlived its maximum duration"
            # Send whenever nothing is waiting to be read (so a close frame is read, not raced).
            if not select.select([ws.sock], [], [], 0.05)[0]:
                with contextlib.suppress(OSError):
                    ws.send("busy")
            frame = ws.recv_frame()
            if frame.opcode == ABNF.OPCODE_CLOSE:
                code = int.from_bytes(frame.data[:2], "big")
                break
            replies += 1
    finally:
        ws.shutdown()
    assert replies, "the connection never worked"
    assert code == 1001
    assert time.monotonic() - opened >= MAX_DURATION * 0.8
    disconnect = short_lived.wait_event("DISCONNECT", connection_id)
    assert disconnect["requestContext"]["disconnectStatusCode"] == 1001


def test_posts_keep_a_client_that_only_reads_connected(idle: Harness) -> None:
    """Traffic in either direction keeps a connection alive: a member who only reads stays.

    A vendor running on API Gateway documents it (hotsock.io, "keep-alive"); AWS's own
    quotas page gives only the 10-minute idle timeout. Each post moves ``LastActiveAt``.
    """
    ws = idle.connect("name=reader")
    connection_id = idle.connection_id_of("reader")
    client = idle.gw.management_client()
    try:
        first = client.get_connection(ConnectionId=connection_id)["LastActiveAt"]
        started = time.monotonic()
        count = 0
        while time.monotonic() - started < IDLE * 4:
            client.post_to_connection(ConnectionId=connection_id, Data=f"post {count}".encode())
            assert ws.recv() == f"post {count}"
            count += 1
            time.sleep(IDLE / 5)
        last = client.get_connection(ConnectionId=connection_id)["LastActiveAt"]
        assert (last - first).total_seconds() >= IDLE * 3
        # Once nothing is posted either, the idle timeout applies again.
        code, _ = recv_close(ws)
        assert code == 1001
    finally:
        ws.shutdown()
