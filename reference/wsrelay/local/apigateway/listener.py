"""The gateway's one port: WebSocket upgrades to the stage go to the connection core, the rest to aiohttp.

AWS serves a WebSocket API, its ``@connections`` API and (here) the chat page on one
domain, so one port serves all three. Each new TCP connection starts in
:class:`FrontDoor`, which reads the request head (up to the blank line) and decides:

- ``GET /{stage}`` with ``Upgrade: websocket``: the connection becomes a
  :class:`~wsrelay.local.apigateway.wire.WebSocketWire`, whose frames websockets'
  sans-I/O protocol and the connection core handle;
- anything else: the connection is handed, bytes read so far included, to aiohttp's own
  HTTP protocol (``aiohttp.web.Server``, the documented low-level server, is a protocol
  factory), which serves the ``@connections`` API, Lambda's Invoke API and the page.

Both hand-overs use asyncio's public ``Transport.set_protocol`` before the new protocol has
seen any byte, so each protocol sees an ordinary connection from its start. Nothing here
reads or writes a private attribute of aiohttp or websockets.

An HTTP client that keeps a connection alive and later asks it for an upgrade reaches
aiohttp, which answers 400 (open a new connection); browsers and WebSocket clients open
a connection of their own for each WebSocket (RFC 6455 section 4.1).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

__all__ = ["MAX_HEAD_BYTES", "FrontDoor", "http_application", "is_upgrade"]

STATIC = Path(__file__).parent.parent / "static"

#: A request head larger than this goes to aiohttp, which refuses it with its own answer.
MAX_HEAD_BYTES = 64 * 1024


def is_upgrade(head: bytes, path: str) -> bool:
    """Whether the request head ``head`` asks to upgrade ``path`` (query aside) to a WebSocket."""
    request_line, _, rest = head.partition(b"\r\n")
    parts = request_line.split(b" ")
    if len(parts) != 3 or parts[0] != b"GET":
        return False
    if parts[1].split(b"?", 1)[0].decode("latin-1") != path:
        return False
    for line in rest.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"upgrade":
            return b"websocket" in value.lower()
    return False


class FrontDoor(asyncio.Protocol):
    """The first protocol of every connection: reads the head, then hands the connection over.

    Args:
        path: the WebSocket API's path (``/{stage}``).
        websocket: builds the protocol for an upgrade, given the request head and the
            bytes that followed it.
        http: aiohttp's protocol factory (``AppRunner.server``).
    """

    def __init__(
        self,
        path: str,
        websocket: Callable[[bytes, bytes], asyncio.Protocol],
        http: Callable[[], asyncio.Protocol],
    ) -> None:
        self._path = path
        self._websocket = websocket
        self._http = http
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        end = self._buffer.find(b"\r\n\r\n")
        if end == -1 and len(self._buffer) <= MAX_HEAD_BYTES and not _not_get(self._buffer):
            return  # the head goes on in the next segment
        received = bytes(self._buffer)
        self._buffer.clear()
        if end != -1 and is_upgrade(received[:end], self._path):
            head, tail = received[: end + 4], received[end + 4 :]
            self._hand_over(self._websocket(head, tail))
        else:
            protocol = self._hand_over(self._http())
            protocol.data_received(received)

    def _hand_over(self, protocol: asyncio.Protocol) -> asyncio.Protocol:
        transport = self._transport
        assert transport is not None
        transport.set_protocol(protocol)
        protocol.connection_made(transport)
        return protocol

    def eof_received(self) -> bool | None:
        return None  # the client went before a whole head: close

    def connection_lost(self, exc: Exception | None) -> None:
        self._buffer.clear()


def _not_get(buffer: bytearray) -> bool:
    """Whether the request is certainly not a ``GET`` (then aiohttp takes it at once)."""
    return len(buffer) >= 4 and not buffer.startswith(b"GET ")


def http_application(
    stage: str, connections: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.Application:
    """aiohttp's application for the port's plain HTTP: ``@connections`` and the chat page."""
    app = web.Application(client_max_size=8 * 2**20)
    app.router.add_get(f"/{stage}", _not_an_upgrade)
    app.router.add_route("*", f"/{stage}/@connections/{{connection_id}}", connections)
    if (STATIC / "index.html").exists():
        app.router.add_get("/", _index)
        app.router.add_static("/static/", STATIC)
    return app


async def _index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html")


async def _not_an_upgrade(request: web.Request) -> web.Response:
    """``GET /{stage}`` that reached HTTP: no upgrade asked, or on a reused connection."""
    if request.headers.get("Upgrade", "").lower() == "websocket":
        response = web.json_response(
            {"message": "open the WebSocket on a connection of its own, not a reused one"},
            status=400,
        )
        response.force_close()
        return response
    return web.json_response(
        {
            "message": f"This is a WebSocket endpoint: connect with ws://{request.host}{request.path}"
        },
        status=426,
        headers={"Upgrade": "websocket"},
    )
