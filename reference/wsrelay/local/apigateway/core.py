"""One WebSocket connection's rules, sans I/O: fed bytes, events and the time; it says what to send.

The asyncio side (``wire.py``) moves bytes and runs invocations; every decision API Gateway
makes about an open connection is taken here, where tests drive it without a socket:

- **Frames.** websockets' sans-I/O ``Protocol`` parses RFC 6455 with the 128 KB message
  limit; the 32 KB frame limit and "binary not supported" (1003, before any size) are
  checked here, per frame; text that is not UTF-8 is 1007. Frames before a violation count.
- **Routes.** Each complete message gets its route, a request id and a message id, in order
  (:meth:`messages_received`); its answer comes back through :meth:`handled` (the
  ``Internal server error`` frame, or a two-way reply) or :meth:`forbidden`.
- **Timers.** Traffic either way (a frame from the client, a post to it) moves
  ``last_active_at``; idle for ``idle_timeout`` or open for ``max_duration`` closes with
  1001; a closing handshake not finished in ``close_timeout`` ends in a cut.
- **Posts.** :meth:`post` answers as ``PostToConnection``: 410 once the close has begun
  (``$disconnect`` included), 413 past 128 KB, 429 ``LimitExceededException`` while
  ``max_backlog_bytes`` wait for a client that stopped reading (it stays open; ``outbox``).
- **The end.** :attr:`ended` is (``disconnectStatusCode``, ``disconnectReason``): the code
  of whoever closed first (1005 for a close frame without one), 1006 for a lost connection.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass

from websockets.frames import Frame, Opcode
from websockets.protocol import OPEN, Protocol, State

from wsrelay import aws_facts
from wsrelay.aws_facts import ApiError
from wsrelay.local.apigateway import proxy, routing
from wsrelay.local.apigateway.outbox import Outbox
from wsrelay.local.lambda_runtime.environments import Invocation

__all__ = ["DEFAULT_MAX_BACKLOG_BYTES", "ConnectionCore", "Inbound", "Limits"]

#: Bytes held for a client that is not reading before posts to it are refused (429).
#: AWS documents the error ("the WebSocket client side buffer is full"), not the size.
DEFAULT_MAX_BACKLOG_BYTES = 4 * 2**20
#: Seconds a closing handshake may take before the socket is cut (a client that does not
#: read never sees the close frame, nor answers it).
CLOSE_TIMEOUT = 12.0
_TEXT_OR_CONT = (Opcode.TEXT, Opcode.CONT)
_FRAME = aws_facts.MAX_FRAME_BYTES


@dataclass(frozen=True)
class Limits:
    """Timeouts (seconds) and the slow-client backlog: AWS's values unless a test shortens them."""

    idle_timeout: float = aws_facts.IDLE_TIMEOUT_SECONDS
    max_duration: float = aws_facts.MAX_CONNECTION_SECONDS
    integration_timeout: float = aws_facts.INTEGRATION_TIMEOUT_SECONDS
    max_backlog_bytes: int = DEFAULT_MAX_BACKLOG_BYTES
    close_timeout: float = CLOSE_TIMEOUT


@dataclass(frozen=True)
class Inbound:
    """A complete message from the client, its route (``None``: Forbidden) and its ids."""

    body: str
    route_key: str | None
    request_id: str
    message_id: str
    received_at: int  #: epoch milliseconds


