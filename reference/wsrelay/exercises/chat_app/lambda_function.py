"""Your chat, as one AWS Lambda function: notebooks 02-04 build it, 05 serves it, 06 deploys it.

API Gateway calls ``lambda_handler`` for every route of the WebSocket API; it builds the
clients and runs the route's function. This file is the whole deployment package: the
standard library and boto3 only (the Lambda Python runtime provides boto3).

The functions you write in the notebooks (the rest is given):

    02  room_member_ids   a room's connection ids: a paginated Query of the byRoom index
    02  move_connection   move a connection to another room, only while its row exists
    03  on_connect        $connect: check ?room= and &name=, store the connection
    03  on_sendmessage    sendmessage: broadcast a message frame to the sender's room
    04  remove_stale      delete the row of a connection that answered 410, unless it is new
    04  broadcast         post a frame to every member of a room, 16 at a time
"""

from __future__ import annotations

import functools
import json
import os
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

ROOM_INDEX = "byRoom"
TTL_SECONDS = 2 * 60 * 60  # API Gateway closes a connection after 2 hours at most
STALE_GRACE_SECONDS = 30  # $connect may run for 29 s, and a post to it answers 410 meanwhile
WORKERS = 16  # posts in flight at once
MAX_FRAME_BYTES = 128 * 1024  # API Gateway's WebSocket message limit
NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")  # rooms and names
EXAMPLE = (
    'send {"action": "sendmessage", "message": "hello"} or {"action": "joinroom", "room": "lobby"}'
)


@dataclass
class Deps:
    """What the route functions use: made by ``lambda_handler``, or by a test or checker."""

    dynamodb: Any  # boto3.client("dynamodb")
    table: str  # the connections table's name (CONNECTIONS_TABLE)
    management: (
        Any  # boto3.client("apigatewaymanagementapi", endpoint_url=https://{domain}/{stage})
    )
    now: Callable[[], float] = time.time  # seconds since 1970


# --- 02 · the connections table ------------------------------------------------------------


def add_connection(deps, connection_id, room, name):
    """Store a new connection; TTL removes the row when API Gateway would have closed it."""
    now = deps.now()
    deps.dynamodb.put_item(
        TableName=deps.table,
        Item={
            "connectionId": {"S": connection_id},
            "roomId": {"S": room},
            "userName": {"S": name},
            "connectedAt": {"N": str(int(now * 1000))},
            "expiresAt": {"N": str(int(now) + TTL_SECONDS)},
        },
    )


def get_connection(deps, connection_id):
    """The connection's room and name, or None when it has no row."""
    item = deps.dynamodb.get_item(
        TableName=deps.table, Key={"connectionId": {"S": connection_id}}, ConsistentRead=True
    ).get("Item")
    return None if item is None else {"room": item["roomId"]["S"], "name": item["userName"]["S"]}


def remove_connection(deps, connection_id):
    """Delete the connection's row (a row that is already gone is fine)."""
    deps.dynamodb.delete_item(TableName=deps.table, Key={"connectionId": {"S": connection_id}})


def room_member_ids(deps, room, page_size=None):
    """Every connection id in ``room``: a Query of the byRoom index, page after page."""
    request = {
        "TableName": deps.table,
        "IndexName": ROOM_INDEX,
        "KeyConditionExpression": "roomId = :room",
        # TTL deletes an expired row typically within two days, not at once: skip those still here.
        "FilterExpression": "expiresAt > :now",
        "ExpressionAttributeValues": {":room": {"S": room}, ":now": {"N": str(int(deps.now()))}},
    }
    if page_size is not None:
        request["Limit"] = page_size
    ids = []
    while True:
        page = deps.dynamodb.query(**request)
        ids += [item["connectionId"]["S"] for item in page["Items"]]
        if "LastEvaluatedKey" not in page:
            return ids
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def move_connection(deps, connection_id, room):
    """Move the connection to ``room``; False when its row is gone (it is not recreated)."""
    try:
        deps.dynamodb.update_item(
            TableName=deps.table,
            Key={"connectionId": {"S": connection_id}},
            UpdateExpression="SET roomId = :room",
            ConditionExpression="attribute_exists(connectionId)",
            ExpressionAttributeValues={":room": {"S": room}},
        )
    except deps.dynamodb.exceptions.ConditionalCheckFailedException:
        return False
    return True


# --- 04 · the broadcaster ------------------------------------------------------------------


def remove_stale(deps, connection_id):
    """Delete the row of a connection that answered 410, unless it connected very recently."""
    cutoff = int((deps.now() - STALE_GRACE_SECONDS) * 1000)
    try:
        deps.dynamodb.delete_item(
            TableName=deps.table,
            Key={"connectionId": {"S": connection_id}},
            ConditionExpression="connectedAt < :cutoff",
            ExpressionAttributeValues={":cutoff": {"N": str(cutoff)}},
        )
    except deps.dynamodb.exceptions.ConditionalCheckFailedException:
        return False  # new (its $connect may still be running), or already gone
    return True


