"""The Lambda entry points: what ships to AWS (standard library and boto3 only).

``lambda_handler(event, context)`` dispatches on ``requestContext.routeKey``:

=============== ===========================================================================
``$connect``    validate ``?room=`` and the name, store the connection (400 refuses it)
``$disconnect`` delete the connection's row
``sendmessage`` broadcast a ``message`` frame to the sender's room, sender included
``joinroom``    move the sender to another room and confirm with a ``joined`` frame
``$default``    anything else: answer with an ``error`` frame that shows a valid frame
=============== ===========================================================================

Route functions take their collaborators (store, broadcaster, clock) as arguments, so the
same code runs in Lambda, in the local gateway and in tests; ``lambda_handler`` only builds
them from the environment:

- ``CONNECTIONS_TABLE``: the table's name (required).
- ``MESSAGE_MAX_BYTES``, ``MESSAGE_RATE_LIMIT``, ``MESSAGE_RATE_WINDOW`` (optional): the abuse
  caps of :class:`MessageLimits`: the longest message (UTF-8 bytes) and how many messages one
  connection may send per window (seconds). Unset, there is no cap but API Gateway's.
- ``FANOUT_FUNCTION`` (optional): a fan-out function's name; a broadcast to a room bigger
  than one page (``FANOUT_PAGE_SIZE``, 1,000 members) hands the further pages to it
  (``wsrelay.fanout``), whose entry point is :func:`fanout_handler`.
- The management API's endpoint is ``https://{domainName}/{stage}`` from the event, unless
  the SDK's own ``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI`` is set; DynamoDB likewise
  honours ``AWS_ENDPOINT_URL_DYNAMODB``. Both are standard boto3 settings:
  https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html

Behind the ``$connect`` authorizer (``wsrelay.authorizer``) the user's name is the one the
authorizer verified, ``requestContext.authorizer.name``, and ``?name=`` is ignored: a name
in the query string is whatever the client typed.

``$connect`` and ``sendmessage`` log an INFO line each (who connected; what was broadcast to
how many), a message refused by the rate limit a WARNING; Python's root logger is at
WARNING in Lambda unless the function's ``LoggingConfig`` says otherwise
(https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html).

A route's return value reaches no client (the API defines no route responses), so every
error on a message route is posted to the sender as an ``error`` frame.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from wsrelay import aws_facts, events, protocol
from wsrelay.authorizer import CONTEXT_NAME
from wsrelay.broadcast import DEFAULT_MAX_WORKERS, Broadcaster
from wsrelay.exceptions import ConfigurationError, ProtocolError
from wsrelay.fanout import (
    DEFAULT_PAGE_SIZE,
    FANOUT_FUNCTION_VARIABLE,
    PAGE_SIZE_VARIABLE,
    SplitFanout,
    encode_event,
    handle_fanout_event,
)
from wsrelay.store import ConnectionStore

if TYPE_CHECKING:
    from mypy_boto3_apigatewaymanagementapi import ApiGatewayManagementApiClient
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "Dependencies",
    "MessageLimits",
    "authorized_name",
    "dependencies_from_environment",
    "dispatch",
    "fanout_handler",
    "lambda_handler",
    "on_connect",
    "on_default",
    "on_disconnect",
    "on_joinroom",
    "on_sendmessage",
]

logger = logging.getLogger(__name__)

Response = dict[str, Any]
TABLE_VARIABLE = "CONNECTIONS_TABLE"
MANAGEMENT_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI"
DYNAMODB_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL_DYNAMODB"
#: Posts in flight per broadcast. Each needs its own HTTP connection, so the clients' pools
#: are as large: with botocore's default pool of 10, urllib3 would discard the extra
#: connections ("Connection pool is full") and later posts would pay for new TLS handshakes.
_BROADCAST_WORKERS = DEFAULT_MAX_WORKERS


MAX_BYTES_VARIABLE = "MESSAGE_MAX_BYTES"
RATE_LIMIT_VARIABLE = "MESSAGE_RATE_LIMIT"
RATE_WINDOW_VARIABLE = "MESSAGE_RATE_WINDOW"


@dataclass(frozen=True)
class MessageLimits:
    """The abuse caps of ``sendmessage`` (``None``: no cap of ours).

    - ``max_bytes``: the longest message, in UTF-8 bytes. API Gateway itself takes up to
      128 KB, and meters messages in 32 KB units: a cap far below keeps each post of a
      broadcast one unit, and a room's bill proportional to its members.
    - ``rate`` messages per ``window_seconds``, per connection: counted on the connection's
      row (``ConnectionStore.count_message``), since the handler runs in many environments.
      The message over the limit costs its invocation and a write, but no broadcast: the
      fan-out of a flood, N posts per message, is what the cap prevents.
    """

    max_bytes: int | None = None
    rate: int | None = None
    window_seconds: float = 10.0

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> MessageLimits:
        """The caps the function's environment sets (``MESSAGE_MAX_BYTES`` …)."""

        def number(name: str) -> int | None:
            value = environ.get(name, "").strip()
            return int(value) if value else None

        return cls(
            max_bytes=number(MAX_BYTES_VARIABLE),
            rate=number(RATE_LIMIT_VARIABLE),
            window_seconds=float(environ.get(RATE_WINDOW_VARIABLE) or 10),
        )


