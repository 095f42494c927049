"""The gateway's open connections and its ``@connections`` API.

Answers as the botocore model ``apigatewaymanagementapi`` and the AWS docs describe
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html;
the error table is ``wsrelay.aws_facts``):

==========================  ===========================================================
POST   @connections/{id}    200; 410 ``GoneException``; 413 ``PayloadTooLargeException``;
                            429 ``LimitExceededException`` (the client is not reading)
GET    @connections/{id}    200 ``{connectedAt, lastActiveAt, identity}``; 410
DELETE @connections/{id}    204, and the connection closes; 410
==========================  ===========================================================

Errors carry ``x-amzn-ErrorType`` so botocore raises the modelled exception class. A gateway
bound beyond loopback checks each request's SigV4 signature (``sigv4.py``), as AWS does;
on loopback any request is served, as it comes from this machine.

Functions are told which connections are open (``live``): a post to one of those is only
queued, without a reply (``aws_hooks``). A connection leaves ``live`` when its close begins
(``$disconnect`` included: posts then answer 410) and while posts to it are refused (429).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from wsrelay import aws_facts
from wsrelay.local.apigateway import routing
from wsrelay.local.apigateway.sigv4 import SignatureVerifier

if TYPE_CHECKING:
    from wsrelay.local.apigateway.wire import WebSocketWire

__all__ = ["ConnectionRegistry", "iso8601"]

logger = logging.getLogger("wsrelay.local")
_REQUEST_ID = {"x-amzn-RequestId": "local"}


def iso8601(epoch_ms: int) -> str:
    """Format epoch milliseconds as the API does: ``2026-11-27T08:48:09.123Z``."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


class ConnectionRegistry:
    """The open connections by id, and the operations of the ``@connections`` API.

    Args:
        announce: tells the functions' environments whether a connection is ``live``.
        verifier: checks SigV4 signatures on the HTTP API (``None``: accept any request).
    """

    def __init__(
        self,
        announce: Callable[[str, bool], None] = lambda connection_id, live: None,
        verifier: SignatureVerifier | None = None,
    ) -> None:
        self.open: dict[str, WebSocketWire] = {}
        self._announce = announce
        self._live: set[str] = set()
        self.verifier = verifier

    # --- membership (the wires call these) ------------------------------------------------

    def add(self, wire: WebSocketWire) -> None:
        self.open[wire.connection_id] = wire

    def remove(self, wire: WebSocketWire) -> None:
        if self.open.get(wire.connection_id) is wire:
            del self.open[wire.connection_id]
        self.live_changed(wire)

    def live_changed(self, wire: WebSocketWire) -> None:
        """Announce the connection to the functions if its ``live`` state changed."""
        core = wire.core
        live = (
            core is not None
            and core.open
            and not core.refusing
            and self.open.get(wire.connection_id) is wire
        )
        connection_id = wire.connection_id
        if live == (connection_id in self._live):
            return
        if live:
            self._live.add(connection_id)
        else:
            self._live.discard(connection_id)
        self._announce(connection_id, live)

    # --- the operations -------------------------------------------------------------------------

    async def manage(
        self, op: str, connection_id: str, data: bytes, *, acknowledged: bool = False
    ) -> tuple[int, dict[str, Any] | None]:
        """Run one ``@connections`` operation; return (HTTP status, JSON body or None).

        ``acknowledged``: a post a function was already told succeeded (see ``core.post``).
        """
        wire = self.open.get(connection_id)
        core = wire.core if wire is not None else None
        if wire is None or core is None or not core.open:
            # Never connected, closed, or closing ($disconnect may be running).
            return aws_facts.GONE.status, aws_facts.GONE.body()
        if op == "post":
            error = wire.post(data, acknowledged=acknowledged)
            if error is None:
                return 200, None
            if error is aws_facts.PAYLOAD_TOO_LARGE:
                message = f"Data is {len(data)} bytes; the limit is {aws_facts.MAX_MESSAGE_BYTES} bytes (128 KB)"
                return error.status, error.body(message)
            if error is aws_facts.LIMIT_EXCEEDED:
                logger.warning(
                    "%s is not reading: %d bytes wait for it; posts are refused (429)",
                    connection_id,
                    core.queued_bytes,
                )
            return error.status, error.body()
        if op == "get":
            assert wire.handshake is not None
            return 200, {
                "connectedAt": iso8601(wire.handshake.connected_at),
                "lastActiveAt": iso8601(int(core.last_active_at * 1000)),
                "identity": {
                    "sourceIp": wire.handshake.peer,
                    "userAgent": wire.handshake.user_agent,
                },
            }
        if op == "delete":
            # Closing waits for the client's close reply; the caller need not.
            wire.close(
                routing.CLOSE_DELETED,
                "Connection deleted",
                disconnect_reason=routing.DELETED_REASON,
            )
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
        if self.verifier is not None:
            refused = self.verifier.check(
                request.method, request.raw_path, list(request.headers.items()), data
            )
            if refused is not None:
                return _error(*refused)
        status, body = await self.manage(op, request.match_info["connection_id"], data)
        if status >= 300 and body is not None:
            return _error(status, str(body["__type"]), str(body["message"]))
        if body is None:
            return web.Response(status=status, headers=_REQUEST_ID)
        return web.json_response(body, status=status, headers=_REQUEST_ID)


def _error(status: int, code: str, message: str) -> web.Response:
    headers = {**_REQUEST_ID, "x-amzn-ErrorType": code}
    return web.json_response({"message": message}, status=status, headers=headers)
