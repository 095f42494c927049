"""Exercises of ``04_broadcaster``: the fan-out of your app and its 410 clean-up.

- ``q1``: ``remove_stale(deps, connection_id)``: delete the row of a connection that answered
  410, with a *conditional* delete: only when ``connectedAt`` is older than
  ``STALE_GRACE_SECONDS`` (a ``$connect`` still running answers 410 too, and its row is
  already written). True when a row was deleted.
- ``q2``: ``broadcast(deps, room, frame)``: post ``frame`` to every member of ``room``; a
  member that answers 410 (``GoneException``) goes through ``remove_stale``; at most
  ``WORKERS`` (16) posts in flight at once, and more than one. Returns how many were delivered.

The checker of ``q2`` runs against a local gateway, whose ``@connections`` API answers 410
as AWS does (moto's never does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from wsrelay.exercises import _fixtures
from wsrelay.exercises.core import Exercise, Incorrect, call
from wsrelay.workbook_app import model_module

__all__ = ["CROWD", "FRAME", "q1", "q2"]

FRAME = '{"type":"message","room":"exercise","sender":"checker","message":"hello, room"}'
#: Stale rows in a room of their own, to see how many posts the answer has in flight.
CROWD = 40
#: The delay added to each post in that room (a network round trip, as in Lambda).
LATENCY = 0.1


def _check_stale(answer: Callable[..., object]) -> None:
    with _fixtures.moto_store("nb04-stale") as (_, store):
        old, young, gone = _fixtures.ids(3, seed=41)
        now_ms = int(_fixtures.FIXED_CLOCK * 1000)
        store.add(old, "lobby", "old", connected_at=now_ms - 3_600_000)  # an hour ago
        store.add(young, "lobby", "young", connected_at=now_ms - 5_000)  # 5 s ago
        deps = _fixtures.app_deps(store, now=_fixtures.FIXED_CLOCK)
        calls = _fixtures.record_calls(store.client)
        removed_old = call(answer, deps, old, what="remove_stale(deps, <connected 1 h ago>)")
        removed_young = call(answer, deps, young, what="remove_stale(deps, <connected 5 s ago>)")
        removed_gone = call(answer, deps, gone, what="remove_stale(deps, <no row>)")
        rows = {c.connection_id for c in store.all_connections()}
    deletes = [params for name, params in calls if name == "DeleteItem"]
    if old in rows:
        raise Incorrect(
            "the row of a connection that connected an hour ago and answered 410 is still "
            "there: delete it (deps.dynamodb.delete_item)"
        )
    if young not in rows:
        raise Incorrect(
            "it deleted the row of a connection that connected 5 s ago. Its $connect may "
            "still be running (API Gateway answers 410 until it returns), so it is new, not "
            f"stale: delete only when connectedAt is more than STALE_GRACE_SECONDS "
            f"({model_module().STALE_GRACE_SECONDS} s) old"
        )
    if not deletes or not all(params.get("ConditionExpression") for params in deletes):
        raise Incorrect(
            "it reads the row, then deletes it: between the two a new $connect can write the "
            "row again. Put the age check on the delete itself (ConditionExpression), which "
            "DynamoDB applies in one step"
        )
    if (removed_old, removed_young, removed_gone) != (True, False, False):
        raise Incorrect(
            f"it returned {removed_old!r} (1 h old), {removed_young!r} (5 s old) and "
            f"{removed_gone!r} (no row): return True only when a row was deleted (a failed "
            "condition raises ConditionalCheckFailedException: catch it, return False)"
        )


class _InFlight:
    """Counts a client's requests in flight (a botocore hook that also adds a delay)."""

    def __init__(self, client: Any, latency: float) -> None:
        self.now = 0
        self.most = 0
        self._lock = threading.Lock()
        self._latency = latency
        client.meta.events.register("before-send", self._sent)

    def _sent(self, **_: Any) -> None:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        time.sleep(self._latency)
        with self._lock:
            self.now -= 1


