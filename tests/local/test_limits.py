"""API Gateway's limits on what a client sends: 32 KB frames, 128 KB messages, text only.

The rules are the connection core's (``tests/local/test_core.py`` drives them without a
socket); these prove the wiring: real clients see the close codes, ``$disconnect`` too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import websocket
from websocket import ABNF

from wsrelay.local import ApiDefinition

from .support import (
    WAIT,
    Harness,
    custom_api,
    recv_close,
    recv_json,
    running_gateway,
    wait_for,
)

pytestmark = pytest.mark.integration

FRAME = 32_768  # bytes
MESSAGE = 131_072  # bytes


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """An API whose ``$default`` is a two-way echo reporting the size of what arrived."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        return custom_api(
            record_file,
            {"$connect": "record_only", "$disconnect": "record_only", "$default": ("echo", True)},
        )

    with running_gateway(tmp_path_factory.mktemp("limits"), api) as harness:
        yield harness


def connect(gateway: Harness, name: str) -> tuple[websocket.WebSocket, str]:
    ws = gateway.connect(f"name={name}")
    return ws, gateway.connection_id_of(name)


def send_fragments(ws: websocket.WebSocket, parts: list[bytes]) -> None:
    """Send one text message as explicit frames: a text frame, then continuation frames."""
    for index, part in enumerate(parts):
        opcode = ABNF.OPCODE_TEXT if index == 0 else ABNF.OPCODE_CONT
        ws.send_frame(ABNF.create_frame(part, opcode, fin=int(index == len(parts) - 1)))


def assert_closed_with(
    gateway: Harness, ws: websocket.WebSocket, connection_id: str, code: int
) -> None:
    """The client gets a close frame with ``code``, and ``$disconnect`` reports the same code."""
    received, reason = recv_close(ws)
    assert received == code, reason
    ws.shutdown()
    event = gateway.wait_event("DISCONNECT", connection_id)
    assert event["requestContext"]["disconnectStatusCode"] == code
    wait_for(lambda: connection_id not in gateway.gw.connection_ids(), "the connection to go")


@pytest.mark.parametrize(
    "payload",
    [b"a" * FRAME, "é".encode() * (FRAME // 2)],
    ids=["ascii", "two-byte-characters"],
)
def test_frame_of_32768_bytes_is_accepted(gateway: Harness, payload: bytes) -> None:
    """A text frame of exactly 32,768 bytes (however many characters) reaches the route."""
    ws = gateway.connect()
    try:
        ws.send(payload.decode())
        assert recv_json(ws)["bytes"] == FRAME
        ws.send("and the connection is still open")
        assert recv_json(ws)["echo"] == "and the connection is still open"
    finally:
        ws.close()


@pytest.mark.parametrize(
    "payload",
    [b"a" * (FRAME + 1), "é".encode() * (FRAME // 2) + b"a", b"a" * 200_000],
    ids=["ascii", "two-byte-characters", "200KB"],
)
def test_frame_over_32768_bytes_closes_1009(gateway: Harness, payload: bytes) -> None:
    """A text frame of 32,769 bytes or more closes the connection with 1009."""
    ws, connection_id = connect(gateway, f"big-frame-{len(payload)}-{payload[0]}")
    ws.send(payload.decode())
    assert_closed_with(gateway, ws, connection_id, 1009)


@pytest.mark.parametrize(
    "parts",
    [[30_000] * 4, [FRAME] * 4, [1] * 40, [FRAME, 0, 10]],
    ids=["4x30000", "4x32768=131072", "40x1", "with-empty-fragment"],
)
def test_fragmented_message_within_128kb_is_accepted(gateway: Harness, parts: list[int]) -> None:
    """A message of frames each within 32 KB and together within 131,072 bytes is one event."""
    ws = gateway.connect()
    try:
        send_fragments(ws, [b"x" * size for size in parts])
        assert recv_json(ws)["bytes"] == sum(parts)
        ws.send("next")
        assert recv_json(ws)["echo"] == "next"
    finally:
        ws.close()


@pytest.mark.parametrize(
    "parts",
    [[30_000] * 5, [FRAME] * 4 + [1], [10, FRAME + 1]],
    ids=["5x30000", "131073", "big-continuation"],
)
def test_fragmented_message_over_limits_closes_1009(gateway: Harness, parts: list[int]) -> None:
    """A message over 131,072 bytes, or a continuation frame over 32 KB, closes with 1009."""
    ws, connection_id = connect(gateway, f"big-message-{len(parts)}-{sum(parts)}")
    send_fragments(ws, [b"x" * size for size in parts])
    assert_closed_with(gateway, ws, connection_id, 1009)


@pytest.mark.parametrize("size", [0, 5, 40_000])
def test_binary_frame_closes_1003(gateway: Harness, size: int) -> None:
    """A binary frame, of any size, closes the connection with 1003."""
    ws, connection_id = connect(gateway, f"binary-{size}")
    ws.send_binary(b"\x00" * size)
    assert_closed_with(gateway, ws, connection_id, 1003)


def test_frames_before_the_violation_are_still_handled(gateway: Harness) -> None:
    """Frames that arrived before an oversized one still reach the route, before ``$disconnect``."""
    ws, connection_id = connect(gateway, "before-violation")
    ws.send("first")
    ws.send("second")
    ws.send("x" * (FRAME + 1))
    assert_closed_with(gateway, ws, connection_id, 1009)
    kinds = [
        (e["requestContext"]["eventType"], e.get("body"))
        for e in gateway.events(connection_id=connection_id)
    ]
    assert kinds == [
        ("CONNECT", None),
        ("MESSAGE", "first"),
        ("MESSAGE", "second"),
        ("DISCONNECT", None),
    ]


def test_control_frames_are_not_limited(gateway: Harness) -> None:
    """A ping is answered with a pong and does not count towards a message."""
    ws = gateway.connect()
    try:
        send_fragments(ws, [b"a" * FRAME])
        ws.ping(b"are you there")
        opcode, frame = ws.recv_data_frame(control_frame=True)
        while opcode != ABNF.OPCODE_PONG:  # the echo may come first
            opcode, frame = ws.recv_data_frame(control_frame=True)
        assert frame.data == b"are you there"
    finally:
        ws.close()


@pytest.mark.parametrize(
    ("message", "code"),
    [("y" * (FRAME + 1), 1009), (b"\x01\x02", 1003)],
    ids=["text-too-big", "binary"],
)
def test_websockets_client_sees_the_close_code(
    gateway: Harness, message: str | bytes, code: int
) -> None:
    """The ``websockets`` client's ``ConnectionClosed`` carries the gateway's close code."""
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect as ws_connect

    with ws_connect(gateway.gw.url, open_timeout=WAIT, max_size=None) as ws:
        ws.send(message)
        with pytest.raises(ConnectionClosed) as caught:
            ws.recv(timeout=WAIT)
    assert caught.value.rcvd is not None
    assert caught.value.rcvd.code == code
    assert json.dumps(caught.value.rcvd.reason)  # a reason is given, whatever its words
