"""Exercises of ``02_connections-table``: the two table reads and writes of your app.

- ``q1``: ``move_connection(deps, connection_id, room)``: a conditional update that moves a
  connection's row to ``room`` and returns True, or returns False (creating nothing) when the
  row is gone.
- ``q2``: ``room_member_ids(deps, room, page_size=None)``: the connection ids of every live
  member of ``room``, read with a Query of the ``byRoom`` index, ``Limit=page_size`` items a
  request, following ``LastEvaluatedKey``; rows whose ``expiresAt`` has passed are left out
  (TTL deletes them typically within two days). No Scan.

Both are functions of the learner's ``chat_app/lambda_function.py`` (``in_app``); the model
answers are that file's, in ``wsrelay.exercises.chat_app``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

from wsrelay.exercises import _fixtures
from wsrelay.exercises.core import Exercise, Incorrect, call
from wsrelay.workbook_app import model_module

__all__ = ["EXPIRED", "PAGE_SIZE", "ROOMS", "q1", "q2"]

#: The checker's table: room → live members. The room asked for spans several pages.
ROOMS = {"lobby": 23, "garden": 17, "attic": 11}
#: Rows of the lobby whose connection ended hours ago (expiresAt passed; TTL not yet run).
EXPIRED = 3
PAGE_SIZE = 5


def _fill(store: Any) -> tuple[dict[str, list[str]], list[str]]:
    members: dict[str, list[str]] = {}
    for seed, (room, count) in enumerate(ROOMS.items()):
        members[room] = _fixtures.ids(count, seed=seed)
        store.add_many((cid, room, f"{room}-{n}") for n, cid in enumerate(members[room]))
    expired = _fixtures.ids(EXPIRED, seed=99)
    three_hours_ago = int((_fixtures.FIXED_CLOCK - 3 * 3600) * 1000)
    store.add_many(
        ((cid, "lobby", f"gone-{n}") for n, cid in enumerate(expired)),
        connected_at=three_hours_ago,
    )
    return members, expired


def _check_room(answer: Callable[..., object]) -> None:
    with _fixtures.moto_store("nb02") as (_, store):
        members, expired = _fill(store)
        deps = _fixtures.app_deps(store, now=_fixtures.FIXED_CLOCK)
        calls = _fixtures.record_calls(store.client)
        shown = f'room_member_ids(deps, "lobby", page_size={PAGE_SIZE})'
        got = call(answer, deps, "lobby", PAGE_SIZE, what=shown)
        _judge_room(shown, got, members, expired, list(calls))
        calls.clear()
        unpaged = 'room_member_ids(deps, "lobby") (no page_size)'
        try:
            whole = call(answer, deps, "lobby", what=unpaged)
        except Incorrect as exc:
            if "Limit" in str(exc):
                raise Incorrect(f"{exc}: send Limit only when a page_size is given") from None
            raise
    if not isinstance(whole, list | tuple) or set(whole) != set(cast(list[str], got)):
        raise Incorrect(
            f"{unpaged} returned something else than with one: without a page_size, read "
            "the whole room (DynamoDB's pages are then 1 MB)"
        )
    if any("Limit" in params for name, params in calls if name == "Query"):
        raise Incorrect("without a page_size, send no Limit")


def _judge_room(
    shown: str,
    got: object,
    members: dict[str, list[str]],
    expired: list[str],
    calls: _fixtures.Calls,
) -> None:
    operations = [name for name, _ in calls]
    if "Scan" in operations:
        raise Incorrect(
            "it sent a Scan, which reads every row of every room: Query the byRoom index "
            "instead (IndexName=ROOM_INDEX, KeyConditionExpression='roomId = :room')"
        )
    queries = [params for name, params in calls if name == "Query"]
    if not queries:
        raise Incorrect("it sent no Query: read the room with deps.dynamodb.query(...)")
    if any(params.get("IndexName") != "byRoom" for params in queries):
        raise Incorrect(
            "a Query did not name the index: pass IndexName=ROOM_INDEX ('byRoom'); the "
            "table's own key is connectionId, so only the index can find a room"
        )
    if any(params.get("Limit") != PAGE_SIZE for params in queries):
        raise Incorrect(f"pass Limit=page_size, so that each request reads at most {PAGE_SIZE}")
    if not isinstance(got, list | tuple | set) or not all(isinstance(i, str) for i in got):
        raise Incorrect(
            f"{shown} returned {type(got).__name__}: return a list of connection ids (strings)"
        )
    ids = list(got)
    live = members["lobby"]
    others = {cid for room, cids in members.items() if room != "lobby" for cid in cids}
    if others & set(ids):
        raise Incorrect("it returned members of other rooms: the key condition is roomId = :room")
    if len(ids) != len(set(ids)):
        raise Incorrect("it returned some ids twice: send each page's ExclusiveStartKey once")
    stale = set(expired) & set(ids)
    if set(ids) - set(expired) == set(live) and stale:
        raise Incorrect(
            f"it returned {len(stale)} rows whose expiresAt has passed. TTL deletes an expired "
            "row typically within two days, and until then a Query still returns it: "
            "add FilterExpression='expiresAt > :now', with ':now' from deps.now() in seconds"
        )
    pages = math.ceil((len(live) + len(expired)) / PAGE_SIZE)
    if set(ids) != set(live):
        raise Incorrect(
            f"it returned {len(ids)} of the room's {len(live)} live members in {len(queries)} "
            f"request(s); with Limit={PAGE_SIZE} that takes {pages}: while a response has "
            "LastEvaluatedKey, send the next Query with ExclusiveStartKey set to it"
        )


def _check_move(answer: Callable[..., object]) -> None:
    with _fixtures.moto_store("nb02-move") as (_, store):
        ada, bob, ghost = _fixtures.ids(3, seed=22)
        store.add(ada, "lobby", "ada")
        store.add(bob, "lobby", "bob")
        before = store.get(ada)
        deps = _fixtures.app_deps(store, now=_fixtures.FIXED_CLOCK)
        calls = _fixtures.record_calls(store.client)
        shown = 'move_connection(deps, ada, "garden")'
        moved = call(answer, deps, ada, "garden", what=shown)
        after = store.get(ada)
        missing = call(answer, deps, ghost, "garden", what='move_connection(deps, gone, "garden")')
        made = store.get(ghost)
        bob_row = store.get(bob)
    writes = [(name, params) for name, params in calls if name in {"UpdateItem", "PutItem"}]
    if after is None or after.room != "garden":
        raise Incorrect(f"after {shown} Ada's row is {after}: set her roomId to 'garden'")
    assert before is not None
    if (after.user_name, after.connected_at, after.expires_at) != (
        before.user_name,
        before.connected_at,
        before.expires_at,
    ):
        raise Incorrect(
            f"it replaced Ada's row ({after}): update only roomId, with update_item and "
            "UpdateExpression='SET roomId = :room'; her name and times must stay"
        )
    if bob_row is None or bob_row.room != "lobby":
        raise Incorrect("it changed Bob's row too: the Key is the connection's own id")
    if moved is not True:
        raise Incorrect(f"{shown} returned {moved!r}: return True when the row was moved")
    if made is not None:
        raise Incorrect(
            "it created a row for a connection that has gone, which would then sit in the "
            "room forever: make the update conditional, "
            "ConditionExpression='attribute_exists(connectionId)'"
        )
    if missing is not False:
        raise Incorrect(
            f"for a connection with no row it returned {missing!r}: catch "
            "deps.dynamodb.exceptions.ConditionalCheckFailedException and return False"
        )
    if not all(params.get("ConditionExpression") for _, params in writes):
        raise Incorrect(
            "it checks for the row with a read, then writes: between the two a $disconnect "
            "may delete the row, and the write brings it back. Put the check on the write "
            "itself (ConditionExpression), which DynamoDB applies in one step"
        )


q2 = Exercise(
    title="room_member_ids(deps, room, page_size=None)",
    checker=_check_room,
    hints=(
        "Ask the index, not the table: a Query of `byRoom` for the room's key, and ask "
        "again while DynamoDB says there is more. Rows past their `expiresAt` can still be "
        "there: TTL deletes them typically within two days of expiry.",
        "`deps.dynamodb.query(TableName=…, IndexName=…, KeyConditionExpression=…, "
        "FilterExpression=…, ExpressionAttributeValues=…, Limit=…)`. A page with more after it "
        "carries `LastEvaluatedKey`; the next request sends it back as `ExclusiveStartKey`. "
        'Values are typed: `{"S": room}`, `{"N": str(int(deps.now()))}`.',
        "Shape: build the request once (add `Limit` only when `page_size` is given); loop: "
        'query, collect `item["connectionId"]["S"]` from `page["Items"]`, return when the '
        "page has no `LastEvaluatedKey`, else set `ExclusiveStartKey` and go round again.",
    ),
    reference=model_module().room_member_ids,
    in_app=True,
)

q1 = Exercise(
    title="move_connection(deps, connection_id, room)",
    checker=_check_move,
    hints=(
        "Change one attribute of an item that exists, and let DynamoDB refuse when it does "
        "not: a conditional write, checked and applied in one step.",
        "`deps.dynamodb.update_item(TableName=…, Key=…, UpdateExpression=…, "
        "ConditionExpression=…, ExpressionAttributeValues=…)`, where the update expression "
        "sets one attribute (`SET roomId = :room`) and the condition function is "
        "`attribute_exists(path)`; a failed condition raises "
        "`deps.dynamodb.exceptions.ConditionalCheckFailedException`.",
        "Shape: `try:` the update; `except` that exception: `return False`; then `return True`.",
    ),
    reference=model_module().move_connection,
    in_app=True,
)