#: Picks names for users who give none. One per process: seeding a generator per invocation
#: reads 2.5 KB from ``os.urandom`` each time.
_NAMES = random.Random()


@dataclass
class Dependencies:
    """What the route functions need: the table, a way to reach the connections, a clock."""

    store: ConnectionStore
    broadcaster: Broadcaster
    clock: Callable[[], float] = time.time
    rng: random.Random = _NAMES
    #: Splits big rooms across invocations of a fan-out function (``wsrelay.fanout``).
    fanout: SplitFanout | None = None
    #: The abuse caps of ``sendmessage``.
    limits: MessageLimits = MessageLimits()


def _response(status: int, body: str = "") -> Response:
    return {"statusCode": status, "body": body}


# --- the routes -----------------------------------------------------------------------------


def on_connect(event: Mapping[str, Any], deps: Dependencies) -> Response:
    """``$connect``: validate the room and the name and store the connection.

    The name is the authorizer's (``requestContext.authorizer.name``) when the route has one,
    else ``?name=``, else a generated one. Returns 400 (which refuses the WebSocket handshake
    with HTTP 400) when ``room`` or the name is not 1-64 characters of ``A-Za-z0-9_-``.
    A client that offers subprotocols gets the first one back, as API Gateway requires for
    the handshake to complete:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-connect-route-subprotocol.html
    """
    params = events.query_parameters(event)
    verified = authorized_name(event)
    try:
        room = protocol.validate_room(params.get("room", protocol.DEFAULT_ROOM))
        if verified is not None:
            name = protocol.validate_name(verified)
        elif "name" in params:
            name = protocol.validate_name(params["name"])
        else:
            name = protocol.generate_name(deps.rng)
    except ProtocolError as exc:
        return _response(400, f"connection refused: {exc}")
    connected_at = event["requestContext"].get("connectedAt")
    connection_id = events.connection_id(event)
    deps.store.add(connection_id, room, name, connected_at=connected_at)
    logger.info(
        "connected %s to %s as %s%s",
        connection_id,
        room,
        name,
        " (authorized)" if verified is not None else "",
    )
    response = _response(200, f"connected to {room} as {name}")
    offered = _header(event, "Sec-WebSocket-Protocol")
    if offered:
        response["headers"] = {"Sec-WebSocket-Protocol": offered.split(",")[0].strip()}
    return response


def authorized_name(event: Mapping[str, Any]) -> str | None:
    """The name the ``$connect`` authorizer verified, or ``None`` without an authorizer.

    API Gateway passes the authorizer's ``context`` on every event of the connection as
    ``requestContext.authorizer``:
    https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
    """
    authorizer = event.get("requestContext", {}).get("authorizer") or {}
    name = authorizer.get(CONTEXT_NAME) if isinstance(authorizer, Mapping) else None
    return None if name is None else str(name)


def on_disconnect(event: Mapping[str, Any], deps: Dependencies) -> Response:
    """``$disconnect``: delete the connection's row (a missing row is fine: it may have expired)."""
    deps.store.remove(events.connection_id(event))
    return _response(200, "disconnected")


