"""``ConnectionStore``: the DynamoDB table of open connections and its room index.

One item per open connection::

    connectionId (S, partition key)  roomId (S)  userName (S)
    connectedAt (N, epoch ms)        expiresAt (N, epoch s: the table's TTL attribute)

The global secondary index ``byRoom`` (partition key ``roomId``) lets a broadcast read exactly
one room's members with a paginated Query, so its cost grows with the room, not with the
table. A Scan per message, as the seed article does, reads every connection of every room.

``expiresAt`` is a safety net: ``$disconnect`` is best effort, so a row whose connection
vanished without one is removed by TTL (AWS) or by the broadcaster's 410 clean-up.

The store uses the low-level DynamoDB client, which is thread-safe (boto3 resources are not),
so one store can serve a broadcaster's thread pool.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wsrelay import aws_facts

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "CONNECTION_TTL_SECONDS",
    "PAGE_CLAIM_PREFIX",
    "ROOM_INDEX",
    "TABLE_SCHEMA",
    "TTL_ATTRIBUTE",
    "Connection",
    "ConnectionStore",
    "MessageCount",
    "ReadCost",
]

ROOM_INDEX = "byRoom"
#: The key prefix of a fan-out page's claim (``ConnectionStore.claim_page``): never a
#: connection id, which API Gateway makes of base64 characters only.
PAGE_CLAIM_PREFIX = "fanout-page#"
#: API Gateway closes a WebSocket connection after 2 hours at most, so no row should
#: outlive that (``wsrelay.aws_facts``).
CONNECTION_TTL_SECONDS = aws_facts.MAX_CONNECTION_SECONDS
TTL_ATTRIBUTE = "expiresAt"

#: ``CreateTable``'s arguments besides the table's name: the one definition of the table,
#: used here and by the deployer (``wsrelay.deploy.stack``; its CloudFormation template is
#: tested against it).
TABLE_SCHEMA: dict[str, Any] = {
    "AttributeDefinitions": [
        {"AttributeName": "connectionId", "AttributeType": "S"},
        {"AttributeName": "roomId", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "connectionId", "KeyType": "HASH"}],
    "GlobalSecondaryIndexes": [
        {
            "IndexName": ROOM_INDEX,
            "KeySchema": [{"AttributeName": "roomId", "KeyType": "HASH"}],
            # The index holds whole rows (five small attributes), so reading a room returns
            # complete Connection rows with no second read. Projecting fewer attributes
            # would save a few bytes a row in AWS; in moto it made every Query 2-3x slower
            # (docs/local-gateway.md).
            "Projection": {"ProjectionType": "ALL"},
        }
    ],
    "BillingMode": "PAY_PER_REQUEST",
}


@dataclass(frozen=True)
class Connection:
    """One row of the table: who is connected, to which room, since when."""

    connection_id: str
    room: str
    user_name: str
    connected_at: int
    expires_at: int

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Connection:
        """Build from a DynamoDB item in the low-level client's typed form."""
        return cls(
            connection_id=item["connectionId"]["S"],
            room=item["roomId"]["S"],
            user_name=item.get("userName", {}).get("S", ""),
            connected_at=int(item.get("connectedAt", {}).get("N", "0")),
            expires_at=int(item.get("expiresAt", {}).get("N", "0")),
        )


@dataclass(frozen=True)
class MessageCount:
    """What counting one message found (``ConnectionStore.count_message``)."""

    #: Whether the message is within the connection's rate.
    allowed: bool
    #: The connection's row, or ``None`` when it is gone (then nothing was counted).
    row: Connection | None


@dataclass(frozen=True)
class ReadCost:
    """What reading one room cost: the members found and the items DynamoDB read for them."""

    members: int
    items_read: int
    requests: int


