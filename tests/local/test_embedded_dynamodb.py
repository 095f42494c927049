"""``EmbeddedDynamoDB``: moto's DynamoDB served by an asyncio loop, driven by boto3 over HTTP."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

import boto3
import pytest

from wsrelay.local.dynamodb.embedded import EmbeddedDynamoDB, moto_dynamodb_app
from wsrelay.store import TABLE_SCHEMA, ConnectionStore

from .support import unique_table

pytestmark = pytest.mark.integration
T = TypeVar("T")


def _client(port: int) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{port}",
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def _post(port: int, operation: str) -> tuple[int, Any]:
    """POST an empty DynamoDB request with plain HTTP; return (status, JSON answer)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/",
        data=b"{}",
        headers={
            "X-Amz-Target": f"DynamoDB_20120810.{operation}",
            "Content-Type": "application/x-amz-json-1.0",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _serve(app: Any, test: Callable[[EmbeddedDynamoDB], Awaitable[T]]) -> T:
    """Serve ``app`` on a fresh loop, run ``test`` against it, stop the server."""

    async def main() -> T:
        embedded = EmbeddedDynamoDB(app)
        await embedded.start("127.0.0.1", 0)
        try:
            return await test(embedded)
        finally:
            await embedded.stop()

    return asyncio.run(main())


def test_create_table_makes_the_connections_table_and_is_idempotent() -> None:
    """The table boto3 then sees has the store's schema and TTL; creating it again is fine."""
    name = unique_table()

    async def test(embedded: EmbeddedDynamoDB) -> None:
        embedded.create_table(name, region="us-east-1")
        embedded.create_table(name, region="us-east-1")
        client = _client(embedded.port)
        table = (await asyncio.to_thread(client.describe_table, TableName=name))["Table"]
        assert table["KeySchema"] == TABLE_SCHEMA["KeySchema"]
        assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["byRoom"]
        ttl = await asyncio.to_thread(client.describe_time_to_live, TableName=name)
        assert ttl["TimeToLiveDescription"] == {
            "TimeToLiveStatus": "ENABLED",
            "AttributeName": "expiresAt",
        }

    _serve(moto_dynamodb_app(), test)


def test_a_refused_table_says_why() -> None:
    """A refusal of CreateTable (here from a stand-in that refuses everything) names the table and the reason."""

    def refusing(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
        return [b'{"__type": "ValidationException", "message": "no tables today"}']

    async def test(embedded: EmbeddedDynamoDB) -> None:
        with pytest.raises(RuntimeError, match=r"refused CreateTable for rooms.*no tables today"):
            embedded.create_table("rooms", region="us-east-1")

    _serve(refusing, test)


def test_requests_over_one_megabyte_are_served() -> None:
    """A BatchWriteItem of 25 rows of 50 KB (1.25 MB) passes aiohttp's body limit."""
    name = unique_table()

    async def test(embedded: EmbeddedDynamoDB) -> int:
        embedded.create_table(name, region="us-east-1")
        client = _client(embedded.port)
        rows = [
            {
                "PutRequest": {
                    "Item": {
                        "connectionId": {"S": f"big-{i}="},
                        "roomId": {"S": "big"},
                        "note": {"S": "x" * 50_000},
                    }
                }
            }
            for i in range(25)
        ]
        answer = await asyncio.to_thread(client.batch_write_item, RequestItems={name: rows})
        assert answer["UnprocessedItems"] == {}
        store = ConnectionStore(client, name)
        return len(await asyncio.to_thread(lambda: list(store.room_members("big"))))

    assert _serve(moto_dynamodb_app(), test) == 25


def test_a_failing_application_answers_500_and_keeps_serving() -> None:
    """An exception inside the application is a 500 with a message; the next request works."""
    calls: list[str] = []

    def flaky(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        calls.append(environ["HTTP_X_AMZ_TARGET"])
        if len(calls) == 1:
            raise ValueError("boom")
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b'{"TableNames": []}']

    async def test(embedded: EmbeddedDynamoDB) -> dict[str, Any]:
        # Plain HTTP: boto3 would retry the 500 by itself, hiding it.
        first = await asyncio.to_thread(_post, embedded.port, "ListTables")
        assert first[0] == 500 and "embedded moto failed" in first[1]["message"]
        status, answer = await asyncio.to_thread(_post, embedded.port, "ListTables")
        assert status == 200
        return answer

    assert _serve(flaky, test)["TableNames"] == []
    assert calls[-1] == "DynamoDB_20120810.ListTables"


def test_a_crash_inside_moto_reaches_the_bridge(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's app is not in Flask's debug mode, yet its crashes still propagate: 500, logged."""
    from moto.dynamodb.responses import DynamoHandler

    def crash(self: Any) -> Any:
        raise RuntimeError("moto fell over")

    async def test(embedded: EmbeddedDynamoDB) -> tuple[int, Any]:
        with monkeypatch.context() as patched:
            patched.setattr(DynamoHandler, "list_tables", crash)
            failed = await asyncio.to_thread(_post, embedded.port, "ListTables")
        assert failed[0] == 500 and "embedded moto failed" in failed[1]["message"]
        return await asyncio.to_thread(_post, embedded.port, "ListTables")

    status, answer = _serve(moto_dynamodb_app(), test)
    assert status == 200 and "TableNames" in answer
