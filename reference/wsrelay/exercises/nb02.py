"""Exercise of ``02_connections-table``: read one room through the index, page by page.

Write ``room_member_ids(client, table_name, room, page_size)``: the connection ids of every
member of ``room``, read with a Query of the ``byRoom`` index, at most ``page_size`` items
per request (``Limit``), following ``LastEvaluatedKey`` until the room is read. No Scan.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from wsrelay.exercises import _fixtures
from wsrelay.exercises.core import Exercise, Incorrect, call
from wsrelay.store import ConnectionStore

__all__ = ["ROOMS", "q1", "room_member_ids"]

#: The checker's table: room → members. The room asked for spans several pages.
ROOMS = {"lobby": 23, "garden": 17, "attic": 11}
PAGE_SIZE = 5


def room_member_ids(client: Any, table_name: str, room: str, page_size: int) -> list[str]:
    """Reference: the room's ids, from ``ConnectionStore``'s paginated Query (shown below)."""
    store = ConnectionStore(client, table_name)
    return [member.connection_id for member in store.room_members(room, page_size=page_size)]


def _check(answer: Callable[[Any, str, str, int], object]) -> None:
    with _fixtures.moto_store("nb02") as (_, store):
        members: dict[str, list[str]] = {}
        for seed, (room, count) in enumerate(ROOMS.items()):
            members[room] = _fixtures.ids(count, seed=seed)
            store.add_many((cid, room, f"{room}-{n}") for n, cid in enumerate(members[room]))
        calls: list[tuple[str, dict[str, Any]]] = []

        def record(params: dict[str, Any], model: Any, **_: Any) -> None:
            calls.append((model.name, dict(params)))

        store.client.meta.events.register("provide-client-params.dynamodb", record)
        shown = f'room_member_ids(client, "{store.table_name}", "lobby", {PAGE_SIZE})'
        got = call(answer, store.client, store.table_name, "lobby", PAGE_SIZE, what=shown)
    _judge(got, members, calls)


def _judge(
    got: object, members: dict[str, list[str]], calls: list[tuple[str, dict[str, Any]]]
) -> None:
    operations = [name for name, _ in calls]
    if "Scan" in operations:
        raise Incorrect(
            "it sent a Scan, which reads every row of every room: Query the byRoom index "
            "instead (IndexName='byRoom', KeyConditionExpression='roomId = :room')"
        )
    queries = [params for name, params in calls if name == "Query"]
    if not queries:
        raise Incorrect("it sent no Query: read the room with client.query(...)")
    if any(params.get("IndexName") != "byRoom" for params in queries):
        raise Incorrect(
            "a Query did not name the index: pass IndexName='byRoom' (the table's own key is "
            "connectionId, so only the index can find a room)"
        )
    if any(params.get("Limit") != PAGE_SIZE for params in queries):
        raise Incorrect(
            f"pass Limit=page_size, so that each request reads at most {PAGE_SIZE} items"
        )
    if not isinstance(got, list | tuple | set) or not all(isinstance(i, str) for i in got):
        raise Incorrect(f"return a list of connection ids (strings), not {type(got).__name__}")
    ids = list(got)
    expected = members["lobby"]
    others = {cid for room, cids in members.items() if room != "lobby" for cid in cids}
    if others & set(ids):
        raise Incorrect("it returned members of other rooms: the key condition is roomId = :room")
    if len(ids) != len(set(ids)):
        raise Incorrect("it returned some ids twice: send each page's ExclusiveStartKey once")
    pages = math.ceil(len(expected) / PAGE_SIZE)
    if set(ids) != set(expected):
        raise Incorrect(
            f"it returned {len(ids)} of the room's {len(expected)} members in {len(queries)} "
            f"request(s); with {PAGE_SIZE} items a page that takes {pages}: while a response "
            f"has LastEvaluatedKey, send the next Query with ExclusiveStartKey set to it"
        )


q1 = Exercise(
    title="room_member_ids(client, table_name, room, page_size)",
    checker=_check,
    hint=(
        "Call `client.query(TableName=table_name, IndexName='byRoom', "
        "KeyConditionExpression='roomId = :room', ExpressionAttributeValues={':room': "
        "{'S': room}}, Limit=page_size)` in a loop. Collect `item['connectionId']['S']` from "
        "each page's `Items`; if the page has a `LastEvaluatedKey`, pass it as "
        "`ExclusiveStartKey` to the next call, otherwise stop."
    ),
    reference=room_member_ids,
    sources=(ConnectionStore.room_members, ConnectionStore.room_pages, ConnectionStore._query_room),
    note="`ConnectionStore` does the paginated Query; here is the code that runs:",
)