class ConnectionStore:
    """The connections table.

    Args:
        client: a DynamoDB client (``boto3.client("dynamodb")``); its endpoint decides whether
            this is AWS, moto or DynamoDB Local.
        table_name: the table's name (the handlers read it from ``CONNECTIONS_TABLE``).
        clock: returns the current time in seconds; inject one for deterministic rows.
    """

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self._clock = clock

    # --- the table itself -----------------------------------------------------------------

    def create_table(self, *, wait: bool = True) -> None:
        """Create the table with its ``byRoom`` index and the TTL on ``expiresAt``.

        On-demand billing, so nothing needs sizing. Creating a table that already exists is
        not an error: the call is idempotent, so notebooks and the gateway can call it again.
        """
        try:
            self.client.create_table(TableName=self.table_name, **TABLE_SCHEMA)
        except self.client.exceptions.ResourceInUseException:
            return
        if wait:
            self.client.get_waiter("table_exists").wait(
                TableName=self.table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60}
            )
        self.client.update_time_to_live(
            TableName=self.table_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )

    # --- rows -----------------------------------------------------------------------------

    def add(
        self, connection_id: str, room: str, user_name: str, *, connected_at: int | None = None
    ) -> Connection:
        """Store a new connection; ``connected_at`` is epoch ms (default: now)."""
        row = self._row(connection_id, room, user_name, connected_at)
        self.client.put_item(TableName=self.table_name, Item=_item(row))
        return row

    def add_many(
        self, rows: Iterable[tuple[str, str, str]], *, connected_at: int | None = None
    ) -> int:
        """Store many connections, ``(connection_id, room, user_name)`` each; return how many.

        Writes in batches of 25 (DynamoDB's limit per ``BatchWriteItem``) and resends any
        unprocessed items, so filling a table for an experiment or a test costs one request
        per 25 rows rather than one per row.
        """
        items = [
            {"PutRequest": {"Item": _item(self._row(cid, room, name, connected_at))}}
            for cid, room, name in rows
        ]
        for start in range(0, len(items), 25):
            batch: Any = {self.table_name: items[start : start + 25]}
            for attempt in range(10):
                batch = self.client.batch_write_item(RequestItems=batch).get("UnprocessedItems")
                if not batch:
                    break
                time.sleep(0.05 * 2**attempt)  # throttled: back off, then resend the rest
            else:
                raise RuntimeError(f"DynamoDB left items unwritten in {self.table_name}")
        return len(items)

    def _row(
        self, connection_id: str, room: str, user_name: str, connected_at: int | None
    ) -> Connection:
        now_ms = connected_at if connected_at is not None else int(self._clock() * 1000)
        return Connection(
            connection_id=connection_id,
            room=room,
            user_name=user_name,
            connected_at=now_ms,
            expires_at=now_ms // 1000 + CONNECTION_TTL_SECONDS,
        )

    def get(self, connection_id: str) -> Connection | None:
        """Return the connection's row, or ``None`` if there is none."""
        response = self.client.get_item(
            TableName=self.table_name,
            Key={"connectionId": {"S": connection_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return Connection.from_item(item) if item else None

    def remove(self, connection_id: str) -> bool:
        """Delete the connection's row; return whether there was one."""
        response = self.client.delete_item(
            TableName=self.table_name,
            Key={"connectionId": {"S": connection_id}},
            ReturnValues="ALL_OLD",
        )
        return bool(response.get("Attributes"))

    def remove_stale(self, connection_id: str, *, grace_seconds: float) -> bool:
        """Delete the row of a connection that answered 410, unless it is younger than the grace.

        API Gateway answers 410 for a connection whose ``$connect`` is still running, though
        that handler has already written its row: deleting it would leave the newcomer
        connected but unknown. So the delete is conditional on ``connectedAt`` being more than
        ``grace_seconds`` old (``$connect`` may run for 29 s); a younger row stays, and is
        removed by a later broadcast, by ``$disconnect``, or by TTL. Returns whether a row
        was deleted.
        """
        cutoff = int((self._clock() - grace_seconds) * 1000)
        try:
            response = self.client.delete_item(
                TableName=self.table_name,
                Key={"connectionId": {"S": connection_id}},
                ConditionExpression="attribute_not_exists(connectedAt) OR connectedAt < :cutoff",
                ExpressionAttributeValues={":cutoff": {"N": str(cutoff)}},
                ReturnValues="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return bool(response.get("Attributes"))

    def move(self, connection_id: str, room: str) -> Connection | None:
        """Move a connection to ``room``; return the updated row, or ``None`` if it is gone.

        The update is conditional on the row existing, so moving a connection that has just
        disconnected cannot leave a half-made row behind.
        """
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key={"connectionId": {"S": connection_id}},
                UpdateExpression="SET roomId = :room",
                ConditionExpression="attribute_exists(connectionId)",
                ExpressionAttributeValues={":room": {"S": room}},
                ReturnValues="ALL_NEW",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return None
        return Connection.from_item(response["Attributes"])

    def count_message(
        self, connection_id: str, *, limit: int, window_seconds: float
    ) -> MessageCount:
        """Count one message of the connection, and return its row: one write, no read.

        A per-connection window that starts at the connection's first message of the window
        (two attributes on its row, ``msgWindowStart`` and ``msgCount``), counted with
        conditional updates, so that every Lambda environment sees the same count: the
        handler runs in many environments at once and none of them can count in memory.
        The first update adds one inside a live window that is not full. When its condition
        fails, DynamoDB hands back the row as it was (``ReturnValuesOnConditionCheckFailure``):
        no row means the connection is gone; a live window means it is full; otherwise the
        window has run out (or never started) and a second update starts a new one at one.
        Either update that succeeds returns the row (``ReturnValues``), so the caller needs no
        ``GetItem`` of its own.
        """
        now_ms = int(self._clock() * 1000)
        cutoff = now_ms - int(window_seconds * 1000)
        key = {"connectionId": {"S": connection_id}}
        conditional = self.client.exceptions.ConditionalCheckFailedException
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="ADD msgCount :one",
                ConditionExpression="msgWindowStart > :cutoff AND msgCount < :limit",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":cutoff": {"N": str(cutoff)},
                    ":limit": {"N": str(limit)},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return MessageCount(allowed=True, row=Connection.from_item(response["Attributes"]))
        except conditional as exc:
            old = _item_of_failed_condition(exc)
        if old is None:
            return MessageCount(allowed=False, row=None)
        if int(old.get("msgWindowStart", {}).get("N", "0")) > cutoff:  # full
            return MessageCount(allowed=False, row=Connection.from_item(old))
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=key,
                UpdateExpression="SET msgWindowStart = :now, msgCount = :one",
                ConditionExpression=(
                    "attribute_exists(connectionId) AND "
                    "(attribute_not_exists(msgWindowStart) OR msgWindowStart <= :cutoff)"
                ),
                ExpressionAttributeValues={
                    ":now": {"N": str(now_ms)},
                    ":one": {"N": "1"},
                    ":cutoff": {"N": str(cutoff)},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return MessageCount(allowed=True, row=Connection.from_item(response["Attributes"]))
        except conditional as exc:
            # Another environment started the new window first, or the row has just gone.
            latest = _item_of_failed_condition(exc)
            row = None if latest is None else Connection.from_item(latest)
            return MessageCount(allowed=False, row=row)

    # --- fan-out pages ----------------------------------------------------------------------

    def claim_page(self, page_id: str, *, keep_seconds: int) -> bool:
        """Record that a fan-out page is being posted; ``False`` if it already was.

        Lambda's queue may hand the fan-out function the same event twice (``wsrelay.fanout``),
        so the first invocation to claim a page's id posts it and any other skips it. The
        claim is an item of its own in this table, ``connectionId`` = ``PAGE_CLAIM_PREFIX`` +
        the id, written with ``attribute_not_exists``; it has no ``roomId``, so it is in no
        room (``byRoom`` is sparse) and :meth:`all_connections` leaves it out, and its
        ``expiresAt`` lets TTL remove it once Lambda can no longer deliver the event.
        """
        expires_at = int(self._clock()) + keep_seconds
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "connectionId": {"S": PAGE_CLAIM_PREFIX + page_id},
                    TTL_ATTRIBUTE: {"N": str(expires_at)},
                },
                ConditionExpression="attribute_not_exists(connectionId)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- rooms ----------------------------------------------------------------------------

    def room_pages(self, room: str, *, page_size: int | None = None) -> Iterator[list[Connection]]:
        """Yield a room's members a page at a time, from a paginated Query of ``byRoom``.

        Each page is one Query request; the next is sent only when the caller asks for it,
        so a broadcaster can start sending before the whole room is read. ``page_size`` sets
        ``Limit`` (default: DynamoDB's 1 MB pages). Never scans the table.
        """
        for page in self._query_room(room, page_size):
            yield [Connection.from_item(item) for item in page.get("Items", [])]

    def room_members(self, room: str, *, page_size: int | None = None) -> Iterator[Connection]:
        """Yield every member of ``room`` (paginated Query of ``byRoom``; never a Scan)."""
        for page in self.room_pages(room, page_size=page_size):
            yield from page

    def _query_room(self, room: str, page_size: int | None) -> Iterator[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": ROOM_INDEX,
            "KeyConditionExpression": "roomId = :room",
            "ExpressionAttributeValues": {":room": {"S": room}},
        }
        if page_size is not None:
            kwargs["Limit"] = page_size
        while True:
            page = self.client.query(**kwargs)
            yield dict(page)
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return
            kwargs["ExclusiveStartKey"] = last_key

    def room_read_cost(self, room: str) -> ReadCost:
        """Read ``room`` through the index and count the items DynamoDB read to do it."""
        members = read = requests = 0
        for page in self._query_room(room, None):
            requests += 1
            members += page.get("Count", 0)
            read += page.get("ScannedCount", 0)
        return ReadCost(members=members, items_read=read, requests=requests)

    def room_read_cost_by_scan(self, room: str) -> ReadCost:
        """Read ``room`` as the seed article does, with a Scan of the whole table.

        For teaching only: it shows that a Scan reads every row of every room to find one
        room's members, so each broadcast costs O(all connections). Never use it to broadcast.
        """
        members = read = requests = 0
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "FilterExpression": "roomId = :room",
            "ExpressionAttributeValues": {":room": {"S": room}},
        }
        while True:
            page = self.client.scan(**kwargs)
            requests += 1
            members += page.get("Count", 0)
            read += page.get("ScannedCount", 0)
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                return ReadCost(members=members, items_read=read, requests=requests)
            kwargs["ExclusiveStartKey"] = last_key

    def all_connections(self) -> list[Connection]:
        """Return every connection's row, sorted by room then connection id (for display and
        tests)."""
        rows: list[Connection] = []
        kwargs: dict[str, Any] = {"TableName": self.table_name}
        while True:
            page = self.client.scan(**kwargs)
            # Only connections: a fan-out page's claim (``claim_page``) has no room.
            items = page.get("Items", [])
            rows.extend(Connection.from_item(item) for item in items if "roomId" in item)
            last_key = page.get("LastEvaluatedKey")
            if not last_key:
                break
            kwargs["ExclusiveStartKey"] = last_key
        return sorted(rows, key=lambda c: (c.room, c.connection_id))


def _item_of_failed_condition(error: Exception) -> dict[str, Any] | None:
    """The item as it was when a write's condition failed (``ReturnValuesOnConditionCheckFailure``
    ``ALL_OLD``); ``None`` when there was none."""
    item = getattr(error, "response", {}).get("Item")
    return item if isinstance(item, dict) and item else None


def _item(row: Connection) -> dict[str, Any]:
    """A row as a DynamoDB item in the low-level client's typed form."""
    return {
        "connectionId": {"S": row.connection_id},
        "roomId": {"S": row.room},
        "userName": {"S": row.user_name},
        "connectedAt": {"N": str(row.connected_at)},
        "expiresAt": {"N": str(row.expires_at)},
    }
