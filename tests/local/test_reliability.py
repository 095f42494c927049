"""Reliability under faults: DynamoDB throttling, and an execution environment killed mid-broadcast.

- DynamoDB answers throttling errors to the broadcaster's reads (Query) and deletes
  (DeleteItem, the 410 clean-up); botocore's retry modes retry them, and every member gets
  every message exactly once. With retries off the same faults lose the message: the
  faults are real.
- SIGKILL an environment while it is broadcasting: that invocation fails as Lambda's
  would (the sender gets ``Internal server error``), nobody gets the message twice, the
  next invocation runs in a new environment, and the room works on.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import psutil
import pytest
import websocket

from wsrelay.local import ApiDefinition, Function, LocalGateway, Route

from .support import CHAT_ROUTES, CLIENTS, WAIT, handler, unique_table, wait_for
from .throttling import ThrottlingDynamoDB

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MEMBERS = 5
STALE = 3  # rows of connections that vanished long ago: each post to them is a 410


def chat_with(
    table: str, environment: dict[str, str], *, handler_name: str | None = None
) -> ApiDefinition:
    """The workbook's chat API with extra variables in its function's environment."""
    api = ApiDefinition.default(table)
    (function,) = api.functions.values()
    api.functions[function.name] = Function(
        name=function.name,
        handler=handler(handler_name) if handler_name else function.handler,
        environment={**function.environment, **environment},
    )
    return api


def join(gw: LocalGateway, room: str, name: str) -> websocket.WebSocket:
    ws = websocket.create_connection(f"{gw.url}?room={room}&name={name}", timeout=WAIT)
    CLIENTS.append(ws)
    return ws


def read_until(ws: websocket.WebSocket, marker: str) -> list[dict[str, Any]]:
    """Every frame up to and including the chat message ``marker``."""
    frames = []
    while True:
        frame = json.loads(ws.recv())
        frames.append(frame)
        if frame.get("message") == marker:
            return frames


@pytest.fixture
def throttled(moto_endpoint: str) -> Iterator[ThrottlingDynamoDB]:
    """A DynamoDB that throttles every Query and DeleteItem twice before letting it through."""
    with ThrottlingDynamoDB(moto_endpoint, {"Query", "DeleteItem"}) as proxy:
        yield proxy


def stale_rows(moto_endpoint: str, table: str, room: str) -> list[str]:
    """Rows of connections that never were, two minutes old (past the broadcaster's 30 s grace)."""
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    ids = [f"stale{i}{uuid.uuid4().hex[:10]}=" for i in range(STALE)]
    old = int((time.time() - 120) * 1000)
    for connection_id in ids:
        client.put_item(
            TableName=table,
            Item={
                "connectionId": {"S": connection_id},
                "roomId": {"S": room},
                "userName": {"S": "ghost"},
                "connectedAt": {"N": str(old)},
                "expiresAt": {"N": str(old // 1000 + 7200)},
            },
        )
    return ids


@pytest.mark.parametrize("mode", ["legacy", "standard", "adaptive"])
def test_throttled_reads_and_deletes_lose_nothing_and_post_nothing_twice(
    moto_endpoint: str, throttled: ThrottlingDynamoDB, mode: str
) -> None:
    """With botocore's retry mode ``mode``, each member gets each of three messages once;
    the stale rows are deleted although every DeleteItem was throttled twice first."""
    table = unique_table()
    api = chat_with(table, {"AWS_RETRY_MODE": mode})
    with LocalGateway(port=0, api=api, table_name=table, dynamodb_endpoint=throttled.url) as gw:
        room = f"throttled-{mode}"
        members = [join(gw, room, f"m{i}") for i in range(MEMBERS)]
        for ws in members:
            # The adaptive mode's client-side rate limiter slows the function's DynamoDB
            # calls after throttles (down to half a request a second): slow, but nothing lost.
            ws.settimeout(120)
        ghosts = stale_rows(moto_endpoint, table, room)
        # From one sender, so each broadcast ends before the next begins (frames of one
        # connection are handled in order): once "end" arrives, every post has been made.
        for text in ("msg-0", "msg-1", "msg-2", "end"):
            members[0].send(json.dumps({"action": "sendmessage", "message": text}))
        for ws in members:
            got = [f["message"] for f in read_until(ws, "end") if f.get("type") == "message"]
            assert got == ["msg-0", "msg-1", "msg-2", "end"], got
        store = gw.store()
        wait_for(lambda: all(store.get(g) is None for g in ghosts), "the stale rows deleted")
        assert throttled.throttled["Query"] >= 4 * 2
        assert throttled.throttled["DeleteItem"] >= STALE * 2
        assert len(list(store.room_members(room))) == MEMBERS


def test_without_retries_the_same_faults_lose_the_message(throttled: ThrottlingDynamoDB) -> None:
    """The control: one attempt only, and the throttled Query fails the broadcast."""
    table = unique_table()
    api = chat_with(table, {"AWS_MAX_ATTEMPTS": "1"})
    with LocalGateway(port=0, api=api, table_name=table, dynamodb_endpoint=throttled.url) as gw:
        sender, other = join(gw, "control", "a"), join(gw, "control", "b")
        sender.send(json.dumps({"action": "sendmessage", "message": "lost"}))
        error = json.loads(sender.recv())
        assert error["message"] == "Internal server error" and set(error) == {
            "message",
            "connectionId",
            "requestId",
        }
        other.settimeout(1)
        with pytest.raises(websocket.WebSocketTimeoutException):
            other.recv()


# --- an environment killed mid-broadcast --------------------------------------------------

BROADCAST_MEMBERS = 80


def environment_pids() -> set[int]:
    """The execution environments this process started (``bootstrap.py``)."""
    pids = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if any(part.endswith("bootstrap.py") for part in child.cmdline()):
                pids.add(child.pid)
        except psutil.Error:
            continue
    return pids


def test_an_environment_killed_mid_broadcast(tmp_path: Path) -> None:
    """SIGKILL during a broadcast: that invocation fails as Lambda's would, the next one runs
    in a new environment, nobody gets a message twice, and the room still works."""
    table = unique_table()
    api = chat_with(table, {"POST_DELAY": "0.05"}, handler_name="slow_broadcaster")
    api.routes["pid"] = Route(key="pid", function=next(iter(api.functions)), two_way=True)
    with LocalGateway(port=0, api=api, table_name=table, max_environments=1) as gw:
        members = [join(gw, "doomed", f"m{i}") for i in range(BROADCAST_MEMBERS)]
        sender = members[0]
        sender.send(json.dumps({"action": "pid"}))
        first_pid = json.loads(sender.recv())["pid"]
        assert first_pid in environment_pids()
        killed = threading.Event()

        def kill_at_the_first_delivery() -> None:
            watcher = members[-1]
            frame = json.loads(watcher.recv())
            assert frame.get("message") == "interrupted", frame
            os.kill(first_pid, signal.SIGKILL)
            killed.set()

        watcher = threading.Thread(target=kill_at_the_first_delivery, daemon=True)
        watcher.start()
        sender.send(json.dumps({"action": "sendmessage", "message": "interrupted"}))
        watcher.join(WAIT)
        assert killed.is_set(), "the broadcast never reached the watcher"
        # The sender gets API Gateway's error frame once the invocation fails (it may have
        # had the message itself first, if it was among the members posted to).
        frames = read_error_or(sender)
        assert frames[-1]["message"] == "Internal server error", frames
        # The next invocation runs in a new environment, and reaches everyone, once.
        sender.send(json.dumps({"action": "sendmessage", "message": "after"}))
        received = Counter()
        for ws in members:
            for frame in read_until(ws, "after"):
                received[(ws, frame.get("message"))] += 1
        assert all(received[(ws, "after")] == 1 for ws in members)
        assert all(received[(ws, "interrupted")] <= 1 for ws in members)
        assert sum(received[(ws, "interrupted")] for ws in members) < BROADCAST_MEMBERS - 1
        sender.send(json.dumps({"action": "pid"}))
        frames = read_error_or(sender, key="pid")
        assert frames[-1]["pid"] != first_pid
        assert len(list(gw.store().room_members("doomed"))) == BROADCAST_MEMBERS


def read_error_or(ws: websocket.WebSocket, key: str = "requestId") -> list[dict[str, Any]]:
    """Frames up to the first that has ``key`` (API Gateway's error frame has ``requestId``)."""
    frames = []
    while True:
        frames.append(json.loads(ws.recv()))
        if key in frames[-1]:
            return frames


def test_the_chat_routes_are_the_workbooks() -> None:
    """The APIs above are the chat's own routes (so they test the chat, not a stand-in)."""
    assert set(ApiDefinition.default("t").routes) == set(CHAT_ROUTES)
