"""``wsrelay.store``: the connections table, run against moto and against DynamoDB Local.

Every test that takes the ``store`` fixture runs twice: once on the session's moto server and
once on DynamoDB Local (Amazon's emulator, from ``npm ci``). moto reports a consumed capacity
of 1.0 for any read, so the cost tests that need real numbers run on DynamoDB Local only.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from fake_connections import FakeConnectionsAPI

from wsrelay.broadcast import Broadcaster
from wsrelay.store import (
    CONNECTION_TTL_SECONDS,
    PAGE_CLAIM_PREFIX,
    ROOM_INDEX,
    Connection,
    ConnectionStore,
    MessageCount,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

pytestmark = pytest.mark.integration

# Row times lie in the future on purpose: DynamoDB Local really deletes items whose TTL
# attribute (expiresAt) has passed, within seconds, so a fixed past clock makes rows vanish
# mid-test. moto never deletes them.
NOW = 4_102_444_800.123  # 2100-01-01 00:00:00.123 UTC
NOW_MS = 4_102_444_800_123
CONNECTED_AT = NOW_MS + 60_553  # a minute later, for rows given an explicit connection time


def _dynamodb(endpoint: str) -> DynamoDBClient:
    client: DynamoDBClient = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        config=Config(max_pool_connections=16, retries={"mode": "standard"}),
    )
    return client


@pytest.fixture(
    params=[
        pytest.param("moto"),
        pytest.param("dynamodb-local", marks=pytest.mark.dynamodb_local),
    ]
)
def dynamodb(request: pytest.FixtureRequest) -> Iterator[DynamoDBClient]:
    """A DynamoDB client for moto, then for DynamoDB Local (the parametrized backend)."""
    fixture = "moto_endpoint" if request.param == "moto" else "dynamodb_local_endpoint"
    client = _dynamodb(request.getfixturevalue(fixture))
    yield client
    client.close()


def _new_store(client: DynamoDBClient) -> ConnectionStore:
    store = ConnectionStore(client, f"connections-{uuid.uuid4().hex[:12]}", clock=lambda: NOW)
    store.create_table()
    return store


@pytest.fixture
def store(dynamodb: DynamoDBClient) -> Iterator[ConnectionStore]:
    """A freshly created, uniquely named connections table on the backend under test."""
    store = _new_store(dynamodb)
    yield store
    dynamodb.delete_table(TableName=store.table_name)


def _fill(
    store: ConnectionStore, rooms: dict[str, int], *, name_length: int = 8, padding: int = 0
) -> dict[str, list[str]]:
    """Write ``rooms`` (room → member count) with batched puts; return room → connection ids.

    ``padding`` adds an attribute of that many bytes to each row (a profile, say) that the
    index does not copy: it makes a Scan's cost visible, as in a real app's table.
    """
    members: dict[str, list[str]] = {}
    requests: list[dict[str, Any]] = []
    for room, count in rooms.items():
        for n in range(count):
            connection_id = f"{room}-{n:05d}-{uuid.uuid4().hex[:6]}"
            members.setdefault(room, []).append(connection_id)
            item: dict[str, Any] = {
                "connectionId": {"S": connection_id},
                "roomId": {"S": room},
                "userName": {"S": f"u{n:0{name_length - 1}d}"},
                "connectedAt": {"N": str(NOW_MS)},
                "expiresAt": {"N": str(NOW_MS // 1000 + CONNECTION_TTL_SECONDS)},
            }
            if padding:
                item["profile"] = {"S": "p" * padding}
            requests.append({"PutRequest": {"Item": item}})
    for start in range(0, len(requests), 25):  # DynamoDB's batch limit (moto allows more)
        batch = {store.table_name: requests[start : start + 25]}
        while batch:
            response = store.client.batch_write_item(RequestItems=batch)
            batch = response.get("UnprocessedItems", {})
    return members


@dataclass
class Call:
    """One DynamoDB request seen by the recorder."""

    operation: str
    index: str | None
    count: int | None = None
    scanned: int | None = None
    capacity: float | None = None


@dataclass
class Recorder:
    """Records each DynamoDB call a client makes, through botocore's event hooks."""

    calls: list[Call] = field(default_factory=list)

    def reads(self) -> list[Call]:
        return [c for c in self.calls if c.operation in {"Query", "Scan"}]


