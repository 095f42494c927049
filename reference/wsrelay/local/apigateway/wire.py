"""The asyncio side of one WebSocket connection: it moves bytes and runs invocations, nothing else.

Every rule lives in the connection core (``core.py``); this protocol feeds it what the
socket and the clock say and does what it asks:

- before the 101: the handshake's answer comes from ``handshake.decide`` (``$connect`` and
  its authorizer); bytes the client sends meanwhile wait;
- bytes in → :meth:`ConnectionCore.receive_data`; the core's bytes out → the transport,
  only while the transport takes them (asyncio's ``pause_writing``/``resume_writing``), so
  what a client that stops reading is owed waits in the core, which refuses posts past its
  limit (429);
- complete messages → one task per connection that exists only while messages wait, which
  invokes each message's route in order and hands the result back to the core;
- one timer, at the core's next deadline;
- once the core says the connection has ended: ``$disconnect``, after the messages already
  received have been handled.

A connection costs no task while it is idle.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from websockets.http11 import Request
from websockets.server import ServerProtocol

from wsrelay.aws_facts import MAX_MESSAGE_BYTES, ApiError
from wsrelay.local.apigateway.core import ConnectionCore, Inbound
from wsrelay.local.apigateway.handshake import (
    Handshake,
    accept_response,
    decide,
    refusal_response,
)

if TYPE_CHECKING:
    from wsrelay.local.apigateway.server import GatewayServer

__all__ = ["WebSocketWire"]

logger = logging.getLogger("wsrelay.local")
#: websockets logs each connection's opening and closing at INFO: not this gateway's log.
_PROTOCOL_LOG = logging.getLogger("wsrelay.local.websockets")
_PROTOCOL_LOG.setLevel(logging.WARNING)


class WebSocketWire(asyncio.Protocol):
    """One client's WebSocket connection, from its upgrade request to its ``$disconnect``."""

    def __init__(self, server: GatewayServer, head: bytes, tail: bytes = b"") -> None:
        self.server = server
        # The 128 KB message limit in websockets' parser; frames are checked by the core.
        self.protocol = ServerProtocol(max_size=(MAX_MESSAGE_BYTES, None), logger=_PROTOCOL_LOG)
        self.protocol.receive_data(head)
        self.transport: asyncio.Transport | None = None
        self.core: ConnectionCore | None = None
        self.handshake: Handshake | None = None
        self.authorizer: dict[str, Any] | None = None
        self._early: list[bytes] = [tail] if tail else []
        self._paused = False
        self._refusing = False  # as the functions were last told (``registry.live_changed``)
        self._lost = False
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._pending: collections.deque[Inbound] = collections.deque()
        self._drainer: asyncio.Task[None] | None = None
        self._finished = False
        #: Done when ``$disconnect`` has run (or the handshake was refused).
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    @property
    def connection_id(self) -> str:
        assert self.handshake is not None
        return self.handshake.connection_id

    # --- the handshake --------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        server = self.server
        requests = [e for e in self.protocol.events_received() if isinstance(e, Request)]
        response = self.protocol.accept(requests[0]) if requests else None
        if response is None or response.status_code != 101:
            # Not a valid upgrade (websockets' own 400/426): no $connect runs.
            self._refuse(response or refusal_response(400, "Bad Request"))
            return
        peer = transport.get_extra_info("peername")
        self.handshake = Handshake.of(
            requests[0], peer=peer[0] if peer else "127.0.0.1", connection_id=server.new_id()
        )
        task = asyncio.ensure_future(self._open(response))
        server.track(task)

    async def _open(self, response: Any) -> None:
        assert self.handshake is not None and self.transport is not None
        server = self.server
        server.announce_host(self.handshake.host)  # the events' domainName names this gateway
        try:
            answer = await decide(server, self.handshake)
        except Exception:
            logger.exception("the handshake of %s failed", self.handshake.connection_id)
            answer = None
        if self._lost:
            self._settle()
            return  # the client gave up waiting: no connection was made
        if answer is None or not answer.accepted:
            status, body = (500, "") if answer is None else (answer.status, answer.body)
            self._refuse(refusal_response(status, body))
            return
        self.authorizer = answer.authorizer
        self.protocol.send_response(accept_response(response, answer.headers))
        self.core = ConnectionCore(
            self.protocol,
            connection_id=self.handshake.connection_id,
            connected_at=self.handshake.connected_at / 1000,
            limits=server.limits,
            selection_expression=server.api.route_selection_expression,
            route_keys=server.api.routes,
            new_id=server.new_id,
        )
        # The connection exists once $connect has returned: listed before the 101 is written.
        server.registry.add(self)
        self._write()
        for data in self._early:
            self.core.receive_data(data, time.time())
        self._early.clear()
        self._after()

    def _refuse(self, response: Any) -> None:
        """Answer the upgrade request with ``response`` (not a 101) and close."""
        assert self.transport is not None
        self.transport.write(response.serialize())
        self.transport.close()
        self._settle()

    # --- the socket ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.core is None:
            self._early.append(data)  # the client should wait for the 101; keep it anyway
            return
        self.core.receive_data(data, time.time())
        self._after()

    def eof_received(self) -> bool | None:
        if self.core is not None:
            self.core.receive_eof(time.time())
            self._after()
        return None  # the transport closes itself once what is queued is written

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        if self.core is not None:
            self.core.receive_eof(time.time())
            self._after()

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self.core is not None:
            self._after()

    def _write(self) -> None:
        """Give the transport the core's bytes while it takes them."""
        core, transport = self.core, self.transport
        assert core is not None and transport is not None
        while not self._paused and not self._lost:
            chunk = core.next_chunk()
            if chunk is None:
                return
            if chunk:
                transport.write(chunk)  # may pause writing at once
            elif core.handshake_done or not transport.can_write_eof():
                # Both close frames exchanged: "The server MUST close the underlying TCP
                # connection immediately" (RFC 6455 §5.5.1), not wait for a client that may
                # never close its side (websocket-client does not until .close()). close()
                # still writes what is queued first; the connection ends, with its $disconnect.
                transport.close()
            else:
                # A close the gateway failed the connection with (1003, 1007, 1009): half-close
                # and keep reading, so the client's reply is read, not answered with a reset
                # that could destroy our close frame in flight.
                transport.write_eof()

    # --- after every event ----------------------------------------------------------------------

    def _after(self) -> None:
        core = self.core
        assert core is not None
        self._write()
        for message in core.messages_received():
            self._pending.append(message)
        if self._pending and (self._drainer is None or self._drainer.done()):
            self._drainer = asyncio.ensure_future(self._drain())
            self.server.track(self._drainer)
        self._refusing = core.refusing
        self.server.registry.live_changed(self)
        if core.abort and self.transport is not None:
            self.transport.abort()
        if core.closed:
            self._finish()
        else:
            self._arm(core.next_deadline())

    def _arm(self, deadline: float | None) -> None:
        """One timer at the core's next deadline; re-armed only when that comes sooner."""
        if deadline is None:
            return
        if self._timer is not None and self._timer_at <= deadline + 0.001:
            return  # it fires first; the core then gives its new deadline
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer_at = deadline
        self._timer = loop.call_later(max(0.0, deadline - time.time()), self._fire)

    def _fire(self) -> None:
        self._timer = None
        if self.core is not None and not self._finished:
            self.core.timer(time.time())
            self._after()

    # --- routes -------------------------------------------------------------------------------

    async def _drain(self) -> None:
        """Handle the waiting messages one at a time, in order."""
        core, server = self.core, self.server
        assert core is not None
        while self._pending:
            message = self._pending.popleft()
            try:
                if message.route_key is None:
                    core.forbidden(message)
                else:
                    route = server.api.routes[message.route_key]
                    result = await server.invoke_message(self, message)
                    core.handled(message, result, two_way=route.two_way, now=time.time())
            except Exception:  # one message's failure must not stop the connection's others
                logger.exception("a message from %s could not be handled", self.connection_id)
            if not self._finished:
                self._after()

    # --- the management API -------------------------------------------------------------------

    def post(self, data: bytes, *, acknowledged: bool = False) -> ApiError | None:
        """A ``PostToConnection`` (see :meth:`ConnectionCore.post`)."""
        core = self.core
        assert core is not None
        error = core.post(data, time.time(), acknowledged=acknowledged)
        # The hot path of a fan-out: a post only queues bytes and pushes the idle deadline
        # later (the timer re-arms when it fires), so only the writing and ``live`` move.
        self._write()
        if core.refusing is not self._refusing or error is not None:
            self._refusing = core.refusing
            self.server.registry.live_changed(self)
        return error

    def close(self, code: int, reason: str, *, disconnect_reason: str = "") -> None:
        """Start a closing handshake from the server; :attr:`done` when ``$disconnect`` ran."""
        if self.core is not None:
            self.core.close(code, reason, time.time(), disconnect_reason=disconnect_reason)
            self._after()

    def cut(self) -> None:
        """Drop the socket without a closing handshake (a client that does not answer one)."""
        if self.transport is not None:
            self.transport.abort()

    # --- the end --------------------------------------------------------------------------------

    def _finish(self) -> None:
        if self._finished:
            return
        self._finished = True
        if self._timer is not None:
            self._timer.cancel()
        if self.transport is not None:
            self.transport.close()
        self.server.track(asyncio.ensure_future(self._disconnect()))

    async def _disconnect(self) -> None:
        core, server = self.core, self.server
        assert core is not None and core.ended is not None
        try:
            if self._drainer is not None:  # messages received before the end are handled first
                with contextlib.suppress(Exception):
                    await asyncio.shield(self._drainer)
            await server.invoke_disconnect(self, *core.ended)
        finally:
            server.registry.remove(self)
            self._settle()

    def _settle(self) -> None:
        if not self.done.done():
            self.done.set_result(None)
