"""A room bigger than one page, split across invocations of the fan-out function (``wsrelay.fanout``).

Served from the project's own SAM template (its handler and fan-out function, unmodified)
with pages of 500: a room of 5,000 — 4,899 clients in a process of their own, the sender, and
100 rows of connections long gone — is one page posted by the handler and nine handed to
asynchronous invocations of the fan-out function.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websocket

from wsrelay.local import LocalGateway
from wsrelay.store import ConnectionStore

from .support import CLIENTS, WAIT, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).parents[2]
CROWD = 4_899
STALE = 100


def stale_id() -> str:
    """An id shaped like API Gateway's (16 URL-safe characters ending in '=')."""
    return secrets.token_urlsafe(11)[:15] + "="


def test_a_room_of_5000_is_delivered_once_to_every_member() -> None:
    """Every connected member gets the message exactly once; the 100 stale rows are removed."""
    with LocalGateway.from_template(
        # 500 clients connect at once: past the handler's reserved concurrency of 50 (a cap
        # of notebook 09, which throttles $connect as on AWS), so the cap is off here.
        ROOT / "template.yaml",
        {"FanoutPageSize": "500", "ReservedConcurrency": "-1"},
        port=0,
    ) as gw:
        table = gw.resources["ConnectionsTable"]
        ddb = gw.dynamodb_client()
        store = ConnectionStore(ddb, table)
        long_ago = int((time.time() - 3600) * 1000)
        stale = [stale_id() for _ in range(STALE)]
        for connection_id in stale:
            ddb.put_item(
                TableName=table,
                Item={
                    "connectionId": {"S": connection_id},
                    "roomId": {"S": "big"},
                    "userName": {"S": "ghost"},
                    "connectedAt": {"N": str(long_ago)},
                    "expiresAt": {"N": str(long_ago // 1000 + 7200)},
                },
            )
        marker = f"to everyone {secrets.token_hex(4)}"
        crowd = subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("room_clients.py")), gw.url, "big",
             str(CROWD), marker],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert crowd.stdout is not None and crowd.stdin is not None
            assert crowd.stdout.readline().strip() == "ready"
            sender = websocket.create_connection(f"{gw.url}?room=big&name=sender", timeout=WAIT)
            CLIENTS.append(sender)
            members = store.room_members("big")
            assert sum(1 for _ in members) == CROWD + 1 + STALE
            sender.send(json.dumps({"action": "sendmessage", "message": marker}))
            assert json.loads(sender.recv())["message"] == marker

            def stale_rows_left() -> int:
                return sum(1 for m in store.room_members("big") if m.user_name == "ghost")

            wait_for(lambda: stale_rows_left() == 0 or None, "the stale rows to be removed", 120)
            time.sleep(2)  # any second copy would have arrived by now
            crowd.stdin.write("done\n")
            crowd.stdin.flush()
            received = json.loads(crowd.stdout.readline())
        finally:
            crowd.kill()
            crowd.communicate(timeout=30)  # reaps it and closes its pipes
    assert received == {"1": CROWD}, received  # each member once: none missed, none twice
