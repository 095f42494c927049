"""API Gateway's per-frame limits, enforced on aiohttp's WebSocket reader.

aiohttp limits whole messages (``max_msg_size``) and, when that limit trips, drops the TCP
connection at once, so the client may never see the close frame. API Gateway limits each
*frame* to 32 KB and each message to 128 KB, closing with 1009, and closes on a binary frame
with 1003. :class:`FrameLimitGuard` sits in front of aiohttp's parser: it reads only frame
headers (RFC 6455 section 5.2), passes the bytes through untouched, and on a violation
stops feeding the parser and raises the close code through aiohttp's own error path, which
sends the close frame before closing. After a violation the client may still be sending (the
rest of a 200 KB frame, say): closing a socket with unread data sends a TCP RST, which can
destroy the close frame before the client reads it. So the guard keeps reading and dropping
the client's bytes until its close frame (or EOF), and the response holds the transport open
until then, or for its close timeout at most.

:class:`LimitedWebSocketResponse` installs the guard. It relies on aiohttp internals:
``WebSocketResponse._post_start``, ``_close_transport`` and ``_timeout``, and
``RequestHandler._payload_parser`` (aiohttp 3.14); ``tests/local/test_limits.py`` fails if
one stops working.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web
from aiohttp.http_websocket import WebSocketError

from wsrelay.local.routing import (
    CLOSE_TOO_BIG,
    CLOSE_UNSUPPORTED,
    MAX_FRAME_BYTES,
    MAX_MESSAGE_BYTES,
)

__all__ = ["FrameLimitGuard", "LimitedWebSocketResponse"]

_TEXT, _BINARY, _CONTINUATION, _CLOSE = 0x1, 0x2, 0x0, 0x8


class FrameLimitGuard:
    """Wraps aiohttp's WebSocket parser; checks each frame header before the parser sees it."""

    def __init__(self, parser: Any, queue: Any) -> None:
        self._parser = parser
        self._queue = queue
        self._header = bytearray()
        self._skip = 0  # payload bytes of the current frame still to pass
        self._message_bytes = 0
        self._failed = False
        self._peer_closing = False
        #: Set once, after a violation, the client's close frame or EOF has arrived.
        self.drained = asyncio.Event()

    @property
    def failed(self) -> bool:
        """Whether a frame broke a limit (the connection is closing)."""
        return self._failed

    def feed_eof(self) -> None:
        self.drained.set()
        self._parser.feed_eof()

    def feed_data(self, data: bytes | bytearray | memoryview) -> tuple[bool, bytes]:
        data = bytes(data)
        if self._failed:
            self._scan(data)  # drop everything, watching for the client's close frame
            return False, b""
        violation_at, error = self._scan(data)
        if error is None:
            result: tuple[bool, bytes] = self._parser.feed_data(data)
            return result
        if violation_at:
            self._parser.feed_data(data[:violation_at])
        # Not EOF: keep the transport open so aiohttp can send the close frame.
        self._queue.set_exception(error)
        return False, b""

    def _scan(self, data: bytes) -> tuple[int, WebSocketError | None]:
        """Walk the frame headers in ``data``; return where the first violating frame starts."""
        pos = 0
        n = len(data)
        violation: tuple[int, WebSocketError | None] = (0, None)
        while pos < n:
            if self._skip:
                step = min(self._skip, n - pos)
                self._skip -= step
                pos += step
                if not self._skip and self._peer_closing:
                    self.drained.set()
                continue
            frame_start = pos - len(self._header)
            needed = self._header_length()
            take = min(needed - len(self._header), n - pos)
            self._header += data[pos : pos + take]
            pos += take
            if len(self._header) < self._header_length():
                continue  # the header continues in the next chunk
            error = self._check(bytes(self._header))
            if error is not None and not self._failed:
                # Keep walking the rest of ``data`` so the frame count stays in step.
                self._failed = True
                violation = (max(frame_start, 0), error)
            self._header.clear()
        return violation

    def _header_length(self) -> int:
        if len(self._header) < 2:
            return 2
        length_flag = self._header[1] & 0x7F
        mask = 4 if self._header[1] & 0x80 else 0
        extra = 2 if length_flag == 126 else 8 if length_flag == 127 else 0
        return 2 + extra + mask

    def _check(self, header: bytes) -> WebSocketError | None:
        fin = bool(header[0] & 0x80)
        opcode = header[0] & 0x0F
        length_flag = header[1] & 0x7F
        if length_flag == 126:
            length = int.from_bytes(header[2:4], "big")
        elif length_flag == 127:
            length = int.from_bytes(header[2:10], "big")
        else:
            length = length_flag
        self._skip = length
        if self._failed:
            if opcode == _CLOSE:
                self._peer_closing = True
                if not length:
                    self.drained.set()
            return None
        if opcode == _BINARY:
            return WebSocketError(CLOSE_UNSUPPORTED, "Binary frames are not supported: send text")
        if opcode not in (_TEXT, _CONTINUATION):
            return None  # control frames: ping, pong, close
        if length > MAX_FRAME_BYTES:
            return WebSocketError(
                CLOSE_TOO_BIG,
                f"Frame of {length} bytes exceeds the {MAX_FRAME_BYTES}-byte frame limit",
            )
        self._message_bytes = length if opcode == _TEXT else self._message_bytes + length
        if self._message_bytes > MAX_MESSAGE_BYTES:
            return WebSocketError(
                CLOSE_TOO_BIG, f"Message exceeds the {MAX_MESSAGE_BYTES}-byte message limit"
            )
        if fin:
            self._message_bytes = 0
        return None


class LimitedWebSocketResponse(web.WebSocketResponse):
    """A ``WebSocketResponse`` whose incoming frames pass through :class:`FrameLimitGuard`."""

    _guard: FrameLimitGuard | None = None

    def _post_start(self, request: web.BaseRequest, protocol: str | None, writer: Any) -> None:
        super()._post_start(request, protocol, writer)
        self._guard = FrameLimitGuard(self._parser, self._reader)
        request.protocol._payload_parser = self._guard

    def _close_transport(self) -> None:
        # After a violation, write_eof closes the transport once the client has finished.
        if self._guard is None or not self._guard.failed or self._guard.drained.is_set():
            super()._close_transport()

    async def write_eof(self) -> None:  # type: ignore[override]
        await super().write_eof()
        if self._guard is not None and self._guard.failed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._guard.drained.wait(), self._timeout)
            super()._close_transport()