def _check_broadcast(answer: Callable[..., object]) -> None:
    with _fixtures.running_gateway("nb04") as gateway:
        store = gateway.store()
        live = {name: _fixtures.connect(gateway, "exercise", name) for name in ("ada", "bob", "cy")}
        elsewhere = _fixtures.connect(gateway, "elsewhere", "dee")
        try:
            old, young = _fixtures.ids(2, seed=404)
            now_ms = int(time.time() * 1000)
            store.add(old, "exercise", "ghost", connected_at=now_ms - 3_600_000)
            store.add(young, "exercise", "newcomer", connected_at=now_ms - 5_000)
            crowd = _fixtures.ids(CROWD, seed=405)
            store.add_many(
                ((cid, "crowd", f"ghost-{n}") for n, cid in enumerate(crowd)),
                connected_at=now_ms - 3_600_000,
            )
            deps = _fixtures.app_deps(store, gateway.management_client())
            where = 'broadcast(deps, "exercise", frame)'
            delivered = call(answer, deps, "exercise", FRAME, what=where)
            received = {name: _fixtures.receive(ws, 0.3, at_least=1) for name, ws in live.items()}
            stray = _fixtures.receive(elsewhere, 0.2)
            rows = {c.connection_id for c in store.all_connections()}
            slow = gateway.management_client()
            flight = _InFlight(slow, LATENCY)
            deps = _fixtures.app_deps(store, slow)
            call(answer, deps, "crowd", FRAME, what='broadcast(deps, "crowd", frame)')
        finally:
            for ws in [*live.values(), elsewhere]:
                ws.close()
    _judge(where, delivered, received, stray, rows, old, young, flight.most)


def _judge(
    where: str,
    delivered: object,
    received: dict[str, list[dict[str, Any]]],
    stray: list[dict[str, Any]],
    rows: set[str],
    old: str,
    young: str,
    most: int,
) -> None:
    import json

    for name, frames in received.items():
        if not frames:
            raise Incorrect(
                f"after {where}, {name} (a live member of the room) received nothing: post to "
                "every member of room_member_ids(deps, room), and do not stop at an error"
            )
        if len(frames) > 1:
            raise Incorrect(f"{name} received the frame {len(frames)} times: post once each")
        if frames[0] != json.loads(FRAME):
            raise Incorrect(f"{name} received {frames[0]!r}, not the frame")
    if stray:
        raise Incorrect("a client in another room received the frame: post to the room only")
    if young not in rows:
        raise Incorrect(
            "the row of a connection that connected 5 s ago was deleted when it answered 410: "
            "its $connect may still be running. Clean up with remove_stale(deps, "
            "connection_id), which deletes only rows older than STALE_GRACE_SECONDS"
        )
    if old in rows:
        raise Incorrect(
            "the stale connection's row is still in the table: when a post raises "
            "deps.management.exceptions.GoneException (410), call remove_stale(deps, "
            "connection_id). If you also catch ClientError, catch GoneException first: it "
            "is a ClientError"
        )
    if delivered != 3:
        raise Incorrect(f"{where} returned {delivered!r}: return how many got it (3)")
    if most <= 1:
        raise Incorrect(
            f"it posted to the {CROWD} members of a room one after another: each post waits "
            "for a network round trip, so post concurrently, WORKERS at a time "
            "(concurrent.futures.ThreadPoolExecutor)"
        )
    if most > model_module().WORKERS:
        raise Incorrect(
            f"it had {most} posts in flight at once (like the JavaScript sample's Promise.all, "
            f"one per member): bound it to WORKERS ({model_module().WORKERS}), or a big room "
            "means as many threads and connections"
        )


q1 = Exercise(
    title="remove_stale(deps, connection_id)",
    checker=_check_stale,
    hints=(
        "A 410 also comes from a connection whose `$connect` is still running (and has "
        "already written its row). Delete only rows older than the grace, and let DynamoDB "
        "check the age as it deletes.",
        "`deps.dynamodb.delete_item(TableName=…, Key=…, ConditionExpression=…, "
        "ExpressionAttributeValues=…)`; `connectedAt` is epoch milliseconds, the grace "
        "`STALE_GRACE_SECONDS` is seconds; a failed condition raises "
        "`deps.dynamodb.exceptions.ConditionalCheckFailedException`.",
        "Shape: the cutoff, in milliseconds, is the grace before `deps.now()`; `try:` the "
        "delete with a condition that `connectedAt` is before the cutoff; `except` that "
        "exception: `return False`; then `return True`.",
    ),
    reference=model_module().remove_stale,
    in_app=True,
)

q2 = Exercise(
    title="broadcast(deps, room, frame)",
    checker=_check_broadcast,
    hints=(
        "One post per member of the room. A member that answers 410 has gone without a "
        "`$disconnect`: clean its row up (the careful way, q1) and go on. Posts are network "
        "round trips: overlap them, a bounded number at a time.",
        "`room_member_ids(deps, room)`; `deps.management.post_to_connection(ConnectionId=…, "
        "Data=frame.encode())`; `except deps.management.exceptions.GoneException:` then "
        "`remove_stale(deps, connection_id)`; `concurrent.futures.ThreadPoolExecutor("
        "max_workers=WORKERS)` and its `map`.",
        "Shape: an inner `def post(connection_id)` that returns True when delivered and False "
        "after the clean-up; `with ThreadPoolExecutor(…) as pool: return sum(pool.map(post, "
        "ids))`.",
    ),
    reference=model_module().broadcast,
    in_app=True,
)
