"""``wsrelay.fanout``: pages of a room handed to invocations, each member posted once; failures counted.

Driven against a real local gateway (its ``@connections`` API and the embedded DynamoDB):
the fan-out function's invocations are stood in for by calling its own event handler, so a
test can refuse one page and see what happens to the others.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
import websocket

from wsrelay.broadcast import Broadcaster
from wsrelay.fanout import SplitFanout, handle_fanout_event
from wsrelay.local import LocalGateway

from .support import CLIENTS, WAIT, unique_table

pytestmark = pytest.mark.integration


def members(gw: LocalGateway, room: str, n: int) -> list[websocket.WebSocket]:
    clients = []
    for i in range(n):
        ws = websocket.create_connection(f"{gw.url}?room={room}&name=m{i}", timeout=WAIT)
        CLIENTS.append(ws)
        clients.append(ws)
    return clients


def got(ws: websocket.WebSocket, timeout: float = 1.0) -> list[str]:
    """The frames a client has been sent (waiting ``timeout`` for the last)."""
    ws.settimeout(timeout)
    frames = []
    try:
        while True:
            frames.append(ws.recv())
    except websocket.WebSocketTimeoutException:
        return frames


class Split:
    """A ``SplitFanout`` in pages of 2 whose ``invoke`` hands each event, as JSON (as Lambda
    does), to the fan-out function's own handler, and records it; Lambda refuses the events
    whose numbers (from 1) are in ``refuse``."""

    def __init__(self, gw: LocalGateway, refuse: frozenset[int] = frozenset()) -> None:
        self.broadcaster = Broadcaster(gw.management_client(), gw.store())
        self.events: list[dict[str, Any]] = []
        self.refuse = refuse
        self.fanout = SplitFanout(
            self.broadcaster.store, self.broadcaster, self.invoke, gw.management_url, page_size=2
        )

    def invoke(self, event: Mapping[str, Any]) -> None:
        self.events.append(json.loads(json.dumps(event)))
        if len(self.events) in self.refuse:
            raise RuntimeError("TooManyRequestsException: Rate Exceeded.")
        handle_fanout_event(self.events[-1], self.broadcaster)


def test_pages_are_handed_on_and_a_refused_page_is_counted() -> None:
    """Pages of 2 in a room of 7: the first posted here, the rest by the fan-out's handler;
    a page Lambda refuses is counted, its members get nothing, the others get it once."""
    with LocalGateway(port=0, table_name=unique_table()) as gw:
        clients = members(gw, "r", 7)
        split = Split(gw, refuse=frozenset({2}))
        result = split.fanout.broadcast("r", "hello")
        assert result.own.delivered == 2
        assert (result.pages_handed_on, result.members_handed_on) == (2, 3)
        assert len(result.refused) == 1 and "Rate Exceeded" in result.refused[0]
        pages = [set(e["connectionIds"]) for e in split.events]
        assert sum(len(p) for p in pages) == 5 and len(set().union(*pages)) == 5  # disjoint
        counts = [len(got(ws)) for ws in clients]
        assert sorted(counts) == [0, 0, 1, 1, 1, 1, 1]  # the refused page's two got nothing
        assert all(
            e["endpoint"] == gw.management_url and e["payload"] == "hello" for e in split.events
        )


def test_a_malformed_event_never_raises() -> None:
    """The fan-out function answers a broken event with its error instead of raising (no retry)."""
    with LocalGateway(port=0, table_name=unique_table()) as gw:
        broadcaster = Broadcaster(gw.management_client(), gw.store())
        answer = handle_fanout_event({"payload": "x"}, broadcaster)
        assert answer["delivered"] == 0 and "connectionIds" in answer["error"]


def test_a_duplicate_event_posts_its_page_no_second_time() -> None:
    """Lambda's queue may deliver an event twice: each page's event carries its own id, and a
    second delivery of it is skipped, while another broadcast's pages are posted as usual."""
    with LocalGateway(port=0, table_name=unique_table()) as gw:
        clients = members(gw, "r", 5)
        split = Split(gw)
        split.fanout.broadcast("r", "first")
        page_ids = [e["pageId"] for e in split.events]
        assert len(page_ids) == 2 and len(set(page_ids)) == 2
        again = [handle_fanout_event(e, split.broadcaster) for e in split.events]  # redelivered
        assert again == [{"delivered": 0, "gone": 0, "failed": 0, "duplicate": True}] * 2
        split.fanout.broadcast("r", "second")  # new ids: posted
        assert len({e["pageId"] for e in split.events}) == 4
        assert [got(ws) for ws in clients] == [["first", "second"]] * 5
        assert len(split.broadcaster.store.all_connections()) == 5  # the claims are no connections
