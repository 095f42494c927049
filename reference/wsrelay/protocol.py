"""The chat wire protocol: parse client frames, build server frames.

Client → server (JSON text frames, the route chosen by ``$request.body.action``)::

    {"action": "sendmessage", "message": "<text>"}   to everyone in the sender's room
    {"action": "joinroom", "room": "<room>"}          move to another room

Server → client::

    {"type": "message", "room": …, "sender": …, "connectionId": …, "message": …, "sentAt": ms}
    {"type": "joined", "room": …}
    {"type": "error", "error": "<what was wrong and how to fix it>"}

Rooms and names are 1-64 characters of ``A-Za-z0-9_-``. A message is non-empty text whose
broadcast frame fits in API Gateway's 128 KB message limit. Everything here is pure: no I/O.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from typing import Any

from wsrelay import aws_facts
from wsrelay.exceptions import ProtocolError

__all__ = [
    "DEFAULT_ROOM",
    "MAX_MESSAGE_BYTES",
    "JoinRoom",
    "SendMessage",
    "error_frame",
    "generate_name",
    "joined_frame",
    "message_frame",
    "parse_client_frame",
    "validate_name",
    "validate_room",
]

DEFAULT_ROOM = "lobby"

#: API Gateway's WebSocket message limit, and botocore's maximum for PostToConnection's
#: ``Data``: 128 KB = 131,072 bytes (``wsrelay.aws_facts``).
MAX_MESSAGE_BYTES = aws_facts.MAX_MESSAGE_BYTES

_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]{1,64}")
_EXAMPLES = (
    'send {"action": "sendmessage", "message": "hello"} to chat, '
    'or {"action": "joinroom", "room": "lobby"} to change rooms'
)


@dataclass(frozen=True)
class SendMessage:
    """A ``sendmessage`` frame: broadcast ``message`` to the sender's room."""

    message: str


@dataclass(frozen=True)
class JoinRoom:
    """A ``joinroom`` frame: move the sender to ``room``."""

    room: str


ClientFrame = SendMessage | JoinRoom


def _check_identifier(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ProtocolError(
            f"{what} must be a string of 1-64 letters, digits, '_' or '-', "
            f"got {type(value).__name__} {json.dumps(value, default=repr)[:40]}"
        )
    if not _IDENTIFIER.fullmatch(value):
        if not value:
            problem = "is empty"
        elif len(value) > 64:
            problem = f"is {len(value)} characters long"
        else:
            bad = sorted({c for c in value if not re.fullmatch(r"[A-Za-z0-9_-]", c)})
            problem = f"contains {', '.join(repr(c) for c in bad[:5])}"
        raise ProtocolError(
            f"{what} {json.dumps(value)[:80]} {problem}: use 1-64 letters, digits, '_' or '-'"
        )
    return value


def validate_room(room: object) -> str:
    """Return ``room`` if it is a valid room name, else raise :class:`ProtocolError`."""
    return _check_identifier(room, "room")


def validate_name(name: object) -> str:
    """Return ``name`` if it is a valid user name, else raise :class:`ProtocolError`."""
    return _check_identifier(name, "name")


def generate_name(rng: random.Random | None = None) -> str:
    """Return a short generated user name such as ``guest-4821``."""
    source = rng if rng is not None else random
    return f"guest-{source.randrange(1000, 10000)}"


def parse_client_frame(body: str | None) -> ClientFrame:
    """Parse a client's text frame.

    Raises:
        ProtocolError: the frame is missing, not a JSON object, has an unknown or missing
            ``action``, or a field of the wrong type or value. The message says which and
            shows a frame that works.
    """
    if body is None or not body.strip():
        raise ProtocolError(f"empty frame: {_EXAMPLES}")
    try:
        data: Any = json.loads(body)
    except json.JSONDecodeError as exc:
        raise ProtocolError(
            f"frame is not JSON ({exc.msg} at character {exc.pos}): {_EXAMPLES}"
        ) from None
    except RecursionError:
        # json's C parser gives up on deep nesting ("[[[[…", which fits in one 32 KB frame).
        raise ProtocolError(f"frame is nested too deeply to parse: {_EXAMPLES}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"frame must be a JSON object, got {type(data).__name__}: {_EXAMPLES}")
    action = data.get("action")
    if action is None:
        raise ProtocolError(f'frame has no "action": {_EXAMPLES}')
    if action == "sendmessage":
        message = data.get("message")
        if not isinstance(message, str):
            got = "nothing" if message is None else type(message).__name__
            raise ProtocolError(
                f'"message" must be text, got {got}: send {{"action": "sendmessage", "message": "hello"}}'
            )
        if not message.strip():
            raise ProtocolError('"message" is empty: type some text to send')
        try:
            message.encode("utf-8")
        except UnicodeEncodeError:
            # JSON allows a lone "\\ud800" escape; UTF-8 (the broadcast frame) does not.
            raise ProtocolError(
                '"message" contains an unpaired surrogate escape (\\ud800-\\udfff): '
                "send valid Unicode text"
            ) from None
        return SendMessage(message)
    if action == "joinroom":
        if "room" not in data:
            raise ProtocolError('"room" is missing: send {"action": "joinroom", "room": "lobby"}')
        return JoinRoom(validate_room(data["room"]))
    raise ProtocolError(f"unknown action {json.dumps(action)[:40]}: {_EXAMPLES}")


def _dump(frame: dict[str, Any]) -> str:
    # Compact separators: every byte counts against the 128 KB limit. ensure_ascii=False
    # keeps non-ASCII text as UTF-8, which is also smaller than \\u escapes.
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def message_frame(*, room: str, sender: str, connection_id: str, message: str, sent_at: int) -> str:
    """Build the ``message`` frame broadcast to a room.

    Raises:
        ProtocolError: the frame would exceed :data:`MAX_MESSAGE_BYTES` in UTF-8.
    """
    frame = _dump(
        {
            "type": "message",
            "room": room,
            "sender": sender,
            "connectionId": connection_id,
            "message": message,
            "sentAt": sent_at,
        }
    )
    size = len(frame.encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise ProtocolError(
            f"message too long: its broadcast frame would be {size:,} bytes and API Gateway "
            f"allows {MAX_MESSAGE_BYTES:,} (128 KB); send a shorter message or split it"
        )
    return frame


def joined_frame(room: str) -> str:
    """Build the ``joined`` frame sent to a client that moved to ``room``."""
    return _dump({"type": "joined", "room": room})


def error_frame(error: str) -> str:
    """Build an ``error`` frame carrying a human-readable explanation."""
    return _dump({"type": "error", "error": error})
