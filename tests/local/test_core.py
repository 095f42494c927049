"""The connection core, driven directly: no socket, no event loop, no gateway.

The client is websockets' own sans-I/O ``ClientProtocol``: it masks what it sends and
parses what the core answers, as any RFC 6455 client would. Expected values are AWS's
(``wsrelay.aws_facts`` is not imported: the numbers are written out from the quotas table).
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from wsrelay.local.apigateway.core import ConnectionCore, Inbound, Limits
from wsrelay.local.lambda_runtime.environments import Invocation

FRAME = 32_768
MESSAGE = 131_072
T0 = 1_800_000_000.0
ROUTES = {"$connect", "$disconnect", "$default", "echo"}


@dataclass
class Pair:
    """A core and the client on the other end of its (imaginary) socket."""

    core: ConnectionCore
    client: ClientProtocol
    read: bool = True  #: whether the client reads what the core sends
    received: list[Frame] = field(default_factory=list)

    def send(self, *frames: tuple[Opcode, bytes, bool], now: float = T0) -> None:
        """The client sends frames (opcode, payload, fin), all in one segment."""
        for opcode, data, fin in frames:
            self.client.send_frame(Frame(opcode, data, fin))
        self.core.receive_data(b"".join(self.client.data_to_send()), now)
        self.pump()

    def text(self, body: str, now: float = T0) -> None:
        self.send((Opcode.TEXT, body.encode(), True), now=now)

    def pump(self) -> None:
        """Move bytes both ways until neither side has more (if the client reads)."""
        while self.read:
            chunks = []
            while (chunk := self.core.next_chunk()) is not None:
                chunks.append(chunk)
            if not chunks:
                return
            for chunk in chunks:
                if chunk:
                    self.client.receive_data(chunk)
                else:
                    self.client.receive_eof()
            self.received += [e for e in self.client.events_received() if isinstance(e, Frame)]
            replies = self.client.data_to_send()
            if replies:
                data = b"".join(r for r in replies if r)
                if data:
                    self.core.receive_data(data, T0)
                if b"" in replies:
                    self.core.receive_eof(T0)

    def texts(self) -> list[str]:
        """The text messages the client received (fragments joined)."""
        messages, parts = [], []
        for frame in self.received:
            if frame.opcode in (Opcode.TEXT, Opcode.CONT):
                parts.append(frame.data)
                if frame.fin:
                    messages.append(b"".join(parts).decode())
                    parts = []
        return messages

    def close_code(self) -> int | None:
        closes = [f for f in self.received if f.opcode is Opcode.CLOSE]
        return int.from_bytes(closes[0].data[:2], "big") if closes else None


def pair(expression: str = "$request.body.action", **limits: Any) -> Pair:
    """An open connection: the client's handshake, the server's 101, then the core."""
    client = ClientProtocol(parse_uri("ws://gateway.local/dev"), max_size=None)
    client.send_request(client.connect())
    server = ServerProtocol(max_size=(MESSAGE, None))
    server.receive_data(b"".join(client.data_to_send()))
    (request,) = server.events_received()
    server.send_response(server.accept(request))  # type: ignore[arg-type]
    ids = (f"id-{i}" for i in itertools.count())
    core = ConnectionCore(
        server,
        connection_id="conn=",
        connected_at=T0,
        limits=Limits(**limits),
        selection_expression=expression,
        route_keys=ROUTES,
        new_id=lambda: next(ids),
    )
    result = Pair(core, client)
    result.pump()
    assert client.state is State.OPEN
    return result


# --- messages and routes --------------------------------------------------------------------


def test_messages_are_routed_in_order_with_their_ids() -> None:
    """Each complete message gets its route, a request id and a message id, in arrival order."""
    p = pair()
    p.text('{"action": "echo"}')
    p.text("not json")
    p.text('{"action": "nosuch"}')
    messages = p.core.messages_received()
    assert [(m.body, m.route_key) for m in messages] == [
        ('{"action": "echo"}', "echo"),
        ("not json", "$default"),
        ('{"action": "nosuch"}', "$default"),
    ]
    assert [(m.request_id, m.message_id) for m in messages] == [
        ("id-0", "id-1"),
        ("id-2", "id-3"),
        ("id-4", "id-5"),
    ]
    assert p.core.messages_received() == []


def test_no_route_and_no_default_is_forbidden_byte_for_byte() -> None:
    """API Gateway's own frame, a space after the first colon only (raw captures)."""
    p = pair()
    p.core.forbidden(Inbound("x", None, "req=", "msg=", 0))
    p.pump()
    assert p.texts() == ['{"message": "Forbidden", "connectionId":"conn=", "requestId":"req="}']


