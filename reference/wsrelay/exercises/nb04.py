"""Exercise of ``04_broadcaster``: a broadcast that cleans up stale connections.

Write ``broadcast(management, store, room, payload)``: post ``payload`` to every member of
``room`` (read with ``store.room_members(room)``) through ``management.post_to_connection``.
A member that answers 410 (``management.exceptions.GoneException``) has gone without a
``$disconnect``: delete *its* row with ``store.remove`` and carry on with the others.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from wsrelay.broadcast import Broadcaster, BroadcastResult
from wsrelay.exercises import _fixtures
from wsrelay.exercises.core import Exercise, Incorrect, call
from wsrelay.store import ConnectionStore

__all__ = ["PAYLOAD", "broadcast", "q1"]

PAYLOAD = '{"type":"message","room":"exercise","sender":"checker","message":"hello, room"}'


def broadcast(management: Any, store: ConnectionStore, room: str, payload: str) -> BroadcastResult:
    """Reference: ``Broadcaster.broadcast`` (shown below), which also posts concurrently."""
    return Broadcaster(management, store).broadcast(room, payload)


def _check(answer: Callable[[Any, ConnectionStore, str, str], object]) -> None:
    with _fixtures.running_gateway("nb04") as gateway:
        store = gateway.store()
        live = {name: _fixtures.connect(gateway, "exercise", name) for name in ("ada", "bob", "cy")}
        elsewhere = _fixtures.connect(gateway, "elsewhere", "dee")
        try:
            (ghost,) = _fixtures.ids(1, seed=404)
            # Connected an hour ago: old enough for any 410 clean-up to delete it.
            store.add(ghost, "exercise", "ghost", connected_at=int(time.time() * 1000) - 3_600_000)
            rows_before = {c.connection_id: c.user_name for c in store.all_connections()}
            where = 'broadcast(management, store, "exercise", payload)'
            call(answer, gateway.management_client(), store, "exercise", PAYLOAD, what=where)
            received = {name: _fixtures.receive(ws, 0.3, at_least=1) for name, ws in live.items()}
            stray = _fixtures.receive(elsewhere, 0.2)
            rows_after = {c.connection_id: c.user_name for c in store.all_connections()}
        finally:
            for ws in [*live.values(), elsewhere]:
                ws.close()
    _judge(where, received, stray, ghost, rows_before, rows_after)


def _judge(
    where: str,
    received: dict[str, list[dict[str, Any]]],
    stray: list[dict[str, Any]],
    ghost: str,
    rows_before: dict[str, str],
    rows_after: dict[str, str],
) -> None:
    for name, frames in received.items():
        if not frames:
            raise Incorrect(
                f"after {where}, {name} (a live member of the room) received nothing: post to "
                f"every member, and do not stop at the first error"
            )
        if len(frames) > 1:
            raise Incorrect(f"{name} received the payload {len(frames)} times: post once each")
        if frames[0] != _parsed(PAYLOAD):
            raise Incorrect(f"{name} received {frames[0]!r}, not the payload")
    if stray:
        raise Incorrect(
            "a client in another room received the payload: read only the room's members "
            "(store.room_members(room))"
        )
    lost = sorted(
        name for cid, name in rows_before.items() if cid != ghost and cid not in rows_after
    )
    if lost:
        raise Incorrect(
            f"the rows of live connections ({', '.join(lost)}) were deleted: remove only the "
            f"connection whose post answered 410"
        )
    if ghost in rows_after:
        raise Incorrect(
            "the stale connection's row is still in the table: when a post raises "
            "management.exceptions.GoneException (410), call store.remove(connection_id). "
            "If you also catch ClientError, catch GoneException first: it is a ClientError"
        )


def _parsed(text: str) -> dict[str, Any]:
    import json

    value: dict[str, Any] = json.loads(text)
    return value


q1 = Exercise(
    title="broadcast(management, store, room, payload)",
    checker=_check,
    hint=(
        "Loop over `store.room_members(room)`; for each member call "
        "`management.post_to_connection(ConnectionId=member.connection_id, Data=payload)` "
        "inside `try`, and in `except management.exceptions.GoneException:` call "
        "`store.remove(member.connection_id)` — the member's id, not anyone else's."
    ),
    reference=broadcast,
    sources=(Broadcaster.send, Broadcaster.broadcast, Broadcaster._post_until_done),
    note=(
        "The reference is `wsrelay.broadcast.Broadcaster`; `send` holds the 410 clean-up, "
        "`broadcast` queues the room's ids for up to `max_workers` threads, each running "
        "`_post_until_done`:"
    ),
)
