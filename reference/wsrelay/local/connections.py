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
import collections
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from wsrelay.local.routing import CLOSE_DELETED, CLOSE_NOT_READING, MAX_MESSAGE_BYTES

__all__ = ["Connection", "ConnectionRegistry", "iso8601"]

GONE_MESSAGE = "The connection with the provided id no longer exists."
#: Frames held for one client that is not reading, at most, by default (see ``manage``).
DEFAULT_MAX_BACKLOG_BYTES = 4 * 2**20

logger = logging.getLogger("wsrelay.local")


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
    #: The socket's transport, to see whether the client keeps up with what it is sent.
    transport: asyncio.WriteTransport | None = field(default=None, repr=False)
    #: Frames waiting for a client that fell behind, in order, and their size.
    backlog: collections.deque[bytes] | None = field(default=None, repr=False)
    backlog_bytes: int = 0

    def congested(self) -> bool:
        """Whether frames already wait in the gateway's buffer: the client is not keeping up."""
        return self.transport is not None and self.transport.get_write_buffer_size() > 0

    def cut(self) -> None:
        """Drop the socket without a closing handshake (a client that will not answer one)."""
        if self.transport is not None:
            self.transport.abort()

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

    def __init__(self, *, max_backlog_bytes: int = DEFAULT_MAX_BACKLOG_BYTES) -> None:
        self.open: dict[str, Connection] = {}
        self.max_backlog_bytes = max_backlog_bytes
        self._closing: set[asyncio.Future[None]] = set()
        self._flushers: set[asyncio.Task[None]] = set()

    async def manage(
        self, op: str, connection_id: str, data: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        """Run one ``@connections`` operation; return (HTTP status, JSON body or None)."""
        connection = self.open.get(connection_id)
        if connection is not None and not connection.ready.done():
            await asyncio.shield(connection.ready)
            if self.open.get(connection_id) is not connection:  # the handshake failed
                connection = None
        if connection is None or connection.ws.closed or connection.server_close is not None:
            # Closed, or being closed by the gateway (DeleteConnection, a timeout, a limit).
            return 410, {"__type": "GoneException", "message": GONE_MESSAGE}
        if op == "post":
            if len(data) > MAX_MESSAGE_BYTES:
                return 413, {
                    "__type": "PayloadTooLargeException",
                    "message": f"Data is {len(data)} bytes; the limit is {MAX_MESSAGE_BYTES} bytes (128 KB)",
                }
            if connection.backlog is None and not connection.congested():
                # The socket takes the frame now: no waiting (see ``_hold`` for the rest).
                try:
                    await _send(connection.ws, data)
                except ConnectionError:
                    return 410, {"__type": "GoneException", "message": GONE_MESSAGE}
            else:
                self._hold(connection, data)
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

    def _hold(self, connection: Connection, data: bytes) -> None:
        """Queue a frame for a client that is not keeping up, and write it when it reads.

        Posts to everyone else share one ordered path (a handler's posts arrive in order
        over its worker's channel); waiting there for one slow client would hold up every
        other client's frames. So a client that falls behind gets its own queue and a task
        that writes it; once it holds more than ``max_backlog_bytes`` the client is closed
        with 1008 (AWS documents no limit; without one a stalled client would grow the
        gateway's memory without end).
        """
        if connection.backlog is None:
            connection.backlog = collections.deque()
            task = asyncio.ensure_future(self._flush(connection))
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)
        connection.backlog.append(data)
        connection.backlog_bytes += len(data)
        if connection.backlog_bytes > self.max_backlog_bytes:
            logger.warning(
                "closing %s: it stopped reading, and %d bytes are waiting for it",
                connection.connection_id,
                connection.backlog_bytes,
            )
            connection.backlog.clear()
            connection.backlog_bytes = 0
            connection.request_close(CLOSE_NOT_READING, "Client is not reading")

    @staticmethod
    async def _flush(connection: Connection) -> None:
        """Write a connection's backlog in order, as fast as its client reads."""
        try:
            while connection.backlog:
                data = connection.backlog.popleft()
                connection.backlog_bytes -= len(data)
                await _send(connection.ws, data)
        except Exception:  # the connection ended; its waiting frames end with it
            logger.debug("backlog of %s dropped", connection.connection_id, exc_info=True)
        finally:
            connection.backlog = None
            connection.backlog_bytes = 0

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


async def _send(ws: web.WebSocketResponse, data: bytes) -> None:
    """Write ``data`` as a text frame, or as a binary one if it is not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        await ws.send_bytes(data)
    else:
        await ws.send_str(text)