class ConnectionCore:
    """The rules of one open connection (see the module docstring).

    Args:
        protocol: websockets' ``Protocol`` (``ServerProtocol`` once its 101 is sent).
        connection_id: the connection's id (in the gateway's own frames).
        connected_at: epoch seconds.
        limits: timeouts and the backlog limit.
        selection_expression, route_keys: the API's routing.
        new_id: makes request and message ids.
    """

    def __init__(
        self,
        protocol: Protocol,
        *,
        connection_id: str,
        connected_at: float,
        limits: Limits,
        selection_expression: str,
        route_keys: Collection[str],
        new_id: Callable[[], str],
    ) -> None:
        self.protocol = protocol
        self.connection_id = connection_id
        self.connected_at = connected_at
        self.last_active_at = connected_at
        self.limits = limits
        self._expression = selection_expression
        self._route_keys = route_keys
        self._new_id = new_id
        self._parts: list[bytes] = []
        self._inbound: list[Inbound] = []
        self.outbox = Outbox(protocol)
        self._failed = False
        self._close_deadline: float | None = None
        self._disconnect: tuple[int, str] | None = None
        #: Set once the socket should be cut (a closing handshake that never finished).
        self.abort = False

    # --- state ------------------------------------------------------------------------------

    @property
    def open(self) -> bool:
        """Whether it takes posts: open, and no close begun."""
        return self.protocol.state is OPEN

    @property
    def closed(self) -> bool:
        return self.protocol.state is State.CLOSED

    @property
    def handshake_done(self) -> bool:
        """Both close frames exchanged: the closing handshake is over."""
        return self.protocol.close_rcvd is not None and self.protocol.close_sent is not None

    @property
    def ended(self) -> tuple[int, str] | None:
        """(``disconnectStatusCode``, ``disconnectReason``) once closed, else ``None``."""
        if not self.closed:
            return None
        protocol = self.protocol
        rcvd, sent = protocol.close_rcvd, protocol.close_sent
        if rcvd is not None and (sent is None or protocol.close_rcvd_then_sent):
            return rcvd.code, routing.disconnect_reason(rcvd.code, rcvd.reason)
        if sent is not None:
            return self._disconnect or (
                sent.code,
                routing.disconnect_reason(sent.code, sent.reason),
            )
        return routing.CLOSE_ABNORMAL, routing.disconnect_reason(routing.CLOSE_ABNORMAL)

    # --- from the socket ----------------------------------------------------------------------

    def receive_data(self, data: bytes, now: float) -> None:
        """Bytes from the client."""
        # Once the gateway has started closing, frames still arriving are not routed.
        was_open = self.protocol.state is OPEN
        self.protocol.receive_data(data)
        for frame in self.protocol.events_received():
            if not isinstance(frame, Frame):
                continue  # the handshake's request, read before the 101
            if self._failed or not was_open:
                break  # after a violation, what followed it is dropped
            if frame.opcode is Opcode.BINARY:
                self._fail(routing.CLOSE_UNSUPPORTED, "Binary frames are not supported: send text")
            elif frame.opcode in _TEXT_OR_CONT:
                self._frame(bytes(frame.data), frame.fin, now)
        self._closing_started(now)
        self.outbox.pull()

    def receive_eof(self, now: float) -> None:
        """The client's end of the stream (or the connection was lost)."""
        self.protocol.receive_eof()
        self.outbox.pull()

    def _frame(self, data: bytes, fin: bool, now: float) -> None:
        if len(data) > _FRAME:
            message = f"Frame of {len(data)} bytes exceeds the {_FRAME}-byte frame limit"
            self._fail(routing.CLOSE_TOO_BIG, message)
            return
        self._parts.append(data)
        if not fin:
            return
        payload = b"".join(self._parts)
        self._parts.clear()
        try:
            body = payload.decode("utf-8")
        except UnicodeDecodeError:
            self._fail(routing.CLOSE_INVALID_TEXT, "Text message is not valid UTF-8")
            return
        self.last_active_at = now
        route = routing.select_route(self._expression, body, self._route_keys)
        self._inbound.append(Inbound(body, route, self._new_id(), self._new_id(), int(now * 1000)))

    def _fail(self, code: int, reason: str) -> None:
        self._failed = True
        self._parts.clear()
        self.protocol.fail(code, reason)

    def messages_received(self) -> list[Inbound]:
        """The complete messages received since the last call, in order."""
        messages, self._inbound = self._inbound, []
        return messages

    # --- from the gateway ---------------------------------------------------------------------

    def close(self, code: int, reason: str, now: float, *, disconnect_reason: str = "") -> None:
        """Start a closing handshake from the server (DeleteConnection, a timeout, stopping).

        The close frame waits behind frames already queued. ``disconnect_reason`` replaces
        the frame's reason in ``$disconnect`` (DeleteConnection's differs, see ``routing``).
        """
        if self.protocol.state is not OPEN:
            return
        self.protocol.send_close(code, reason)
        if disconnect_reason:
            self._disconnect = (code, disconnect_reason)
        self._closing_started(now)
        self.outbox.pull()

    def post(self, data: bytes, now: float, *, acknowledged: bool = False) -> ApiError | None:
        """A ``PostToConnection``: ``None`` when the frame is queued, else the API's error.

        ``acknowledged``: the poster was already told 200 (a function's fast path); such a
        frame is queued even past the backlog limit, never dropped.
        """
        if self.protocol.state is not OPEN:
            return aws_facts.GONE
        if len(data) > aws_facts.MAX_MESSAGE_BYTES:
            return aws_facts.PAYLOAD_TOO_LARGE
        outbox = self.outbox
        if not acknowledged and outbox.queued_bytes + len(data) > self.limits.max_backlog_bytes:
            outbox.refusing = True
            return aws_facts.LIMIT_EXCEEDED
        outbox.send(data, text=data.isascii() or _is_utf8(data))
        self.last_active_at = now
        if outbox.queued_bytes > self.limits.max_backlog_bytes:
            outbox.refusing = True  # the functions stop posting without a reply (``live``)
        return None

    def forbidden(self, inbound: Inbound) -> None:
        """No route and no ``$default``: API Gateway's Forbidden frame."""
        self._gateway_error("Forbidden", inbound)

    def handled(self, inbound: Inbound, result: Invocation, *, two_way: bool, now: float) -> None:
        """A route's invocation ended: its error frame, or (two-way) its reply."""
        if not result.ok or not proxy.is_proxy_response(result.value):
            self._gateway_error("Internal server error", inbound)
            return
        reply = proxy.reply_body(result.value) if two_way else None
        if reply is None:
            return
        data = reply.encode("utf-8")
        if len(data) > aws_facts.MAX_MESSAGE_BYTES:  # route responses are limited too
            self._gateway_error("Internal server error", inbound)
            return
        if self.protocol.state is OPEN:
            self.outbox.send(data, text=True)
            self.last_active_at = now

    def _gateway_error(self, message: str, inbound: Inbound) -> None:
        if self.protocol.state is OPEN:
            frame = routing.gateway_error_frame(message, self.connection_id, inbound.request_id)
            self.outbox.send(frame.encode("utf-8"), text=True)

    # --- time ---------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        """When :meth:`timer` must next be called (epoch seconds), or ``None``."""
        if self.protocol.state is OPEN:
            limits = self.limits
            return min(
                self.connected_at + limits.max_duration, self.last_active_at + limits.idle_timeout
            )
        return None if self.closed else self._close_deadline

    def timer(self, now: float) -> None:
        """The deadline passed: close an idle or too-old connection, cut a stuck close."""
        if self.protocol.state is OPEN:
            limits = self.limits
            if (
                now >= self.connected_at + limits.max_duration
                or now >= self.last_active_at + limits.idle_timeout
            ):
                self.close(routing.CLOSE_GOING_AWAY, "Going away", now)
        elif self._close_deadline is not None and now >= self._close_deadline and not self.closed:
            self.abort = True

    def _closing_started(self, now: float) -> None:
        if self.protocol.state is not OPEN and self._close_deadline is None:
            self._close_deadline = now + self.limits.close_timeout

    # --- to the socket --------------------------------------------------------------------------

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting for the client (the backlog, once it stops reading)."""
        return self.outbox.queued_bytes

    @property
    def refusing(self) -> bool:
        """Whether posts were refused (429) since the client last caught up."""
        return self.outbox.refusing

    def next_chunk(self) -> bytes | None:
        """The next bytes for the socket (``b""``: half-close), or ``None`` (see ``Outbox``)."""
        return self.outbox.next_chunk()


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
