"""Fuzz the running gateway: 10,000 random frames from four clients at once, two observers chatting.

Hypothesis draws compact frame *specs* (kind, text, sizes); they are expanded into frames here,
so a 200 KB frame costs Hypothesis a few choices, not 200,000. Each example's frames are
shared out among four sender threads, each with its own websocket-client connection; a sender
whose frame breaks a limit reads the close frame, checks its code and reconnects.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import websocket
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from websocket import ABNF

from wsrelay.local import ApiDefinition

from .support import WAIT, Harness, recv_close, running_gateway, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SENDERS = 4
EXAMPLES = 200
FRAMES_PER_EXAMPLE = 50  # 200 x 50 = 10,000 frames
FRAME_LIMIT = 32_768
MESSAGE_LIMIT = 131_072
OBSERVER_ROOM = "observers"


# --- what Hypothesis draws ---------------------------------------------------------------


class Spec:
    """One message to send: text (in frames of ``fragment`` bytes if set) or binary ``data``.

    Not a dataclass: Hypothesis prints dataclasses field by field, and a 200 KB text would
    make a failure report unreadable.
    """

    __slots__ = ("data", "fragment", "text")

    def __init__(self, text: str = "", fragment: int = 0, data: bytes | None = None) -> None:
        self.text = text
        self.fragment = fragment  # split the UTF-8 into frames of this many bytes; 0: one frame
        self.data = data  # a binary frame instead

    def __repr__(self) -> str:  # huge texts would make Hypothesis' report unreadable
        if self.data is not None:
            return f"Spec(data={self.data!r})"
        text = repr(self.text)
        if len(text) > 80:
            text = f"{text[:60]}…({len(self.text)} chars)"
        return f"Spec(text={text}, fragment={self.fragment})"

    def parts(self) -> list[bytes]:
        """The payloads of the text frames (a text frame, then continuations)."""
        payload = self.text.encode("utf-8")
        if not self.fragment or len(payload) <= self.fragment:
            return [payload]
        return [payload[i : i + self.fragment] for i in range(0, len(payload), self.fragment)]

    def expected_close(self) -> int | None:
        """The close code the gateway must answer with, or None if the message is accepted."""
        if self.data is not None:
            return 1003
        parts = self.parts()
        too_big = max(map(len, parts)) > FRAME_LIMIT or sum(map(len, parts)) > MESSAGE_LIMIT
        return 1009 if too_big else None


# Surrogate-free characters of every other category, and a handful of known troublemakers.
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=120)
odd_text = st.text(
    st.sampled_from(
        ["\x00", "\u200b", "\ufeff", "\u202e", "\U0010ffff", "🙂", "é", '"', "\\", "{", "\n", " "]
    ),
    max_size=40,
)
weird_value = st.one_of(
    any_text,
    odd_text,
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True),
    st.integers(65, 200).map(lambda n: "r" * n),
)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


text_specs = st.one_of(
    any_text.map(lambda t: Spec(t)),
    odd_text.map(lambda t: Spec(t)),
    # Malformed JSON: a valid frame cut short, or with junk around it.
    st.tuples(weird_value, st.integers(1, 40)).map(
        lambda v: Spec(_json({"action": "sendmessage", "message": v[0]})[: -v[1]])
    ),
    st.tuples(any_text, odd_text).map(lambda v: Spec(f'{{"action": {v[0]}{v[1]}')),
    # Valid routes with weird values.
    weird_value.map(lambda v: Spec(_json({"action": "sendmessage", "message": v}))),
    weird_value.map(lambda v: Spec(_json({"action": "joinroom", "room": v}))),
    st.tuples(weird_value, weird_value).map(
        lambda v: Spec(_json({"action": v[0], "message": v[1]}))
    ),
    st.from_regex(r"[A-Za-z0-9_-]{1,60}", fullmatch=True).map(
        lambda room: Spec(_json({"action": "joinroom", "room": f"fz{room}"[:64]}))
    ),
)
huge_specs = st.tuples(
    st.integers(20_000, 200_000),
    st.sampled_from(["a", "é", "🙂", "\x00"]),
    st.sampled_from([0, 0, 16_384, FRAME_LIMIT, FRAME_LIMIT + 1]),
    st.booleans(),
).map(
    lambda v: Spec(
        _json({"action": "sendmessage", "message": v[1] * (v[0] // len(v[1].encode()))})
        if v[3]
        else v[1] * (v[0] // len(v[1].encode())),
        fragment=v[2],
    )
)
binary_specs = st.binary(max_size=64).map(lambda b: Spec(data=b))
specs = st.one_of(
    *[text_specs] * 30,  # weights: mostly small text frames,
    huge_specs,  # some huge ones,
    binary_specs,  # and the odd binary frame.
)


# --- the clients ---------------------------------------------------------------------------


@dataclass
class Tally:
    frames: int = 0
    closes: dict[int, int] = field(default_factory=dict)
    replies: int = 0
    gateway_errors: list[str] = field(default_factory=list)


class Sender(threading.Thread):
    """A fuzzing client: sends the specs it is given, checks limit closes, reconnects."""

    def __init__(self, gw_url: str, index: int) -> None:
        super().__init__(name=f"fuzz-sender-{index}", daemon=True)
        self.url = gw_url
        self.index = index
        self.connections = 0
        self.tasks: queue.Queue[list[Spec] | None] = queue.Queue()
        self.done: queue.Queue[BaseException | None] = queue.Queue()
        self.tally = Tally()
        self.history: deque[str] = deque(maxlen=30)  # shown when something goes wrong
        self.ws = self._connect()
        self._marker = 0

    def _connect(self) -> websocket.WebSocket:
        # A fresh room each time: frames of the connection just closed may still be broadcast
        # to its room, and a broadcast that meets a connection still in its $connect gets 410
        # and deletes that connection's row (see test_chat_races.py).
        self.connections += 1
        room = f"fz-{self.index}-{self.connections}"
        url = f"{self.url}?room={room}&name=fuzzer-{self.index}"
        return websocket.create_connection(url, timeout=WAIT)

    def run(self) -> None:
        while (batch := self.tasks.get()) is not None:
            try:
                self._send_batch(batch)
                self.done.put(None)
            except BaseException as exc:  # reported to the test's thread
                self.done.put(exc)
        self.ws.close()

    def _send_batch(self, batch: list[Spec]) -> None:
        for spec in batch:
            self.history.append(f"sent {spec!r}")
            self._send(spec)
            self.tally.frames += 1
            expected = spec.expected_close()
            if expected is not None:
                code, reason = recv_close(self.ws)
                assert code == expected, f"{spec!r:.200} closed with {code} {reason!r}"
                self.tally.closes[code] = self.tally.closes.get(code, 0) + 1
                self.ws.shutdown()
                self.ws = self._connect()
        self._sync()

    def _send(self, spec: Spec) -> None:
        if spec.data is not None:
            self.ws.send_binary(spec.data)
            return
        parts = spec.parts()
        for i, part in enumerate(parts):
            opcode = ABNF.OPCODE_TEXT if i == 0 else ABNF.OPCODE_CONT
            self.ws.send_frame(ABNF.create_frame(part, opcode, fin=int(i == len(parts) - 1)))

    def _sync(self) -> None:
        """Send a marker message and read until it comes back: every earlier frame is handled."""
        self._marker += 1
        marker = f"marker-{self.index}-{self._marker}"
        self.ws.send(json.dumps({"action": "sendmessage", "message": marker}))
        while True:
            try:
                opcode, data = self.ws.recv_data()
            except websocket.WebSocketException as exc:
                history = "\n  ".join(self.history)
                raise AssertionError(
                    f"{self.name}: {exc!r} waiting for {marker}:\n  {history}"
                ) from exc
            self.history.append(f"got {opcode} {data[:100]!r}")
            assert opcode == ABNF.OPCODE_TEXT, f"unexpected opcode {opcode} while syncing"
            frame = json.loads(data)
            if "requestId" in frame:  # API Gateway's own error frame: an integration failed
                self.tally.gateway_errors.append(data.decode()[:200])
            if frame.get("message") == marker:
                return
            self.tally.replies += 1


class Observers:
    """Two clients in one room exchanging numbered messages while the fuzz runs."""

    def __init__(self, gw_url: str) -> None:
        self.clients = [
            websocket.create_connection(
                f"{gw_url}?room={OBSERVER_ROOM}&name=observer-{i}", timeout=WAIT
            )
            for i in range(2)
        ]
        for ws in self.clients:
            ws.settimeout(None)  # the readers wait for as long as the fuzz runs
        self.sent: list[str] = []
        self.received: list[list[str]] = [[], []]
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._read, args=(i,), daemon=True) for i in range(2)
        ]
        self._threads.append(threading.Thread(target=self._talk, daemon=True))
        for thread in self._threads:
            thread.start()

    def _read(self, index: int) -> None:
        ws = self.clients[index]
        while True:
            try:
                opcode, data = ws.recv_data()
            except (websocket.WebSocketException, OSError):
                return
            if opcode != ABNF.OPCODE_TEXT:
                return
            frame = json.loads(data)
            if frame.get("type") == "message" and frame.get("room") == OBSERVER_ROOM:
                self.received[index].append(frame["message"])

    def _talk(self) -> None:
        count = 0
        while not self._stop.wait(0.05):
            text = f"observed-{count}"
            self.sent.append(text)
            self.clients[count % 2].send(json.dumps({"action": "sendmessage", "message": text}))
            count += 1

    def finish(self) -> None:
        """Stop talking; wait until both observers have every message; hang up."""
        self._stop.set()
        self._threads[2].join(timeout=WAIT)
        try:
            wait_for(
                lambda: all(set(self.sent) <= set(got) for got in self.received),
                "every observer message to reach both observers",
                timeout=30,
            )
        finally:
            for ws in self.clients:
                ws.close()
            for thread in self._threads[:2]:
                thread.join(timeout=WAIT)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    """The workbook's chat API, unrecorded (the fuzz would fill a file)."""

    def api(table: str, record_file: Path) -> ApiDefinition:
        return ApiDefinition.default(table)

    with running_gateway(tmp_path_factory.mktemp("fuzz"), api) as harness:
        yield harness


