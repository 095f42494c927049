"""``wsrelay chat``: a terminal client for the chat wire protocol.

::

    $ wsrelay chat ws://127.0.0.1:8765/dev --room r1 --name ada
    * connected to ws://127.0.0.1:8765/dev?room=r1&name=ada (/join ROOM, /quit, /help)
    hello                      a line you type is sent as {"action": "sendmessage", ...}
    [r1] ada: hello            what the room receives, your own messages included
    /join r2                   {"action": "joinroom", "room": "r2"}
    * joined r2
    ! error: ...               an error frame from the server

The same command talks to a deployed API (``wss://….execute-api.….amazonaws.com/prod``).

The decisions are plain functions the tests call directly (:func:`socket_url`,
:func:`parse_line`, :func:`format_frame`); :func:`run` owns the socket and two threads, one
reading frames and one reading the keyboard. It does not reconnect: when the server closes
the connection (idle for 10 minutes, deleted through ``@connections``) it says so and exits 1.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "Notice",
    "Quit",
    "Send",
    "format_frame",
    "parse_line",
    "printable",
    "register",
    "run",
    "socket_url",
]

HELP = (
    "type a line and press Enter to send it; "
    "/join ROOM moves to another room; //text sends a line that starts with /; "
    "/quit or Ctrl-D leaves"
)


# --- decisions (no I/O) ---------------------------------------------------------------------


def socket_url(url: str, room: str | None = None, name: str | None = None) -> str:
    """Return ``url`` with ``room`` and ``name`` set in its query string.

    Other query parameters are kept; ``room`` and ``name`` replace ones already in ``url``.
    They are not checked here: the server's ``$connect`` checks them and explains a refusal.

    Raises:
        ValueError: ``url`` is not a ``ws://`` or ``wss://`` URL with a host.
    """
    parts = urlsplit(url.strip())
    if parts.scheme in ("http", "https"):
        fixed = urlunsplit(("ws" if parts.scheme == "http" else "wss", *parts[1:]))
        raise ValueError(
            f"{url} is a web address; a WebSocket URL starts with ws:// or wss://, "
            f"such as {fixed or 'ws://127.0.0.1:8765/dev'}"
        )
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise ValueError(
            f"{url!r} is not a WebSocket URL: use ws://HOST:PORT/STAGE "
            "(wsrelay serve prints it) or wss://ID.execute-api.REGION.amazonaws.com/STAGE"
        )
    replace = {key: value for key, value in (("room", room), ("name", name)) if value is not None}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in replace]
    query += list(replace.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


@dataclass(frozen=True)
class Send:
    """A frame to send to the server."""

    frame: str


@dataclass(frozen=True)
class Notice:
    """A line to show the user, sending nothing."""

    text: str


@dataclass(frozen=True)
class Quit:
    """Leave: close the connection and exit."""


def _frame(**fields: str) -> str:
    return json.dumps(fields, ensure_ascii=False)


def parse_line(line: str) -> Send | Notice | Quit | None:
    """Decide what a line typed by the user does; ``None`` for a blank line."""
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    if line.startswith("//"):
        return Send(_frame(action="sendmessage", message=line[1:]))
    if not line.startswith("/"):
        return Send(_frame(action="sendmessage", message=line))
    command, _, rest = line[1:].partition(" ")
    if command in ("quit", "exit", "q"):
        return Quit()
    if command == "join":
        room = rest.strip()
        if not room:
            return Notice("! usage: /join ROOM")
        return Send(_frame(action="joinroom", room=room))
    if command in ("help", "?"):
        return Notice(f"* {HELP}")
    return Notice(f"! unknown command /{command}: {HELP}")


# C0/C1 control characters (escape sequences could rewrite the user's terminal) and bidi
# overrides (they could make one sender's text look like another's): shown, not obeyed.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """Return ``text`` with control characters shown as escapes (``\\x1b``), not obeyed."""
    return _UNSAFE.sub(lambda m: repr(m.group())[1:-1], text)


def format_frame(raw: str | bytes) -> str:
    """Render a frame from the server as the line (or lines) to print."""
    if isinstance(raw, bytes):
        return f"? binary frame of {len(raw)} bytes"
    try:
        frame: Any = json.loads(raw)
    except ValueError:
        return f"? {printable(raw)}"
    if not isinstance(frame, dict):
        return f"? {printable(raw)}"
    kind = frame.get("type")
    if kind == "message":
        prefix = f"[{frame.get('room', '?')}] {frame.get('sender', '?')}: "
        lines = str(frame.get("message", "")).split("\n")
        indent = "\n" + " " * len(prefix)
        return printable(prefix) + indent.join(printable(line) for line in lines)
    if kind == "joined":
        return f"* joined {printable(str(frame.get('room', '?')))}"
    if kind == "error":
        return f"! error: {printable(str(frame.get('error', '')))}"
    if kind is None and isinstance(frame.get("message"), str):
        # API Gateway's own frame: {"message": "Forbidden", "connectionId": …, "requestId": …}
        request = f" (request {frame['requestId']})" if frame.get("requestId") else ""
        return f"! gateway: {printable(frame['message'])}{printable(request)}"
    return f"? {printable(raw)}"


def _close_text(data: bytes) -> str:
    """``1000: Connection deleted`` from a close frame's payload."""
    if len(data) < 2:
        return "no status"
    code = int.from_bytes(data[:2], "big")
    reason = data[2:].decode("utf-8", errors="replace")
    return f"{code}: {printable(reason)}" if reason else str(code)


