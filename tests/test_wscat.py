"""wscat, the client AWS's WebSocket tutorial uses, chats through the local gateway.

AWS's tutorial: ``wscat -c wss://ID.execute-api.REGION.amazonaws.com/STAGE``, then type
``{"action": "sendmessage", "message": "hello"}``. Here the URL is the gateway's ``ws://``.
"""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import IO

import pytest
import websocket

from wsrelay.local import LocalGateway

pytestmark = pytest.mark.integration

WSCAT = Path(__file__).resolve().parent.parent / "node_modules" / ".bin" / "wscat"
WAIT = 15.0  # seconds; generous, the suite shares two cores with other test runs
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _lines(stream: IO[bytes], into: queue.Queue[str]) -> None:
    for raw in iter(stream.readline, b""):
        into.put(ANSI.sub("", raw.decode("utf-8", errors="replace")))


def _frame_from(lines: queue.Queue[str], wanted: str, seen: list[str]) -> dict[str, object]:
    """The first JSON frame wscat prints whose text contains ``wanted``."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        seen.append(line)
        text = line.strip().lstrip("<> ").strip()  # wscat's prompt and incoming markers
        if wanted in text:
            frame: dict[str, object] = json.loads(text)
            return frame
    raise AssertionError(f"wscat never printed a frame with {wanted!r}; it printed {seen}")


def test_wscat_sends_and_receives_a_broadcast() -> None:
    """wscat -c …/dev?room=r1&name=w sends sendmessage; it and a peer in r1 get the broadcast."""
    if not WSCAT.exists():
        pytest.fail("node_modules/.bin/wscat is missing: run `npm ci` at the repository root")
    with LocalGateway(port=0, table_name=f"wsrelay-wscat-{uuid.uuid4().hex[:8]}") as gw:
        peer = websocket.create_connection(f"{gw.url}?room=r1&name=peer", timeout=WAIT)
        # stdin stays an open pipe: wscat exits at end of input, before any reply arrives.
        wscat = subprocess.Popen(
            [str(WSCAT), "-c", f"{gw.url}?room=r1&name=w"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        assert wscat.stdin is not None and wscat.stdout is not None
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(target=_lines, args=(wscat.stdout, lines), daemon=True)
        reader.start()
        seen: list[str] = []
        try:
            # Without a terminal wscat prints no "Connected", and drops lines typed before it
            # has connected. A message from the peer shows when it is ready to read input.
            deadline = time.monotonic() + WAIT
            while len(gw.connection_ids()) < 2:  # the peer's and wscat's
                assert time.monotonic() < deadline, f"wscat never connected: {seen}"
                assert wscat.poll() is None, f"wscat exited: {lines.queue}"
                time.sleep(0.05)
            peer.send(json.dumps({"action": "sendmessage", "message": "ready?"}))
            _frame_from(lines, '"message":"ready?"', seen)

            wscat.stdin.write(b'{"action":"sendmessage","message":"hi"}\n')
            wscat.stdin.flush()

            frame = _frame_from(lines, '"message":"hi"', seen)
            assert (frame["type"], frame["room"], frame["sender"]) == ("message", "r1", "w")
            while True:  # the peer got it too (after its own "ready?")
                got = json.loads(peer.recv())
                if got.get("message") == "hi":
                    break
            assert got["sender"] == "w"
            assert got["connectionId"] == frame["connectionId"]
        finally:
            wscat.kill()
            wscat.wait()
            reader.join(timeout=WAIT)  # the pipe ends with the process
            wscat.stdin.close()
            wscat.stdout.close()
            peer.close()