def test_fuzz_frames_from_many_clients(
    gateway: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    """10,000 random frames from four clients at once: limits close correctly, the chat never fails, observers get everything."""
    url = gateway.gw.url
    observers = Observers(url)
    senders = [Sender(url, i) for i in range(SENDERS)]
    for sender in senders:
        sender.start()
    started = time.monotonic()

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(batch=st.lists(specs, min_size=FRAMES_PER_EXAMPLE, max_size=FRAMES_PER_EXAMPLE))
    def send_batch(batch: list[Spec]) -> None:
        for index, sender in enumerate(senders):
            sender.tasks.put(batch[index::SENDERS])
        errors = [sender.done.get(timeout=120) for sender in senders]
        for error in errors:
            if error is not None:
                raise error

    try:
        send_batch()
    finally:
        for sender in senders:
            sender.tasks.put(None)
        for sender in senders:
            sender.join(timeout=WAIT)
        observers.finish()
    elapsed = time.monotonic() - started

    frames = sum(s.tally.frames for s in senders)
    closes: dict[int, int] = {}
    for sender in senders:
        for code, count in sender.tally.closes.items():
            closes[code] = closes.get(code, 0) + count
    with capsys.disabled():
        print(
            f"\n  fuzz: {frames} frames in {elapsed:.1f} s, closes {closes}, "
            f"{sum(s.tally.replies for s in senders)} replies, {len(observers.sent)} observer messages"
        )
    assert frames == EXAMPLES * FRAMES_PER_EXAMPLE
    assert closes.get(1009) and closes.get(1003), "the fuzz never hit a limit"
    assert [e for s in senders for e in s.tally.gateway_errors] == []
    assert observers.sent, "the observers never talked"

    # The gateway still serves, and every connection it closed is gone from the table.
    ws = websocket.create_connection(f"{url}?room=after&name=after", timeout=WAIT)
    try:
        ws.send(json.dumps({"action": "sendmessage", "message": "still here"}))
        assert json.loads(ws.recv())["message"] == "still here"
    finally:
        ws.close()
    store = gateway.gw.store()
    wait_for(lambda: not gateway.gw.connection_ids(), "every connection to close")
    wait_for(lambda: not store.all_connections(), "every row to be deleted")
