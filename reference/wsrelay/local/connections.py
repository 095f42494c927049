"""The gateway's open connections and its ``@connections`` API.

Answers as the botocore model ``apigatewaymanagementapi`` and the AWS docs describe
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html):

==========================  ======================================================
POST   @connections/{id}    200; 410 ``GoneException``; 413 ``PayloadTooLargeException``
GET    @connections/{id}    200 ``{connectedAt, lastActiveAt, identity}``; 410
DELETE @connections/{id}    204, and the connection closes; 410
==========================  ======================================================

Errors carry ``x-amzn-ErrorType`` so botocore raises the modelled exception class.
Requests are not signature-checked: the gateway listens on loopback for one user.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from wsrelay.local.routing import CLOSE_DELETED, MAX_MESSAGE_BYTES

__all__ = ["Connection", "ConnectionRegistry", "iso8601"]

GONE_MESSAGE = "The connection with the provided id no longer exists."


def iso8601(epoch_ms: int) -> str:
    """Format epoch milliseconds as the API does: ``2026-11-27T08:48:09.123Z``."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def _future() -> asyncio.Future[None]:
    return asyncio.get_running_loop().create_future()


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


@dataclass(eq=False)
class Connection:
    """One open WebSocket connection, as the gateway tracks it.

    Its signals are bare futures rather than ``asyncio.Event``s: a gateway holds thousands
    of connections, and a future is a fraction of an event's size.
    """

    connection_id: str
    ws: web.WebSocketResponse
    connected_at: int
    source_ip: str
    user_agent: str | None
    authorizer: dict[str, Any] | None = None
    last_active_at: int = 0
    server_close: tuple[int, str] | None = None
    #: Done once the handshake's 101 has been written (or has failed).
    ready: asyncio.Future[None] = field(default_factory=_future, repr=False)
    #: Done once :meth:`request_close` was called: the reading task starts the closing handshake.
    close_requested: asyncio.Future[None] = field(default_factory=_future, repr=False)
    #: Done when the reading task has finished with the socket.
    ended: asyncio.Future[None] = field(default_factory=_future, repr=False)

    def touch(self) -> None:
        """Record client activity (resets the idle timeout)."""
        self.last_active_at = int(time.time() * 1000)

    def mark_ready(self) -> None:
        _settle(self.ready)

    def mark_ended(self) -> None:
        _settle(self.ended)

    def request_close(self, code: int, reason: str) -> None:
        """Ask the connection's reading task to close it with ``code`` (see :meth:`close`)."""
        if self.server_close is None:
            self.server_close = (code, reason)
        _settle(self.close_requested)

    async def close(self, code: int, reason: str) -> None:
        """Close from the server side with ``code`` and wait until the connection has ended.

        The connection's own reading task sends the close frame and waits for the client's
        close reply, as a closing handshake should (RFC 6455 section 7.1.2), so a client that
        answers is not cut off mid-reply. ``$disconnect`` reports ``code``.
        """
        self.request_close(code, reason)
        # Shielded: a caller that gives up waiting must not cancel the shared future.
        await asyncio.shield(self.ended)


class ConnectionRegistry:
    """The open connections by id, and the operations of the ``@connections`` API."""

    def __init__(self) -> None:
        self.open: dict[str, Connection] = {}
        self._closing: set[asyncio.Future[None]] = set()

    async def manage(
        self, op: str, connection_id: str, data: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        """Run one ``@connections`` operation; return (HTTP status, JSON body or None)."""
        connection = self.open.get(connection_id)
        if connection is not None and not connection.ready.done():
            await asyncio.shield(connection.ready)
            if self.open.get(connection_id) is not connection:  # the handshake failed
                connection = None
        if connection is None or connection.ws.closed:
            return 410, {"__type": "GoneException", "message": GONE_MESSAGE}
        if op == "post":
            if len(data) > MAX_MESSAGE_BYTES:
                return 413, {
                    "__type": "PayloadTooLargeException",
                    "message": f"Data is {len(data)} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (128 KB)",
                }
            try:
                await connection.ws.send_str(data.decode("utf-8"))
            except UnicodeDecodeError:
                await connection.ws.send_bytes(data)
            except ConnectionError:
                return 410, {"__type": "GoneException", "message": GONE_MESSAGE}
            return 200, None
        if op == "get":
            return 200, {
                "connectedAt": iso8601(connection.connected_at),
                "lastActiveAt": iso8601(connection.last_active_at or connection.connected_at),
                "identity": {"sourceIp": connection.source_ip, "userAgent": connection.user_agent},
            }
        if op == "delete":
            # Closing waits for the client's close reply; the caller need not.
            task = asyncio.ensure_future(connection.close(CLOSE_DELETED, "Connection deleted"))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            return 204, None
        return 400, {"__type": "BadRequestException", "message": f"unknown operation {op!r}"}

    async def http_handler(self, request: web.Request) -> web.Response:
        """The ``/{stage}/@connections/{connectionId}`` HTTP endpoint."""
        ops = {"POST": "post", "GET": "get", "DELETE": "delete"}
        op = ops.get(request.method)
        if op is None:
            return web.json_response(
                {"message": f"Method {request.method} not allowed: use POST, GET or DELETE"},
                status=405,
            )
        data = await request.read() if op == "post" else b""
        status, body = await self.manage(op, request.match_info["connection_id"], data)
        headers = {"x-amzn-RequestId": "local"}
        if status >= 300 and body is not None:
            headers["x-amzn-ErrorType"] = str(body["__type"])
            return web.json_response({"message": body["message"]}, status=status, headers=headers)
        if body is None:
            return web.Response(status=status, headers=headers)
        return web.json_response(body, status=status, headers=headers)