def on_sendmessage(event: Mapping[str, Any], deps: Dependencies) -> Response:
    """``sendmessage``: broadcast the message to the sender's room, sender included."""
    return _on_message(event, deps)


def on_joinroom(event: Mapping[str, Any], deps: Dependencies) -> Response:
    """``joinroom``: move the sender to the room and answer with a ``joined`` frame."""
    return _on_message(event, deps)


def on_default(event: Mapping[str, Any], deps: Dependencies) -> Response:
    """``$default``: the frame matched no route; tell the sender what a valid frame is."""
    try:
        protocol.parse_client_frame(events.body(event))
        # A valid frame can only land here when the API lacks its route.
        error = "this API has no route for that action; ask its owner to add the route"
    except ProtocolError as exc:
        error = str(exc)
    return _tell_sender(event, deps, error)


def _on_message(event: Mapping[str, Any], deps: Dependencies) -> Response:
    sender = events.connection_id(event)
    try:
        frame = protocol.parse_client_frame(events.body(event))
    except ProtocolError as exc:
        return _tell_sender(event, deps, str(exc))
    if isinstance(frame, protocol.JoinRoom):
        if deps.store.move(sender, frame.room) is None:
            return _tell_sender(event, deps, _NOT_REGISTERED)
        deps.broadcaster.send(sender, protocol.joined_frame(frame.room))
        return _response(200, f"joined {frame.room}")
    limits = deps.limits
    size = len(frame.message.encode("utf-8"))
    if limits.max_bytes is not None and size > limits.max_bytes:
        return _tell_sender(
            event,
            deps,
            f"message too long: {size:,} bytes, and this chat allows {limits.max_bytes:,}; "
            "send a shorter message",
        )
    if limits.rate is None:
        row = deps.store.get(sender)
    else:
        # The count's conditional write returns the row too, so no GetItem: one DynamoDB
        # call for a message inside a window, two for the first of a window.
        count = deps.store.count_message(
            sender, limit=limits.rate, window_seconds=limits.window_seconds
        )
        row = count.row
        if row is not None and not count.allowed:
            logger.warning(
                "rate limited %s in %s (%d per %g s)",
                sender,
                row.room,
                limits.rate,
                limits.window_seconds,
            )
            return _tell_sender(
                event,
                deps,
                f"slow down: at most {limits.rate} messages every {limits.window_seconds:g} s; "
                "this one was not sent",
            )
    if row is None:
        return _tell_sender(event, deps, _NOT_REGISTERED)
    try:
        payload = protocol.message_frame(
            room=row.room,
            sender=row.user_name,
            connection_id=sender,
            message=frame.message,
            sent_at=int(deps.clock() * 1000),
        )
    except ProtocolError as exc:
        return _tell_sender(event, deps, str(exc))
    result: object = (
        deps.fanout.broadcast(row.room, payload)
        if deps.fanout is not None
        else deps.broadcaster.broadcast(row.room, payload)
    )
    logger.info("%s sent %d bytes to %s: %s", row.user_name, size, row.room, result)
    return _response(200, str(result))


_NOT_REGISTERED = (
    "your connection is not in the connections table (its row expired or was removed); "
    "reconnect to join again"
)


def _tell_sender(event: Mapping[str, Any], deps: Dependencies, error: str) -> Response:
    """Post an error frame to the sender; return 400 with the error either way.

    A sender that has gone meanwhile (410) is cleaned up by ``send``; any other failure to
    reach it is logged, since the answer to a bad frame must not become a crash.
    """
    try:
        deps.broadcaster.send(events.connection_id(event), protocol.error_frame(error))
    except Exception:
        logger.warning("could not post the error frame to the sender", exc_info=True)
    return _response(400, error)


def _header(event: Mapping[str, Any], name: str) -> str | None:
    headers = event.get("headers") or {}
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None


ROUTES: dict[str, Callable[[Mapping[str, Any], Dependencies], Response]] = {
    aws_facts.CONNECT_ROUTE: on_connect,
    aws_facts.DISCONNECT_ROUTE: on_disconnect,
    "sendmessage": on_sendmessage,
    "joinroom": on_joinroom,
    aws_facts.DEFAULT_ROUTE: on_default,
}