@pytest.mark.parametrize(
    ("result", "two_way", "expected"),
    [
        (Invocation(ok=False, error={"errorType": "Boom"}), True, "error"),
        (Invocation(ok=True, value=["not", "an", "object"]), True, "error"),
        (Invocation(ok=True, value={"statusCode": "200", "body": "x"}), True, "error"),
        (Invocation(ok=True, value={"statusCode": 200.5, "body": "x"}), True, "error"),
        (Invocation(ok=True, value={"statusCode": 200, "body": "reply"}), True, "reply"),
        (Invocation(ok=True, value={"statusCode": 200, "body": {"a": 1}}), True, '{"a": 1}'),
        (Invocation(ok=True, value={"statusCode": 200, "body": "reply"}), False, None),
        (Invocation(ok=True, value=None), True, None),
        (
            Invocation(ok=True, value={"statusCode": 200, "body": "x" * (MESSAGE + 1)}),
            True,
            "error",
        ),
    ],
    ids=[
        "failed",
        "not-an-object",
        "text-status",
        "float-status",
        "two-way",
        "object-body",
        "one-way",
        "nothing",
        "reply-over-128KB",
    ],
)
def test_what_a_route_sends_back(result: Invocation, two_way: bool, expected: str | None) -> None:
    """A failed or malformed integration is "Internal server error"; a two-way route's body goes back."""
    p = pair()
    p.core.handled(Inbound("x", "echo", "req=", "msg=", 0), result, two_way=two_way, now=T0)
    p.pump()
    if expected is None:
        assert p.texts() == []
    elif expected == "error":
        assert p.texts() == [
            '{"message": "Internal server error", "connectionId":"conn=", "requestId":"req="}'
        ]
    else:
        assert p.texts() == [expected]


# --- limits -----------------------------------------------------------------------------------


def close_and_end(p: Pair) -> tuple[int, str] | None:
    """The client answers the close and hangs up; the core's end (code, reason)."""
    p.pump()
    p.core.receive_eof(T0)
    return p.core.ended


@pytest.mark.parametrize("size", [0, 1, FRAME])
def test_a_frame_within_32kb_is_a_message(size: int) -> None:
    p = pair()
    p.send((Opcode.TEXT, b"a" * size, True))
    assert [len(m.body) for m in p.core.messages_received()] == [size]
    assert p.core.open


@pytest.mark.parametrize("size", [FRAME + 1, MESSAGE, MESSAGE + 1, 200_000])
def test_a_frame_over_32kb_closes_1009(size: int) -> None:
    p = pair()
    p.send((Opcode.TEXT, b"a" * size, True))
    assert p.close_code() == 1009
    assert p.core.messages_received() == []
    ended = close_and_end(p)
    assert ended is not None and ended[0] == 1009


@pytest.mark.parametrize("size", [0, 5, 40_000])
def test_a_binary_frame_closes_1003_whatever_its_size(size: int) -> None:
    """Binary frames are not supported ("unless content handling"): 1003, before the size."""
    p = pair()
    p.send((Opcode.BINARY, b"\x00" * size, True))
    assert p.close_code() == 1003


def test_text_that_is_not_utf8_closes_1007() -> None:
    p = pair()
    p.send((Opcode.TEXT, b"\xff\xfe", True))
    assert p.close_code() == 1007


def test_frames_before_a_violation_are_handled_the_rest_dropped() -> None:
    """In one segment: two messages, a 1009 frame, a third message: the first two count."""
    p = pair()
    p.send(
        (Opcode.TEXT, b"first", True),
        (Opcode.TEXT, b"second", True),
        (Opcode.TEXT, b"x" * (FRAME + 1), True),
        (Opcode.TEXT, b"third", True),
    )
    assert [m.body for m in p.core.messages_received()] == ["first", "second"]
    assert p.close_code() == 1009


def test_a_ping_is_answered_and_counts_towards_no_message() -> None:
    p = pair()
    p.send((Opcode.TEXT, b"a" * FRAME, False), (Opcode.PING, b"there?", True))
    p.send((Opcode.CONT, b"b", True))
    assert [f.data for f in p.received if f.opcode is Opcode.PONG] == [b"there?"]
    assert [len(m.body) for m in p.core.messages_received()] == [FRAME + 1]