@pytest.fixture
def recorder(store: ConnectionStore) -> Iterator[Recorder]:
    """Record the store client's calls, asking Query and Scan for their consumed capacity."""
    recorder = Recorder()
    events = store.client.meta.events

    def before(params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in {"Query", "Scan"}:
            params["ReturnConsumedCapacity"] = "TOTAL"
        recorder.calls.append(Call(model.name, params.get("IndexName")))

    def after(parsed: dict[str, Any], model: Any, **_: Any) -> None:
        call = recorder.calls[-1]
        assert call.operation == model.name
        call.count = parsed.get("Count")
        call.scanned = parsed.get("ScannedCount")
        if model.name in {"Query", "Scan"}:  # moto adds a list of capacities to batch writes
            call.capacity = parsed.get("ConsumedCapacity", {}).get("CapacityUnits")

    events.register("before-parameter-build.dynamodb", before, unique_id="test-recorder-before")
    events.register("after-call.dynamodb", after, unique_id="test-recorder-after")
    yield recorder
    events.unregister("before-parameter-build.dynamodb", unique_id="test-recorder-before")
    events.unregister("after-call.dynamodb", unique_id="test-recorder-after")


# --- the table -------------------------------------------------------------------------------


def test_create_table_has_key_room_index_and_ttl(store: ConnectionStore) -> None:
    """The table is keyed by connectionId, has the byRoom index on roomId and TTL on expiresAt."""
    table = store.client.describe_table(TableName=store.table_name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [{"AttributeName": "connectionId", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    indexes = {i["IndexName"]: i for i in table["GlobalSecondaryIndexes"]}
    assert set(indexes) == {ROOM_INDEX} == {"byRoom"}
    assert indexes["byRoom"]["KeySchema"] == [{"AttributeName": "roomId", "KeyType": "HASH"}]
    projection = indexes["byRoom"]["Projection"]
    assert projection == {"ProjectionType": "ALL"}
    ttl = store.client.describe_time_to_live(TableName=store.table_name)
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expiresAt"


def test_create_table_twice_is_fine(store: ConnectionStore) -> None:
    """Creating an existing table again neither fails nor loses its rows."""
    store.add("c-1", "lobby", "alice")
    store.create_table()
    ConnectionStore(store.client, store.table_name).create_table()
    assert store.get("c-1") is not None
    pages = store.client.get_paginator("list_tables").paginate()
    tables = [name for page in pages for name in page["TableNames"]]
    assert tables.count(store.table_name) == 1


# --- rows ------------------------------------------------------------------------------------


def test_add_then_get(store: ConnectionStore) -> None:
    """A stored connection reads back with every field; expiresAt is connect + 7200 s."""
    row = store.add("Mg_ugfpqPHcCIVA=", "lobby", "alice", connected_at=CONNECTED_AT)
    assert row == Connection(
        connection_id="Mg_ugfpqPHcCIVA=",
        room="lobby",
        user_name="alice",
        connected_at=CONNECTED_AT,
        expires_at=CONNECTED_AT // 1000 + 7200,
    )
    assert CONNECTION_TTL_SECONDS == 7200
    assert store.get("Mg_ugfpqPHcCIVA=") == row


def test_add_stores_numbers_as_dynamodb_numbers(store: ConnectionStore) -> None:
    """connectedAt and expiresAt are N attributes (TTL ignores anything but a number)."""
    store.add("c-1", "lobby", "alice", connected_at=CONNECTED_AT)
    item = store.client.get_item(TableName=store.table_name, Key={"connectionId": {"S": "c-1"}})[
        "Item"
    ]
    assert item == {
        "connectionId": {"S": "c-1"},
        "roomId": {"S": "lobby"},
        "userName": {"S": "alice"},
        "connectedAt": {"N": str(CONNECTED_AT)},
        "expiresAt": {"N": str(4_102_444_860 + 7200)},
    }


def test_add_uses_the_clock_by_default(store: ConnectionStore) -> None:
    """Without connected_at the injected clock gives the time, in ms, and the expiry, in s."""
    row = store.add("c-1", "lobby", "alice")
    assert row.connected_at == NOW_MS
    assert row.expires_at == 4_102_444_800 + 7200


def test_get_missing_is_none(store: ConnectionStore) -> None:
    """Reading a connection that was never stored gives None."""
    assert store.get("nobody-here=") is None


def test_remove(store: ConnectionStore) -> None:
    """remove deletes only that row and says whether there was one."""
    store.add("c-1", "lobby", "alice")
    store.add("c-2", "lobby", "bob")
    assert store.remove("c-1") is True
    assert store.get("c-1") is None
    assert store.remove("c-1") is False
    assert [c.connection_id for c in store.all_connections()] == ["c-2"]


def test_move(store: ConnectionStore) -> None:
    """move changes the room, keeps the rest of the row and the index follows."""
    before = store.add("c-1", "lobby", "alice")
    moved = store.move("c-1", "kitchen")
    assert moved == Connection("c-1", "kitchen", "alice", before.connected_at, before.expires_at)
    assert store.get("c-1") == moved
    assert list(store.room_members("lobby")) == []
    assert [m.connection_id for m in store.room_members("kitchen")] == ["c-1"]


def test_move_missing_returns_none_and_creates_nothing(store: ConnectionStore) -> None:
    """Moving a connection that is gone returns None and leaves no half-made row behind."""
    assert store.move("gone-connection", "kitchen") is None
    assert store.get("gone-connection") is None
    assert store.all_connections() == []
    assert list(store.room_members("kitchen")) == []


def test_all_connections_sorted_by_room_then_id(store: ConnectionStore) -> None:
    """all_connections lists every row sorted by room, then connection id."""
    for cid, room in [("c-3", "b"), ("c-1", "b"), ("c-2", "a")]:
        store.add(cid, room, "x")
    assert [(c.room, c.connection_id) for c in store.all_connections()] == [
        ("a", "c-2"),
        ("b", "c-1"),
        ("b", "c-3"),
    ]


# --- rooms -----------------------------------------------------------------------------------


def test_room_members_paginated(store: ConnectionStore, recorder: Recorder) -> None:
    """50 members read 7 at a time come back exactly once each, from a paginated Query."""
    members = _fill(store, {"lobby": 50, "other": 9})["lobby"]
    recorder.calls.clear()
    pages = list(store.room_pages("lobby", page_size=7))
    assert all(len(page) <= 7 for page in pages)
    found = [m.connection_id for page in pages for m in page]
    assert sorted(found) == sorted(members)  # all 50, none twice, none from "other"
    reads = recorder.reads()
    assert len(reads) >= 8  # ceil(50 / 7)
    assert {(c.operation, c.index) for c in reads} == {("Query", "byRoom")}
    assert [m.connection_id for m in store.room_members("lobby", page_size=7)] == found


def test_room_members_are_whole_rows(store: ConnectionStore) -> None:
    """Members read through the index (projection ALL) are the complete rows, TTL included."""
    row = store.add("c-1", "lobby", "alice", connected_at=CONNECTED_AT)
    [member] = store.room_members("lobby")
    assert member == row
    assert member.expires_at == CONNECTED_AT // 1000 + 7200


def test_add_many_writes_batches_of_25(store: ConnectionStore, recorder: Recorder) -> None:
    """60 rows go in 3 BatchWriteItem requests (DynamoDB's limit is 25 a batch), all readable."""
    rows = [(f"m-{i:02d}", f"room-{i % 2}", f"user{i}") for i in range(60)]
    assert store.add_many(rows, connected_at=CONNECTED_AT) == 60
    assert [c.operation for c in recorder.calls].count("BatchWriteItem") == 3
    assert len(list(store.room_members("room-0"))) == 30
    assert store.get("m-59") == Connection(
        "m-59", "room-1", "user59", CONNECTED_AT, CONNECTED_AT // 1000 + 7200
    )


def test_room_members_of_an_empty_room(store: ConnectionStore) -> None:
    """A room nobody is in has no members (and reading it is not an error)."""
    store.add("c-1", "lobby", "alice")
    assert list(store.room_members("empty")) == []


def test_room_read_cost_query_versus_scan(store: ConnectionStore) -> None:
    """The index reads one room's items; the seed article's Scan reads every item of the table."""
    members = _fill(store, {f"room-{n}": 10 + n for n in range(10)})
    table_size = sum(len(ids) for ids in members.values())
    query = store.room_read_cost("room-3")
    scan = store.room_read_cost_by_scan("room-3")
    assert (query.members, query.items_read) == (13, 13)
    assert (scan.members, scan.items_read) == (13, table_size)


def test_broadcast_reads_only_its_room(store: ConnectionStore, recorder: Recorder) -> None:
    """A broadcast to one room of a 10-room table Queries byRoom for that room only: no Scan."""
    rooms = _fill(store, {f"room-{n}": 12 for n in range(10)})
    recorder.calls.clear()
    with FakeConnectionsAPI(stage="dev") as api:
        api.live.update(cid for ids in rooms.values() for cid in ids)
        management = boto3.client(
            "apigatewaymanagementapi", endpoint_url=api.url, region_name="us-east-1"
        )
        result = Broadcaster(management, store, max_workers=4, page_size=5).broadcast(
            "room-7", '{"type":"message"}'
        )
        management.close()
    assert result.delivered == 12
    assert sorted(api.post_counts()) == sorted(rooms["room-7"])
    assert [c.operation for c in recorder.calls] == ["Query"] * len(recorder.calls)
    assert {c.index for c in recorder.calls} == {"byRoom"}
    assert len(recorder.calls) >= 3  # 12 members, 5 per page
    assert sum(c.scanned or 0 for c in recorder.calls) == 12  # items read == the room's size
    assert sum(c.count or 0 for c in recorder.calls) == 12


# --- real costs, on DynamoDB Local -----------------------------------------------------------


@pytest.fixture
def local_store(dynamodb_local_endpoint: str) -> Iterator[ConnectionStore]:
    """A fresh connections table on DynamoDB Local, which reports realistic capacity."""
    client = _dynamodb(dynamodb_local_endpoint)
    store = _new_store(client)
    yield store
    client.delete_table(TableName=store.table_name)
    client.close()


def _capacity(store: ConnectionStore, read: Callable[[], object]) -> tuple[float, int]:
    """Run ``read``; return the Query/Scan capacity units it consumed and its request count."""
    units: list[float] = []

    def before(params: dict[str, Any], **_: Any) -> None:
        params["ReturnConsumedCapacity"] = "TOTAL"

    def after(parsed: dict[str, Any], **_: Any) -> None:
        units.append(parsed["ConsumedCapacity"]["CapacityUnits"])

    events = store.client.meta.events
    for operation in ("Query", "Scan"):
        events.register(f"before-parameter-build.dynamodb.{operation}", before)
        events.register(f"after-call.dynamodb.{operation}", after)
    try:
        read()
    finally:
        for operation in ("Query", "Scan"):
            events.unregister(f"before-parameter-build.dynamodb.{operation}", before)
            events.unregister(f"after-call.dynamodb.{operation}", after)
    return sum(units), len(units)


@pytest.mark.dynamodb_local
def test_broadcast_capacity_follows_the_room_not_the_table(local_store: ConnectionStore) -> None:
    """On DynamoDB Local a broadcast's read capacity grows with its room, a Scan's with the table."""
    store = local_store
    # 10 rooms of 80, names of 64 characters (the protocol's longest), 1 KB of other data.
    room = _fill(store, {f"room-{n}": 80 for n in range(10)}, name_length=64, padding=1000)
    with FakeConnectionsAPI(stage="dev") as api:
        api.live.update(room["room-3"])
        management = boto3.client("apigatewaymanagementapi", endpoint_url=api.url)

        def broadcast() -> None:
            result = Broadcaster(management, store, max_workers=8).broadcast("room-3", b"hi")
            assert result.delivered == len(api.live)

        def scan() -> None:
            store.room_read_cost_by_scan("room-3")

        room_units, room_requests = _capacity(store, broadcast)
        table_units, _ = _capacity(store, scan)
        assert room_requests == 1
        # The index holds whole rows (projection ALL), so one room of ten costs a tenth of
        # the Scan, give or take the rounding of each read to 4 KB units.
        assert 0 < room_units == pytest.approx(table_units / 10, rel=0.25)

        # Double the table with ten more rooms: the broadcast costs exactly the same,
        # while the Scan's cost doubles.
        _fill(store, {f"more-{n}": 80 for n in range(10)}, name_length=64, padding=1000)
        assert _capacity(store, broadcast)[0] == room_units
        assert _capacity(store, scan)[0] == pytest.approx(2 * table_units, rel=0.1)

        # Double the room instead: now the broadcast costs about twice as much.
        newcomers = _fill(store, {"room-3": 80}, name_length=64, padding=1000)["room-3"]
        api.live.update(newcomers)
        doubled_room_units, _ = _capacity(store, broadcast)
        assert doubled_room_units > room_units
        assert doubled_room_units == pytest.approx(2 * room_units, rel=0.35)
        management.close()
    # Three broadcasts reached the first 80 members, the last one the newcomers too.
    assert api.post_counts() == dict.fromkeys(room["room-3"], 3) | dict.fromkeys(newcomers, 1)

    cost = store.room_read_cost_by_scan("room-3")
    assert (cost.members, cost.items_read) == (160, 20 * 80 + 80)


def test_count_message_allows_the_limit_per_window(dynamodb: DynamoDBClient) -> None:
    """3 per 10 s: the 4th message inside the window is refused; once the window has run out
    (10 s after its first message, not on the clock's marks) counting starts again at one."""
    now = [NOW]
    store = ConnectionStore(dynamodb, f"limits-{uuid.uuid4().hex[:12]}", clock=lambda: now[0])
    store.create_table()
    store.add("c1", "lobby", "ada")

    def count() -> bool:
        counted = store.count_message("c1", limit=3, window_seconds=10)
        assert counted.row == store.get("c1")  # the row as it is after the count
        return counted.allowed

    assert [count(), count(), count(), count()] == [True, True, True, False]
    now[0] += 9.9  # still the first window
    assert count() is False
    now[0] += 0.2  # 10.1 s after the first message: a new window
    assert [count(), count(), count(), count()] == [True, True, True, False]
    row = dynamodb.get_item(TableName=store.table_name, Key={"connectionId": {"S": "c1"}})["Item"]
    assert row["msgCount"] == {"N": "3"}
    assert store.get("c1") == Connection("c1", "lobby", "ada", NOW_MS, NOW_MS // 1000 + 7200)


def test_count_message_reads_the_row_with_its_write(dynamodb: DynamoDBClient) -> None:
    """Counting returns the row, so the handler needs no GetItem: one UpdateItem for a message
    inside a window, two for the first of a window, and a full window also hands back the row."""
    now = [NOW]
    store = ConnectionStore(dynamodb, f"limits-{uuid.uuid4().hex[:12]}", clock=lambda: now[0])
    store.create_table()
    store.add("c1", "lobby", "ada")
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    dynamodb.meta.events.register("before-call.dynamodb", record)
    try:
        first = store.count_message("c1", limit=2, window_seconds=10)
        second = store.count_message("c1", limit=2, window_seconds=10)
        third = store.count_message("c1", limit=2, window_seconds=10)
    finally:
        dynamodb.meta.events.unregister("before-call.dynamodb", record)
    ada = Connection("c1", "lobby", "ada", NOW_MS, NOW_MS // 1000 + CONNECTION_TTL_SECONDS)
    assert (first, second, third) == (
        MessageCount(True, ada),
        MessageCount(True, ada),
        MessageCount(False, ada),
    )
    assert calls == ["UpdateItem", "UpdateItem", "UpdateItem", "UpdateItem"]


def test_count_message_creates_no_row_for_a_gone_connection(dynamodb: DynamoDBClient) -> None:
    """A connection whose row is gone is refused, and no half-made row appears."""
    store = _new_store(dynamodb)
    assert store.count_message("gone", limit=3, window_seconds=10) == MessageCount(False, None)
    assert store.get("gone") is None


def test_a_page_is_claimed_once_and_is_no_connection(dynamodb: DynamoDBClient) -> None:
    """The fan-out's page claim: the first claim wins, a second (a duplicate event) loses; the
    claim is in no room and not among the connections, and expires after the given time."""
    store = _new_store(dynamodb)
    store.add("c1", "big", "ada")
    assert store.claim_page("b1:1", keep_seconds=21_600) is True
    assert store.claim_page("b1:1", keep_seconds=21_600) is False
    assert store.claim_page("b1:2", keep_seconds=21_600) is True
    assert [c.connection_id for c in store.all_connections()] == ["c1"]
    assert [c.connection_id for c in store.room_members("big")] == ["c1"]
    claim = dynamodb.get_item(
        TableName=store.table_name, Key={"connectionId": {"S": PAGE_CLAIM_PREFIX + "b1:1"}}
    )["Item"]
    assert claim == {
        "connectionId": {"S": "fanout-page#b1:1"},
        "expiresAt": {"N": str(int(NOW) + 21_600)},
    }
