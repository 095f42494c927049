"""moto's DynamoDB fast paths (``wsrelay.local.dynamodb.motofast``) give the same answers as moto's own.

Each comparison sends the same request twice to one moto: once through an embedded DynamoDB
that opted in to the fast paths, once through one that did not (``fast=False``: moto's own
code, in the same process, on the same data). Random tables cover the Query the fast
``Table.query`` serves (a room of a hash-only ALL index, any page size, either direction,
the 1 MB page rule) and the ones it must hand back to moto.

The requests are boto3's own (a client whose ``before-send`` hands the signed request to
the embedded DynamoDB instead of a socket), and so is the parsing of the answers. No server,
no socket: these are unit tests.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wsrelay.local.dynamodb import moto_adapter
from wsrelay.local.dynamodb.embedded import EmbeddedDynamoDB, moto_dynamodb_app
from wsrelay.store import ConnectionStore

_table_names = (f"motofast-{i}" for i in itertools.count())


class _Body:
    """An HTTP body botocore can read (``AWSResponse.content`` streams its raw part)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


class Moto:
    """One moto, reached two ways: the fast paths (``fast``) and moto's own (``stock``)."""

    def __init__(self) -> None:
        self.fast = EmbeddedDynamoDB(moto_dynamodb_app(), fast=True)
        self.stock_server = EmbeddedDynamoDB(moto_dynamodb_app(), fast=False)
        self.current = self.fast

    def client(self, service: str = "dynamodb") -> Any:
        client = boto3.client(
            service,
            endpoint_url="http://dynamodb.local",
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        client.meta.events.register("before-send.dynamodb", self._send)
        return client

    def _send(self, request: Any, **_: Any) -> AWSResponse:
        body = request.body if isinstance(request.body, bytes) else (request.body or b"")
        if not isinstance(body, bytes):
            body = body.encode()
        target = request.headers["X-Amz-Target"]
        target = target.decode() if isinstance(target, bytes) else target
        status, headers, content = self.current.answer(target, body, region="us-east-1")
        return AWSResponse(request.url, status, dict(headers), _Body(content))

    @contextlib.contextmanager
    def stock(self) -> Iterator[None]:
        """Send the requests of the block through the server that did not opt in."""
        self.current = self.stock_server
        try:
            yield
        finally:
            self.current = self.fast


@pytest.fixture(scope="module")
def aws() -> Moto:
    """One moto, through a fast embedded DynamoDB and a stock one."""
    moto = Moto()
    assert moto.fast.fast and not moto.stock_server.fast, moto_adapter.canary()
    return moto


#: The server (fast or stock) the module's comparisons run through.
_MOTO: dict[str, Moto] = {}


def _both_ways(client: Any, operation: str, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Call ``operation`` with the fast paths, then with moto's own."""
    fast = getattr(client, operation)(**kwargs)
    with _MOTO["moto"].stock():
        slow = getattr(client, operation)(**kwargs)
    fast.pop("ResponseMetadata")
    slow.pop("ResponseMetadata")
    return fast, slow


@pytest.fixture(autouse=True)
def _current(aws: Moto) -> None:
    _MOTO["moto"] = aws


def _all_pages(client: Any, **kwargs: Any) -> int:
    """Page through a Query both ways, asserting every page is the same; return the pages."""
    pages = 0
    while True:
        fast, slow = _both_ways(client, "query", **kwargs)
        assert fast == slow
        pages += 1
        if "LastEvaluatedKey" not in fast:
            return pages
        kwargs["ExclusiveStartKey"] = fast["LastEvaluatedKey"]


def _store(aws: Moto) -> ConnectionStore:
    store = ConnectionStore(aws.client(), next(_table_names))
    store.create_table()
    for i in range(30):
        store.add(f"c{i:03d}=", f"room{i % 3}", f"user{i}", connected_at=1_800_000_000_000 + i)
    return store


def test_a_server_that_did_not_opt_in_runs_moto_s_own_code() -> None:
    """Installed, the fast paths act only inside ``moto_adapter.fast()``: elsewhere moto is stock."""
    from moto.dynamodb import responses

    assert moto_adapter.speedups()
    assert not moto_adapter.active()
    with moto_adapter.fast():
        assert moto_adapter.active()
        with moto_adapter.stock():
            assert not moto_adapter.active()
    assert responses.DynamoResult.execute_result.__module__ == "wsrelay.local.dynamodb.motofast"


def test_the_fast_server_really_takes_the_fast_paths(aws: Moto) -> None:
    """The comparisons are not of moto with itself: the fast server's Query and serializer are ours."""
    from unittest import mock

    from wsrelay.local.dynamodb import motofast

    store = _store(aws)
    query = {
        "TableName": store.table_name,
        "IndexName": "byRoom",
        "KeyConditionExpression": "roomId = :r",
        "ExpressionAttributeValues": {":r": {"S": "room1"}},
    }
    with mock.patch.object(motofast, "_item_size", wraps=motofast._item_size) as sized:
        store.client.query(**query)
        assert sized.called
        sized.reset_mock()
        with aws.stock():
            store.client.query(**query)
        assert not sized.called


def test_query_pages_match_moto(aws: Moto) -> None:
    """Every page of a paginated index Query is the same, LastEvaluatedKey included."""
    store = _store(aws)
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "IndexName": "byRoom",
        "KeyConditionExpression": "roomId = :r",
        "ExpressionAttributeValues": {":r": {"S": "room1"}},
        "Limit": 4,
    }
    assert _all_pages(store.client, **kwargs) == 3  # 10 members in pages of 4


def test_scan_with_filter_and_empty_query_match_moto(aws: Moto) -> None:
    """A filtered Scan and a Query that finds nothing are the same both ways."""
    store = _store(aws)
    fast, slow = _both_ways(
        store.client,
        "scan",
        TableName=store.table_name,
        FilterExpression="roomId = :r",
        ExpressionAttributeValues={":r": {"S": "room2"}},
    )
    assert fast == slow and fast["Count"] == 10 and fast["ScannedCount"] == 30
    fast, slow = _both_ways(
        store.client,
        "query",
        TableName=store.table_name,
        IndexName="byRoom",
        KeyConditionExpression="roomId = :r",
        ExpressionAttributeValues={":r": {"S": "nobody-here"}},
    )
    assert fast == slow == {"Items": [], "Count": 0, "ScannedCount": 0}


def test_binary_attributes_fall_back_to_moto(aws: Moto) -> None:
    """A Query returning a binary attribute still decodes to the bytes that were written."""
    client = aws.client()
    name = next(_table_names)
    ConnectionStore(client, name).create_table()
    client.put_item(
        TableName=name,
        Item={"connectionId": {"S": "b="}, "roomId": {"S": "r"}, "blob": {"B": b"\x00\xffbytes"}},
    )
    fast, slow = _both_ways(
        client,
        "query",
        TableName=name,
        KeyConditionExpression="connectionId = :c",
        ExpressionAttributeValues={":c": {"S": "b="}},
    )
    assert fast == slow
    assert fast["Items"][0]["blob"]["B"] == b"\x00\xffbytes"


def test_boto3_reads_the_fast_answers(aws: Moto) -> None:
    """boto3's own parser accepts the fast path's bytes: a store on it works end to end."""
    store = ConnectionStore(aws.client(), next(_table_names))
    store.create_table()
    store.add("x=", "r", "ada", connected_at=1)
    assert [c.user_name for c in store.room_members("r")] == ["ada"]
    assert store.get("x=") is not None
    store.remove("x=")
    assert store.get("x=") is None


# --- random tables --------------------------------------------------------------------------

ROOMS = ["lobby", "Lobby", "café", "r-1", "😀"]
NUMBERS = st.sampled_from(["0", "1", "-7", "1.50", "12345678901234567890", "3e2", "0.001"])
# Attributes beyond the keys, of every kind: they change item sizes and take moto's own
# conversion where the fast one does not apply.
EXTRA_VALUES = st.one_of(
    st.builds(lambda t: {"S": t}, st.text(min_size=1, max_size=40)),
    st.builds(lambda n: {"N": n}, NUMBERS),
    st.builds(lambda b: {"B": b}, st.binary(min_size=1, max_size=20)),
    st.builds(lambda b: {"BOOL": b}, st.booleans()),
    st.just({"NULL": True}),
    st.builds(
        lambda t: {"SS": sorted(t)},
        st.sets(st.text(min_size=1, max_size=5), min_size=1, max_size=3),
    ),
    st.builds(lambda t: {"L": [{"S": t}, {"N": "2"}]}, st.text(max_size=5)),
    st.builds(lambda t: {"M": {"k": {"S": t}, "n": {"N": "1"}}}, st.text(max_size=5)),
)
ROWS = st.lists(
    st.tuples(
        # Most rows in the first room, which the test queries most often.
        st.one_of(st.just(ROOMS[0]), st.sampled_from(ROOMS)),
        NUMBERS,
        st.dictionaries(st.sampled_from(["note", "tags", "é"]), EXTRA_VALUES, max_size=2),
    ),
    min_size=2,
    max_size=25,
)


def _random_table(
    aws: Moto,
    rows: list[tuple[str, str, dict[str, Any]]],
    *,
    range_key: bool = False,
    projection: str = "ALL",
) -> str:
    """A table like the connections table (optionally with a sort key), holding ``rows``."""
    client = aws.client()
    name = next(_table_names)
    key_schema = [{"AttributeName": "connectionId", "KeyType": "HASH"}]
    definitions = [
        {"AttributeName": "connectionId", "AttributeType": "S"},
        {"AttributeName": "roomId", "AttributeType": "S"},
    ]
    if range_key:
        key_schema.append({"AttributeName": "connectedAt", "KeyType": "RANGE"})
        definitions.append({"AttributeName": "connectedAt", "AttributeType": "N"})
    client.create_table(
        TableName=name,
        KeySchema=key_schema,
        AttributeDefinitions=definitions,
        GlobalSecondaryIndexes=[
            {
                "IndexName": "byRoom",
                "KeySchema": [{"AttributeName": "roomId", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": projection},
            }
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for i, (room, number, extra) in enumerate(rows):
        # Ids in an order unlike insertion order, so sorting is really exercised.
        item = {"connectionId": {"S": f"{(i * 7919) % 1000:03d}="}, "roomId": {"S": room}}
        item["connectedAt"] = {"N": number}
        client.put_item(TableName=name, Item={**extra, **item})
    return name


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=ROWS,
    room=st.one_of(st.just(ROOMS[0]), st.sampled_from(ROOMS)),
    limit=st.one_of(st.none(), st.integers(min_value=1, max_value=8)),
    forward=st.booleans(),
    range_key=st.booleans(),
)
def test_room_queries_match_moto_on_random_tables(
    aws: Moto,
    rows: list[tuple[str, str, dict[str, Any]]],
    room: str,
    limit: int | None,
    forward: bool,
    range_key: bool,
) -> None:
    """Any room, page size and direction, with or without a table sort key: every page is the same."""
    client = aws.client()
    name = _random_table(aws, rows, range_key=range_key)
    kwargs: dict[str, Any] = {
        "TableName": name,
        "IndexName": "byRoom",
        "KeyConditionExpression": "#room = :r",
        "ExpressionAttributeNames": {"#room": "roomId"},
        "ExpressionAttributeValues": {":r": {"S": room}},
        "ScanIndexForward": forward,
    }
    if limit is not None:
        kwargs["Limit"] = limit
    _all_pages(client, **kwargs)


@pytest.mark.parametrize(
    "extra",
    [
        {
            "FilterExpression": "connectedAt > :n",
            "ExpressionAttributeValues": {":r": {"S": "lobby"}, ":n": {"N": "0"}},
        },
        {"ProjectionExpression": "connectionId, note"},
        {"Select": "COUNT"},
        {
            "KeyConditionExpression": "roomId = :r AND connectionId > :c",
            "ExpressionAttributeValues": {":r": {"S": "lobby"}, ":c": {"S": "100="}},
        },
    ],
    ids=["filter", "projection", "count", "unknown-key"],
)
def test_queries_the_fast_path_does_not_serve_still_match(aws: Moto, extra: dict[str, Any]) -> None:
    """Filters, projections, COUNT and refused key conditions go to moto, answers and errors alike."""
    client = aws.client()
    rows = [(ROOMS[i % 2], str(i - 3), {"note": {"S": f"n{i}"}}) for i in range(12)]
    name = _random_table(aws, rows)
    kwargs: dict[str, Any] = {
        "TableName": name,
        "IndexName": "byRoom",
        "KeyConditionExpression": "roomId = :r",
        "ExpressionAttributeValues": {":r": {"S": "lobby"}},
        "Limit": 4,
        **extra,
    }
    try:
        fast_pages = _all_pages(client, **kwargs)
    except ClientError as fast_error:
        with aws.stock(), pytest.raises(ClientError) as slow_error:
            client.query(**kwargs)
        assert fast_error.response["Error"] == slow_error.value.response["Error"]
    else:
        assert fast_pages >= 1


def test_keys_only_index_and_table_queries_match(aws: Moto) -> None:
    """An index that projects KEYS_ONLY, and a Query of the table itself, are moto's."""
    client = aws.client()
    rows = [(ROOMS[i % 3], str(i), {"note": {"S": "x" * i}}) for i in range(15)]
    name = _random_table(aws, rows, projection="KEYS_ONLY")
    assert (
        _all_pages(
            client,
            TableName=name,
            IndexName="byRoom",
            KeyConditionExpression="roomId = :r",
            ExpressionAttributeValues={":r": {"S": "lobby"}},
            Limit=2,
        )
        == 3
    )
    _all_pages(
        client,
        TableName=name,
        KeyConditionExpression="connectionId = :c",
        ExpressionAttributeValues={":c": {"S": "000="}},
    )


def test_the_one_megabyte_page_rule_matches(aws: Moto) -> None:
    """Items of ~60 KB: a room of 40 splits into pages by size, at the same items both ways."""
    client = aws.client()
    rows = [("lobby", str(i), {"note": {"S": "é" * 30_000}}) for i in range(40)]  # 60 KB each
    name = _random_table(aws, rows)
    pages = _all_pages(
        client,
        TableName=name,
        IndexName="byRoom",
        KeyConditionExpression="roomId = :r",
        ExpressionAttributeValues={":r": {"S": "lobby"}},
    )
    assert pages == 3  # 16 + 16 + 8 items of 60,0xx bytes under 1,000,000 a page


@pytest.mark.parametrize("forward", [True, False])
def test_a_room_reads_in_key_order_with_values_intact(aws: Moto, forward: bool) -> None:
    """The fast path's own answer, checked against what DynamoDB documents, not only moto.

    An index without a sort key returns a room's items ordered by the table key here (moto's
    order; DynamoDB promises no order within one index hash key), reversed by
    ScanIndexForward=False; attribute values come back byte for byte.
    """
    client = aws.client()
    notes = [" padded ", "tab\t", "é", "", "x" * 300]
    rows = [
        (
            "lobby" if i % 2 else "other",
            str(i),
            {"note": {"S": notes[i % 5]}} if notes[i % 5] else {},
        )
        for i in range(20)
    ]
    name = _random_table(aws, rows)
    answer = client.query(
        TableName=name,
        IndexName="byRoom",
        KeyConditionExpression="roomId = :r",
        ExpressionAttributeValues={":r": {"S": "lobby"}},
        ScanIndexForward=forward,
    )
    expected = sorted(
        (f"{(i * 7919) % 1000:03d}=", str(i), notes[i % 5]) for i in range(20) if i % 2
    )
    if not forward:
        expected.reverse()
    got = [
        (item["connectionId"]["S"], item["connectedAt"]["N"], item.get("note", {}).get("S", ""))
        for item in answer["Items"]
    ]
    assert got == expected
    assert answer["Count"] == answer["ScannedCount"] == 10


# --- one-row operations -----------------------------------------------------------------------


ITEM = {
    "connectionId": {"S": "row-1="},
    "roomId": {"S": "lobby"},
    "connectedAt": {"N": "1800000000000"},
    "note": {"S": " padded "},
    "tags": {"SS": ["a", "b"]},
    "nested": {"M": {"n": {"N": "1.50"}, "l": {"L": [{"S": "x"}, {"BOOL": True}, {"NULL": True}]}}},
}


@pytest.mark.parametrize("capacity", ["NONE", "TOTAL", "INDEXES"])
def test_one_row_operations_match_moto(aws: Moto, capacity: str) -> None:
    """PutItem, GetItem, UpdateItem and DeleteItem, with every ReturnValues, are the same both ways."""
    client = aws.client()
    name = next(_table_names)
    ConnectionStore(client, name).create_table()
    key = {"connectionId": ITEM["connectionId"]}
    common: dict[str, Any] = {"TableName": name, "ReturnConsumedCapacity": capacity}
    # Each call runs both ways; the second (moto's) repeats the same write on the same row.
    for values in ["NONE", "ALL_OLD"]:
        fast, slow = _both_ways(client, "put_item", Item=ITEM, ReturnValues=values, **common)
        assert fast == slow
    for read in [key, {"connectionId": {"S": "missing="}}]:
        fast, slow = _both_ways(client, "get_item", Key=read, **common)
        assert fast == slow
    for values in ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]:
        fast, slow = _both_ways(
            client,
            "update_item",
            Key=key,
            UpdateExpression="SET roomId = :r REMOVE note",
            ExpressionAttributeValues={":r": {"S": "kitchen"}},
            ReturnValues=values,
            **common,
        )
        assert fast == slow, values
    fast, slow = _both_ways(client, "delete_item", Key=key, ReturnValues="NONE", **common)
    assert fast == slow
    client.put_item(TableName=name, Item=ITEM)
    fast = client.delete_item(Key=key, ReturnValues="ALL_OLD", **common)
    client.put_item(TableName=name, Item=ITEM)
    with aws.stock():
        slow = client.delete_item(Key=key, ReturnValues="ALL_OLD", **common)
    fast.pop("ResponseMetadata")
    slow.pop("ResponseMetadata")
    assert fast == slow and fast["Attributes"]["note"] == {"S": " padded "}


def test_a_binary_row_still_reads_back_as_bytes(aws: Moto) -> None:
    """GetItem of a binary attribute falls back to moto's serializer and decodes to the bytes."""
    client = aws.client()
    name = next(_table_names)
    ConnectionStore(client, name).create_table()
    client.put_item(TableName=name, Item={"connectionId": {"S": "b="}, "blob": {"B": b"\x00\xff"}})
    fast, slow = _both_ways(client, "get_item", TableName=name, Key={"connectionId": {"S": "b="}})
    assert fast == slow and fast["Item"]["blob"]["B"] == b"\x00\xff"
