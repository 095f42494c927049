"""``wsrelay chat``: its decisions as plain functions, then the command in a pseudo-terminal.

The command runs as a learner runs it: its own process, its stdin and stdout a terminal
(``pty``), against a local gateway, with websocket-client peers in the rooms.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websocket

from wsrelay.chat import Notice, Quit, Send, format_frame, parse_line, printable, socket_url
from wsrelay.local import LocalGateway

WAIT = 15.0  # seconds; generous, the suite shares two cores with other test runs
COMMAND = [sys.executable, "-m", "wsrelay.cli", "chat"]


# --- the decisions ----------------------------------------------------------------------


def test_socket_url_adds_room_and_name_to_any_query() -> None:
    """--room and --name join the URL's own query string and replace the same keys in it."""
    assert socket_url("ws://h:1/dev", "r1", "ada") == "ws://h:1/dev?room=r1&name=ada"
    assert (
        socket_url("wss://x.example/prod?token=t&room=old", "r2", None)
        == "wss://x.example/prod?token=t&room=r2"
    )
    assert socket_url("ws://h:1/dev?room=r", None, None) == "ws://h:1/dev?room=r"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://127.0.0.1:8765/dev", "ws://127.0.0.1:8765/dev"),
        ("https://abc.execute-api.eu-west-1.amazonaws.com/prod", "wss://abc.execute-api"),
        ("127.0.0.1:8765/dev", "not a WebSocket URL"),
        ("ws:///dev", "not a WebSocket URL"),
    ],
)
def test_socket_url_explains_a_bad_url(url: str, says: str) -> None:
    """A URL that is not ws:// or wss:// with a host is refused with the fix in the message."""
    with pytest.raises(ValueError, match=re.escape(says)):
        socket_url(url)


def test_parse_line_turns_lines_into_frames_and_commands() -> None:
    """Lines become sendmessage frames; /join, /quit, /help and // are commands."""
    assert parse_line("hello\n") == Send('{"action": "sendmessage", "message": "hello"}')
    assert parse_line("/join r2") == Send('{"action": "joinroom", "room": "r2"}')
    assert parse_line("//join is a command") == Send(
        '{"action": "sendmessage", "message": "/join is a command"}'
    )
    assert parse_line("/quit") == Quit()
    assert parse_line("   \n") is None
    assert parse_line("/join") == Notice("! usage: /join ROOM")
    assert isinstance(parse_line("/help"), Notice)
    unknown = parse_line("/nick bob")
    assert isinstance(unknown, Notice)
    assert unknown.text.startswith("! unknown command /nick")


def test_format_frame_renders_each_kind_of_frame() -> None:
    """Messages as "[room] name: text", errors as "! error: …", joins as "* joined room"."""
    message = {"type": "message", "room": "r1", "sender": "ada", "message": "hi", "sentAt": 1}
    assert format_frame(json.dumps(message)) == "[r1] ada: hi"
    assert format_frame('{"type": "joined", "room": "r2"}') == "* joined r2"
    assert format_frame('{"type": "error", "error": "too long"}') == "! error: too long"
    gateway = {"message": "Forbidden", "connectionId": "c", "requestId": "r-1"}
    assert format_frame(json.dumps(gateway)) == "! gateway: Forbidden (request r-1)"
    assert format_frame("not json") == "? not json"
    assert format_frame(b"\x00\x01") == "? binary frame of 2 bytes"
    two_lines = {**message, "message": "one\ntwo"}
    assert format_frame(json.dumps(two_lines)) == "[r1] ada: one\n          two"


def test_control_characters_are_shown_not_obeyed() -> None:
    """A peer's escape sequences cannot clear or rewrite the terminal."""
    assert printable("\x1b[2J\x07ok\tfine\u202e") == "\\x1b[2J\\x07ok\tfine\\u202e"
    frame = {"type": "message", "room": "r", "sender": "x", "message": "\x1b]0;owned\x07"}
    assert "\x1b" not in format_frame(json.dumps(frame))


# --- the command, in a terminal -------------------------------------------------------------


class Terminal:
    """``wsrelay chat`` with a pseudo-terminal as its stdin, stdout and stderr."""

    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [*COMMAND, *args], stdin=slave, stdout=slave, stderr=slave, close_fds=True
        )
        os.close(slave)
        self.master = master
        self.output = ""  # everything shown so far, "\r\n" as "\n"
        self._seen = 0

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:  # EIO: the command has exited and the terminal is closed
            return False
        self.output += data.decode("utf-8", errors="replace").replace("\r\n", "\n")
        return bool(data)

    def expect(self, pattern: str) -> re.Match[str]:
        """Wait for ``pattern`` (a regex) in output not matched before; return the match."""
        wanted = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + WAIT
        while True:
            match = wanted.search(self.output, self._seen)
            if match:
                self._seen = match.end()
                return match
            remaining = deadline - time.monotonic()
            got_more = remaining > 0 and self._read(min(remaining, 0.2))
            if remaining <= 0 or (not got_more and self.process.poll() is not None):
                raise AssertionError(f"{pattern!r} never appeared in:\n{self.output}")

    def type(self, line: str) -> None:
        """Type ``line`` and Enter."""
        os.write(self.master, line.encode() + b"\n")

    def end_of_input(self) -> None:
        """Ctrl-D at the start of a line: end of input."""
        os.write(self.master, b"\x04")

    def wait(self) -> int:
        """Wait for the command to exit; return its status."""
        deadline = time.monotonic() + WAIT
        while self.process.poll() is None and time.monotonic() < deadline:
            self._read(0.1)
        return self.process.wait(timeout=1)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.master)


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    """The workbook's chat API on 127.0.0.1 (a table of its own: moto servers share data)."""
    with LocalGateway(port=0, table_name=f"wsrelay-cli-{uuid.uuid4().hex[:8]}") as gw:
        yield gw


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    """Terminals to kill after the test."""
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.close()