# --- the command ----------------------------------------------------------------------------


def register(name: str, parser: argparse.ArgumentParser) -> None:
    """Add ``chat``'s arguments."""
    parser.add_argument(
        "url", help="the WebSocket URL: ws://127.0.0.1:8765/dev, or a deployed API's wss:// URL"
    )
    parser.add_argument("--room", help="room to join (the server's default: lobby)")
    parser.add_argument("--name", help="your name (the server's default: a generated one)")


class _Terminal:
    """Prints whole lines from two threads without interleaving them."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        with self._lock:
            self._out.write(text + "\n")
            self._out.flush()


def run(args: argparse.Namespace) -> int:
    """Connect, then relay lines between the terminal and the server until /quit or EOF."""
    import websocket  # websocket-client, from the [local] extra

    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="replace")  # a peer's emoji must not crash a C locale
    try:
        url = socket_url(args.url, args.room, args.name)
        ws = websocket.create_connection(url, timeout=10)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except websocket.WebSocketBadStatusException as exc:
        body = exc.resp_body.decode("utf-8", errors="replace").strip() if exc.resp_body else ""
        status = f"HTTP {exc.status_code} {exc.status_message or ''}".strip()
        print(
            f"error: the server refused the connection ({status})"
            + (f": {printable(body)}" if body else ""),
            file=sys.stderr,
        )
        return 1
    except websocket.WebSocketAddressException as exc:
        print(f"error: cannot find the host of {url}: {exc}", file=sys.stderr)
        return 1
    except ConnectionRefusedError:
        print(
            f"error: nothing is listening at {url} (connection refused); "
            "is `wsrelay serve` running, on that port?",
            file=sys.stderr,
        )
        return 1
    except (OSError, websocket.WebSocketException) as exc:
        print(f"error: cannot connect to {url}: {exc}", file=sys.stderr)
        return 1
    ws.settimeout(None)
    terminal = _Terminal(sys.stdout)
    terminal.say(f"* connected to {url} (/join ROOM, /quit, /help)")
    done = threading.Event()
    leaving = threading.Event()
    outcome = [0]  # the exit status, set by the reader

    def read_frames() -> None:
        try:
            while True:
                opcode, frame = ws.recv_data_frame()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    if not leaving.is_set():
                        terminal.say(
                            f"* the server closed the connection ({_close_text(frame.data)})"
                        )
                        outcome[0] = 1
                    return
                text = opcode == websocket.ABNF.OPCODE_TEXT
                terminal.say(format_frame(_text(frame.data) if text else bytes(frame.data)))
        except (OSError, websocket.WebSocketException) as exc:
            if not leaving.is_set():
                terminal.say(f"* the connection was lost ({str(exc) or type(exc).__name__})")
                outcome[0] = 1
        finally:
            done.set()

    def read_keyboard() -> None:
        try:
            for line in sys.stdin:
                action = parse_line(line)
                if isinstance(action, Quit):
                    return
                if isinstance(action, Notice):
                    terminal.say(action.text)
                elif isinstance(action, Send):
                    ws.send(action.frame)
        except (OSError, websocket.WebSocketException):
            pass  # the reader reports why the connection ended
        finally:
            leaving.set()
            done.set()

    reader = threading.Thread(target=read_frames, name="wsrelay-chat-reader", daemon=True)
    # A daemon: a blocked read of stdin must not keep the process alive after a server close.
    keyboard = threading.Thread(target=read_keyboard, name="wsrelay-chat-keyboard", daemon=True)
    reader.start()
    keyboard.start()
    with contextlib.suppress(KeyboardInterrupt):
        done.wait()
    if reader.is_alive():  # we are leaving: close politely, wait briefly for the reply
        leaving.set()
        with contextlib.suppress(OSError, websocket.WebSocketException):
            ws.send_close(reason=b"bye")
        reader.join(timeout=3)
    ws.shutdown()  # type: ignore[no-untyped-call]  # websocket-client leaves it unannotated
    return outcome[0]


def _text(data: str | bytes) -> str:
    return data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
