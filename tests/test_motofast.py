"""moto's DynamoDB Query/Scan fast path gives the same parsed answers as moto's serializer."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.dynamodb import responses

from wsrelay.local import motofast
from wsrelay.store import ConnectionStore
from wsrelay.workbook import LocalAws

pytestmark = pytest.mark.integration
_table_names = (f"motofast-{i}" for i in itertools.count())


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    """A moto server with the fast path installed (as the gateway and notebooks run it)."""
    with LocalAws() as local:
        yield local


def _both_ways(client: Any, operation: str, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Call ``operation`` with the fast path, then with moto's own serializer."""
    fast = getattr(client, operation)(**kwargs)
    patched = responses.DynamoResult.execute_result
    responses.DynamoResult.execute_result = motofast.moto_serializer()  # type: ignore[method-assign]
    try:
        slow = getattr(client, operation)(**kwargs)
    finally:
        responses.DynamoResult.execute_result = patched  # type: ignore[method-assign]
    fast.pop("ResponseMetadata")
    slow.pop("ResponseMetadata")
    return fast, slow


def _store(aws: LocalAws) -> ConnectionStore:
    store = ConnectionStore(aws.client("dynamodb"), next(_table_names))
    store.create_table()
    for i in range(30):
        store.add(f"c{i:03d}=", f"room{i % 3}", f"user{i}", connected_at=1_800_000_000_000 + i)
    return store


def test_install_is_idempotent() -> None:
    """Installing twice keeps one wrapper, and moto's own serializer stays reachable."""
    motofast.install()
    wrapper = responses.DynamoResult.execute_result
    motofast.install()
    assert responses.DynamoResult.execute_result is wrapper
    assert motofast.moto_serializer() is not wrapper


def test_query_pages_match_moto(aws: LocalAws) -> None:
    """Every page of a paginated index Query is the same, LastEvaluatedKey included."""
    store = _store(aws)
    kwargs: dict[str, Any] = {
        "TableName": store.table_name,
        "IndexName": "byRoom",
        "KeyConditionExpression": "roomId = :r",
        "ExpressionAttributeValues": {":r": {"S": "room1"}},
        "Limit": 4,
    }
    pages = 0
    while True:
        fast, slow = _both_ways(store.client, "query", **kwargs)
        assert fast == slow
        pages += 1
        if "LastEvaluatedKey" not in fast:
            break
        kwargs["ExclusiveStartKey"] = fast["LastEvaluatedKey"]
    assert pages == 3  # 10 members in pages of 4


def test_scan_with_filter_and_empty_query_match_moto(aws: LocalAws) -> None:
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


def test_binary_attributes_fall_back_to_moto(aws: LocalAws) -> None:
    """A Query returning a binary attribute still decodes to the bytes that were written."""
    client = aws.client("dynamodb")
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


def test_a_client_outside_the_server_sees_no_difference() -> None:
    """boto3's own parser accepts the fast path's bytes (checked through a fresh client)."""
    with LocalAws() as local:
        client = boto3.client(
            "dynamodb",
            endpoint_url=local.endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        store = ConnectionStore(client, "outside")
        store.create_table()
        store.add("x=", "r", "ada", connected_at=1)
        assert [c.user_name for c in store.room_members("r")] == ["ada"]