def dispatch(event: Mapping[str, Any], deps: Dependencies) -> Response:
    """Run the route function for the event's ``routeKey``.

    An unknown route key is answered like ``$default``; an event that is not a WebSocket
    event at all gets 400 with the reason.
    """
    try:
        route = events.route_key(event)
        events.connection_id(event)
    except ValueError as exc:
        return _response(400, str(exc))
    handler = ROUTES.get(route, on_default)
    return handler(event, deps)


# --- building the collaborators in Lambda ---------------------------------------------------

_clients: dict[tuple[str, str | None, str | None], Any] = {}
_clients_lock = threading.Lock()


def _client(service: str, endpoint_url: str | None) -> Any:
    """Return a cached boto3 client: warm invocations reuse connections and credentials.

    The cache is keyed by endpoint and region, so events from two APIs (or two local
    gateways in one process) never share a client meant for the other.
    """
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    key = (service, endpoint_url, region)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = boto3.client(  # type: ignore[call-overload]
                service,
                endpoint_url=endpoint_url,
                region_name=region,
                config=Config(max_pool_connections=_BROADCAST_WORKERS),
            )
            _clients[key] = client
    return client


def dependencies_from_environment(event: Mapping[str, Any]) -> Dependencies:
    """Build the route functions' collaborators from the environment and the event.

    The endpoints are the ones boto3 itself would pick from ``AWS_ENDPOINT_URL_DYNAMODB``
    and ``AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI``; they are passed explicitly only so the
    client cache can tell them apart.

    Raises:
        ConfigurationError: ``CONNECTIONS_TABLE`` is not set.
    """
    table = os.environ.get(TABLE_VARIABLE)
    if not table:
        raise ConfigurationError(
            f"{TABLE_VARIABLE} is not set: set it to the connections table's name"
        )
    dynamodb: DynamoDBClient = _client("dynamodb", os.environ.get(DYNAMODB_ENDPOINT_VARIABLE))
    management_url = os.environ.get(MANAGEMENT_ENDPOINT_VARIABLE) or (
        f"https://{events.domain_name(event)}/{events.stage(event)}"
    )
    management: ApiGatewayManagementApiClient = _client("apigatewaymanagementapi", management_url)
    store = ConnectionStore(dynamodb, table)
    broadcaster = Broadcaster(management, store, max_workers=_BROADCAST_WORKERS)
    fanout = None
    function = os.environ.get(FANOUT_FUNCTION_VARIABLE)
    if function:
        lambda_client = _client("lambda", None)

        def invoke(event: Mapping[str, Any]) -> None:
            lambda_client.invoke(
                FunctionName=function, InvocationType="Event", Payload=encode_event(event)
            )

        page_size = int(os.environ.get(PAGE_SIZE_VARIABLE) or DEFAULT_PAGE_SIZE)
        fanout = SplitFanout(store, broadcaster, invoke, management_url, page_size=page_size)
    limits = MessageLimits.from_environment(os.environ)
    return Dependencies(store=store, broadcaster=broadcaster, fanout=fanout, limits=limits)


def fanout_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The fan-out function's entry point: post one page of a room (``wsrelay.fanout``).

    Never raises, so Lambda does not retry a page (its retries are off as well); a duplicate
    event of Lambda's own queue finds the page's claim and posts nothing (``wsrelay.fanout``).
    """
    table = os.environ.get(TABLE_VARIABLE)
    if not table:
        raise ConfigurationError(
            f"{TABLE_VARIABLE} is not set: set it to the connections table's name"
        )
    dynamodb: DynamoDBClient = _client("dynamodb", os.environ.get(DYNAMODB_ENDPOINT_VARIABLE))
    management: ApiGatewayManagementApiClient = _client(
        "apigatewaymanagementapi", str(event.get("endpoint", ""))
    )
    broadcaster = Broadcaster(
        management, ConnectionStore(dynamodb, table), max_workers=_BROADCAST_WORKERS
    )
    return handle_fanout_event(event, broadcaster)


def lambda_handler(event: dict[str, Any], context: object) -> Response:
    """The Lambda entry point: build collaborators from the environment, then dispatch."""
    try:
        events.route_key(event)
        events.domain_name(event)
        events.stage(event)
    except ValueError as exc:
        return _response(400, str(exc))
    return dispatch(event, dependencies_from_environment(event))