def _new_connection(gateway: LocalGateway, before: set[str]) -> str:
    """The id of the one connection opened since ``before``.

    Polls: a client's handshake can complete just before the gateway records the connection.
    """
    deadline = time.monotonic() + WAIT
    while not (new := set(gateway.connection_ids()) - before):
        assert time.monotonic() < deadline, "no new connection"
        time.sleep(0.02)
    (connection_id,) = new
    return connection_id


def _peer(gateway: LocalGateway, room: str, name: str) -> Any:
    return websocket.create_connection(f"{gateway.url}?room={room}&name={name}", timeout=WAIT)


def _say(peer: Any, text: str) -> None:
    peer.send(json.dumps({"action": "sendmessage", "message": text}))


def _next_message(peer: Any) -> dict[str, Any]:
    """The next ``message`` frame ``peer`` receives."""
    while True:
        frame: dict[str, Any] = json.loads(peer.recv())
        if frame.get("type") == "message":
            return frame


@pytest.mark.integration
def test_chat_sends_receives_and_joins(gateway: LocalGateway, terminals: list[Terminal]) -> None:
    """Typed lines reach the room, the room's messages are printed, /join changes rooms."""
    peer, other = _peer(gateway, "cli-r1", "peer"), _peer(gateway, "cli-r2", "other")
    try:
        chat = Terminal(gateway.url, "--room", "cli-r1", "--name", "cli")
        terminals.append(chat)
        chat.expect(r"^\* connected to ws://.*room=cli-r1&name=cli")

        chat.type("hello from the terminal")
        frame = _next_message(peer)
        assert (frame["sender"], frame["message"]) == ("cli", "hello from the terminal")
        chat.expect(r"^\[cli-r1\] cli: hello from the terminal$")

        _say(peer, "hello, terminal")
        chat.expect(r"^\[cli-r1\] peer: hello, terminal$")

        chat.type("/join cli-r2")
        chat.expect(r"^\* joined cli-r2$")
        _say(peer, "left behind")  # cli is no longer in cli-r1
        _next_message(peer)
        _say(other, "welcome to r2")
        chat.expect(r"^\[cli-r2\] other: welcome to r2$")
        assert "left behind" not in chat.output

        chat.type("/quit")
        assert chat.wait() == 0
    finally:
        peer.close()
        other.close()


@pytest.mark.integration
def test_chat_leaves_on_end_of_input(gateway: LocalGateway, terminals: list[Terminal]) -> None:
    """Ctrl-D closes the connection and exits 0; the gateway sees the connection go."""
    before = set(gateway.connection_ids())
    chat = Terminal(gateway.url, "--room", "cli-eof", "--name", "eof")
    terminals.append(chat)
    chat.expect(r"^\* connected")
    connection_id = _new_connection(gateway, before)
    chat.end_of_input()
    assert chat.wait() == 0
    deadline = time.monotonic() + WAIT
    while connection_id in gateway.connection_ids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert connection_id not in gateway.connection_ids()


@pytest.mark.integration
def test_chat_says_when_the_server_closes(gateway: LocalGateway, terminals: list[Terminal]) -> None:
    """DeleteConnection ends the session with the close code and reason, exit status 1."""
    before = set(gateway.connection_ids())
    chat = Terminal(gateway.url, "--room", "cli-gone", "--name", "gone")
    terminals.append(chat)
    chat.expect(r"^\* connected")
    connection_id = _new_connection(gateway, before)
    gateway.management_client().delete_connection(ConnectionId=connection_id)
    chat.expect(r"^\* the server closed the connection \(1000: Connection deleted\)$")
    assert chat.wait() == 1


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args], capture_output=True, text=True, timeout=WAIT, stdin=subprocess.DEVNULL
    )


@pytest.mark.integration
def test_a_refused_handshake_shows_the_servers_reason(gateway: LocalGateway) -> None:
    """An invalid name is refused with HTTP 400; the command prints why and exits 1."""
    result = _run(gateway.url, "--room", "ok", "--name", "two words")
    assert result.returncode == 1
    assert "refused the connection (HTTP 400" in result.stderr
    assert 'name "two words" contains' in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.integration
def test_bad_urls_and_closed_ports_fail_clearly() -> None:
    """A web address, a non-URL and a port nobody listens on each give one clear error line."""
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    cases = {
        "http://127.0.0.1:8765/dev": "starts with ws:// or wss://, such as ws://127.0.0.1:8765/dev",
        "localhost": "is not a WebSocket URL",
        f"ws://127.0.0.1:{closed_port}/dev": "connection refused",
    }
    for url, says in cases.items():
        result = _run(url)
        assert result.returncode == 1, url
        assert result.stderr.startswith("error: "), url
        assert says in result.stderr, url
        assert "Traceback" not in result.stderr, url