def broadcast(deps, room, frame):
    """Post ``frame`` to every member of ``room``, 16 at a time; return how many got it."""

    def post(connection_id):
        try:
            deps.management.post_to_connection(ConnectionId=connection_id, Data=frame.encode())
        except deps.management.exceptions.GoneException:
            remove_stale(deps, connection_id)  # gone without a $disconnect
            return False
        return True

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return sum(pool.map(post, room_member_ids(deps, room)))


def send(deps, connection_id, frame):
    """Post one frame to one connection; False when it has just gone (which is no error)."""
    try:
        deps.management.post_to_connection(
            ConnectionId=connection_id, Data=json.dumps(frame).encode()
        )
    except deps.management.exceptions.GoneException:
        return False
    return True


def tell(deps, event, error):
    """Answer a bad frame: an error frame to the sender (a route's return value reaches
    no client: the API has no route responses), and 400 for the logs."""
    send(deps, event["requestContext"]["connectionId"], {"type": "error", "error": error})
    return {"statusCode": 400, "body": error}


# --- 03 · the routes -----------------------------------------------------------------------


def on_connect(event, deps):
    """$connect: check ?room= and &name=, store the connection; 400 refuses the handshake."""
    connection_id = event["requestContext"]["connectionId"]
    query = event.get("queryStringParameters") or {}
    room = query.get("room", "lobby")
    name = query.get("name", "guest-" + connection_id[:4])
    for what, value in (("room", room), ("name", name)):
        if not NAME.fullmatch(value):
            return {"statusCode": 400, "body": f"{what} {value!r}: use 1-64 of A-Z a-z 0-9 _ -"}
    add_connection(deps, connection_id, room, name)
    return {"statusCode": 200, "body": f"connected to {room} as {name}"}


def on_disconnect(event, deps):
    """$disconnect: delete the row. API Gateway runs it best effort, not always."""
    remove_connection(deps, event["requestContext"]["connectionId"])
    return {"statusCode": 200, "body": "disconnected"}


def on_sendmessage(event, deps):
    """sendmessage: broadcast a message frame to everyone in the sender's room."""
    connection_id = event["requestContext"]["connectionId"]
    message = json.loads(event["body"]).get("message")
    if not isinstance(message, str) or not message.strip():
        return tell(deps, event, f'"message" must be text: {EXAMPLE}')
    sender = get_connection(deps, connection_id)
    if sender is None:
        return tell(deps, event, "your connection has no row (it expired): reconnect")
    frame = json.dumps(
        {
            "type": "message",
            "room": sender["room"],
            "sender": sender["name"],
            "connectionId": connection_id,
            "message": message,
            "sentAt": int(deps.now() * 1000),
        }
    )
    if len(frame.encode()) > MAX_FRAME_BYTES:
        return tell(deps, event, "message too long: API Gateway allows 128 KB a message")
    delivered = broadcast(deps, sender["room"], frame)
    return {"statusCode": 200, "body": f"delivered to {delivered}"}


def on_joinroom(event, deps):
    """joinroom: move the sender to another room and confirm with a joined frame."""
    connection_id = event["requestContext"]["connectionId"]
    room = json.loads(event["body"]).get("room")
    if not isinstance(room, str) or not NAME.fullmatch(room):
        return tell(deps, event, f"room {room!r}: use 1-64 of A-Z a-z 0-9 _ -")
    if not move_connection(deps, connection_id, room):
        return tell(deps, event, "your connection has no row (it expired): reconnect")
    send(deps, connection_id, {"type": "joined", "room": room})
    return {"statusCode": 200, "body": f"joined {room}"}


def on_default(event, deps):
    """$default: a frame with no known action (or not JSON); say what would work."""
    return tell(deps, event, f"unknown frame: {EXAMPLE}")


ROUTES = {
    "$connect": on_connect,
    "$disconnect": on_disconnect,
    "sendmessage": on_sendmessage,
    "joinroom": on_joinroom,
}


@functools.cache
def client(service, endpoint_url=None):
    """One boto3 client per service and endpoint, made on the first (cold) invocation of an
    execution environment; the warm invocations after it reuse it and its connections."""
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        config=Config(max_pool_connections=WORKERS),
    )


def lambda_handler(event, context):
    """The entry point of every route: build the clients, run the route's function."""
    request = event["requestContext"]
    deps = Deps(
        dynamodb=client("dynamodb"),
        table=os.environ["CONNECTIONS_TABLE"],
        management=client(
            "apigatewaymanagementapi", f"https://{request['domainName']}/{request['stage']}"
        ),
    )
    route = ROUTES.get(request["routeKey"], on_default)
    return route(event, deps)