fragments = st.lists(
    st.one_of(
        st.integers(0, 200),
        st.integers(30_000, FRAME),
        st.just(FRAME + 1),
        st.integers(FRAME + 2, 60_000),
    ),
    min_size=1,
    max_size=7,
)


@settings(max_examples=150, deadline=None)
@given(messages=st.lists(fragments, min_size=1, max_size=4))
def test_fragmented_messages_against_the_limits(messages: list[list[int]]) -> None:
    """Any sequence of fragmented messages: each within limits arrives whole, in order; the
    first with a fragment over 32,768 bytes or a total over 131,072 closes with 1009, and
    nothing after it is routed."""
    p = pair()
    expected: list[int] = []
    violated = False
    for index, sizes in enumerate(messages):
        frames = [
            (
                Opcode.TEXT if i == 0 else Opcode.CONT,
                bytes([97 + index]) * size,
                i == len(sizes) - 1,
            )
            for i, size in enumerate(sizes)
        ]
        if not violated:
            if max(sizes) > FRAME or sum(sizes) > MESSAGE:
                violated = True
            else:
                expected.append(sum(sizes))
        if p.core.open:
            p.send(*frames)
    got = [len(m.body) for m in p.core.messages_received()]
    assert got == expected
    assert p.close_code() == (1009 if violated else None)


# --- posts ----------------------------------------------------------------------------------


def test_a_post_over_32kb_arrives_in_32kb_frames() -> None:
    """ "Messages posted over 32 KB are split into 32 KB frames" (quotas table note)."""
    p = pair()
    data = ("é" * 50_000).encode()  # 100,000 bytes, characters split across frames
    assert p.core.post(data, T0) is None
    p.pump()
    frames = [f for f in p.received if f.opcode in (Opcode.TEXT, Opcode.CONT)]
    assert [len(f.data) for f in frames] == [FRAME, FRAME, FRAME, 100_000 - 3 * FRAME]
    assert [f.opcode for f in frames] == [Opcode.TEXT, Opcode.CONT, Opcode.CONT, Opcode.CONT]
    assert [f.fin for f in frames] == [False, False, False, True]
    assert p.texts() == ["é" * 50_000]


def test_post_answers() -> None:
    """200 (queued), 413 past 131,072 bytes, 410 once the close has begun."""
    p = pair()
    assert p.core.post(b"x" * MESSAGE, T0) is None
    too_big = p.core.post(b"x" * (MESSAGE + 1), T0)
    assert too_big is not None and (too_big.status, too_big.code) == (
        413,
        "PayloadTooLargeException",
    )
    p.core.close(1000, "Connection deleted", T0, disconnect_reason="Connection Closed Normally")
    gone = p.core.post(b"late", T0)
    assert gone is not None and (gone.status, gone.code) == (410, "GoneException")


def test_a_client_that_stops_reading_gets_its_posters_429() -> None:
    """Past the backlog limit posts are refused with 429; the connection stays open; nothing is lost."""
    p = pair(max_backlog_bytes=100_000)
    p.read = False
    accepted = 0
    while (error := p.core.post(f"{accepted:05d}".encode() * 2_000, T0)) is None:
        accepted += 1
    assert (error.status, error.code) == (429, "LimitExceededException")
    # Nine frames of 10,004 bytes wait (90,036); 10,000 more would pass 100,000.
    assert accepted == 9
    assert p.core.open and p.core.refusing
    # A post the poster was already told succeeded (a function's fast path) still queues.
    assert p.core.post(b"acknowledged", T0, acknowledged=True) is None
    p.read = True
    p.pump()
    assert [t[:5] for t in p.texts()] == [f"{i:05d}" for i in range(accepted)] + ["ackno"]
    assert not p.core.refusing
    assert p.core.post(b"again", T0) is None


# --- timers -----------------------------------------------------------------------------------


def test_traffic_either_way_resets_the_idle_timer() -> None:
    """A frame from the client, or a post to it, moves ``last_active_at`` and the deadline."""
    p = pair(idle_timeout=600, max_duration=7200)
    assert p.core.next_deadline() == T0 + 600
    assert p.core.post(b"to the client", T0 + 500) is None
    assert p.core.last_active_at == T0 + 500
    assert p.core.next_deadline() == T0 + 1100
    p.text("from the client", now=T0 + 900)
    assert p.core.next_deadline() == T0 + 1500
    p.core.timer(T0 + 1400)  # not yet
    assert p.core.open
    p.core.timer(T0 + 1500)
    p.pump()
    assert p.close_code() == 1001


def test_the_maximum_duration_closes_a_busy_connection() -> None:
    p = pair(idle_timeout=600, max_duration=7200)
    for minute in range(0, 120, 5):
        p.text("busy", now=T0 + minute * 60)
    assert p.core.next_deadline() == T0 + 7200
    p.core.timer(T0 + 7200)
    p.pump()
    assert p.close_code() == 1001
    assert close_and_end(p) == (1001, "Going away")


def test_a_close_the_client_never_answers_is_cut() -> None:
    p = pair(close_timeout=12)
    p.read = False
    p.core.close(1001, "Going away", T0)
    assert p.core.next_deadline() == T0 + 12
    p.core.timer(T0 + 11)
    assert not p.core.abort
    p.core.timer(T0 + 12)
    assert p.core.abort


# --- how it ended -------------------------------------------------------------------------------


def test_the_clients_close_code_and_reason_are_the_end() -> None:
    p = pair()
    p.client.send_close(4001, "bye")
    p.core.receive_data(b"".join(p.client.data_to_send()), T0)
    p.pump()
    assert close_and_end(p) == (4001, "bye")


def test_a_close_frame_without_a_code_is_1005() -> None:
    p = pair()
    p.client.send_close()
    p.core.receive_data(b"".join(p.client.data_to_send()), T0)
    assert close_and_end(p) == (1005, "Client-side close frame status not set")


def test_a_lost_connection_is_1006() -> None:
    p = pair()
    p.core.receive_eof(T0)
    assert p.core.ended == (1006, "Connection closed abnormally")


def test_delete_connection_is_1000_connection_closed_normally() -> None:
    """``disconnectReason`` after DeleteConnection as API Gateway's log shows it (aws/chalice#2060)."""
    p = pair()
    p.core.close(1000, "Connection deleted", T0, disconnect_reason="Connection Closed Normally")
    p.pump()
    assert p.close_code() == 1000
    assert close_and_end(p) == (1000, "Connection Closed Normally")


def test_the_first_to_close_decides_the_code() -> None:
    """The server closed first with 1001; a client answering 1000 does not change the code."""
    p = pair()
    p.read = False
    p.core.close(1001, "Going away", T0)
    reply = Frame(Opcode.CLOSE, Close(1000, "").serialize()).serialize(mask=True, extensions=[])
    p.core.receive_data(reply, T0)
    assert close_and_end(p) == (1001, "Going away")


@settings(max_examples=100, deadline=None)
@given(
    script=st.lists(
        st.sampled_from(["text", "json", "ping", "big", "binary", "post", "post-big", "fragment"]),
        min_size=1,
        max_size=20,
    )
)
def test_any_sequence_keeps_order_and_ends_once(script: list[str]) -> None:
    """Random traffic both ways: messages up to the first violation arrive in order, posts in
    order, the close code is the violation's, and the end is decided exactly once."""
    p = pair()
    sent: list[str] = []
    posted: list[str] = []
    violation: int | None = None
    for step, action in enumerate(script):
        if not p.core.open:
            break
        if action in ("text", "json"):
            body = f"m{step}" if action == "text" else json.dumps({"action": "echo", "n": step})
            p.text(body)
            sent.append(body)
        elif action == "fragment":
            p.send((Opcode.TEXT, b"f", False), (Opcode.CONT, f"{step}".encode(), True))
            sent.append(f"f{step}")
        elif action == "ping":
            p.send((Opcode.PING, b"", True))
        elif action == "big":
            p.send((Opcode.TEXT, b"x" * (FRAME + 1), True))
            violation = 1009
        elif action == "binary":
            p.send((Opcode.BINARY, b"\x01", True))
            violation = 1003
        else:
            data = f"p{step}".encode() * (1 if action == "post" else 20_000)
            assert p.core.post(data, T0) is None
            p.pump()
            posted.append(data.decode())
    assert [m.body for m in p.core.messages_received()] == sent
    assert p.texts() == posted
    assert p.close_code() == violation
    ended = close_and_end(p)
    assert ended is not None and ended[0] == (violation or 1006)
    assert close_and_end(p) == ended
