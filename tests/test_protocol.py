"""``wsrelay.protocol``: client frames parsed or refused with a useful reason; server frames built."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from wsrelay import protocol
from wsrelay.exceptions import ProtocolError, WsrelayError
from wsrelay.protocol import JoinRoom, SendMessage

# --- parsing client frames -----------------------------------------------------------------


def test_parse_sendmessage() -> None:
    """A sendmessage frame gives SendMessage with the text exactly as sent."""
    frame = protocol.parse_client_frame('{"action": "sendmessage", "message": " héllo 👋 "}')
    assert frame == SendMessage(" héllo 👋 ")


def test_parse_joinroom() -> None:
    """A joinroom frame gives JoinRoom with the room."""
    assert protocol.parse_client_frame('{"action":"joinroom","room":"room_2-B"}') == JoinRoom(
        "room_2-B"
    )


def test_parse_ignores_extra_fields() -> None:
    """Unknown extra fields are tolerated, so clients can add their own metadata."""
    body = json.dumps({"action": "sendmessage", "message": "hi", "clientTime": 1, "x": [1]})
    assert protocol.parse_client_frame(body) == SendMessage("hi")


#: (frame text, words its error must contain) for every kind of bad frame
BAD_FRAMES: dict[str, tuple[str | None, list[str]]] = {
    "none": (None, ["empty frame"]),
    "empty": ("", ["empty frame"]),
    "whitespace": ("  \n\t", ["empty frame"]),
    "not json": ("hello there", ["not JSON"]),
    "truncated json": ('{"action": "sendmessage", ', ["not JSON"]),
    "json array": ('["sendmessage", "hi"]', ["JSON object", "list"]),
    "json string": ('"sendmessage"', ["JSON object", "str"]),
    "json number": ("42", ["JSON object", "int"]),
    "json null": ("null", ["JSON object", "NoneType"]),
    "no action": ('{"message": "hi"}', ['no "action"']),
    "null action": ('{"action": null, "message": "hi"}', ['no "action"']),
    "unknown action": ('{"action": "chat", "message": "hi"}', ["unknown action", '"chat"']),
    "action of wrong type": ('{"action": 7}', ["unknown action", "7"]),
    "action in wrong case": ('{"action": "SendMessage", "message": "x"}', ["unknown action"]),
    "message missing": ('{"action": "sendmessage"}', ['"message" must be text', "nothing"]),
    "message a number": ('{"action": "sendmessage", "message": 5}', ['"message"', "int"]),
    "message a list": ('{"action": "sendmessage", "message": ["hi"]}', ['"message"', "list"]),
    "message an object": ('{"action": "sendmessage", "message": {}}', ['"message"', "dict"]),
    "message empty": ('{"action": "sendmessage", "message": ""}', ['"message" is empty']),
    "message whitespace": ('{"action": "sendmessage", "message": " \\n\\t "}', ["empty"]),
    "room missing": ('{"action": "joinroom"}', ['"room" is missing']),
    "room empty": ('{"action": "joinroom", "room": ""}', ["room", "is empty"]),
    "room too long": (
        json.dumps({"action": "joinroom", "room": "r" * 65}),
        ["room", "65 characters long", "1-64"],
    ),
    "room with space": ('{"action": "joinroom", "room": "my room"}', ["room", "contains", "' '"]),
    "room with slash": ('{"action": "joinroom", "room": "a/b"}', ["contains", "'/'"]),
    "room with non-ascii": ('{"action": "joinroom", "room": "café"}', ["contains", "'é'"]),
    "room with newline": ('{"action": "joinroom", "room": "lobby\\n"}', ["contains", "'\\n'"]),
    "room a number": ('{"action": "joinroom", "room": 12}', ["room must be a string", "int"]),
    "room null": ('{"action": "joinroom", "room": null}', ["room must be a string", "NoneType"]),
    "room a list": ('{"action": "joinroom", "room": ["a"]}', ["room must be a string", "list"]),
}


@pytest.mark.parametrize("kind", list(BAD_FRAMES))
def test_bad_frame_raises_protocol_error_saying_what_is_wrong(kind: str) -> None:
    """Each kind of bad frame raises ProtocolError whose text names the problem."""
    body, words = BAD_FRAMES[kind]
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_client_frame(body)
    text = str(caught.value)
    for word in words:
        assert word in text, f"{word!r} not in {text!r}"


@pytest.mark.parametrize(
    "kind", ["none", "not json", "json array", "no action", "unknown action", "room missing"]
)
def test_frame_errors_show_a_frame_that_works(kind: str) -> None:
    """Errors about the frame as a whole show a valid frame to copy."""
    body, _ = BAD_FRAMES[kind]
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_client_frame(body)
    assert '{"action": ' in str(caught.value)


def test_protocol_error_is_a_wsrelay_error_and_a_value_error() -> None:
    """ProtocolError sits under the package's one base and under ValueError."""
    with pytest.raises(ProtocolError) as caught:
        protocol.parse_client_frame("[]")
    assert isinstance(caught.value, WsrelayError)
    assert isinstance(caught.value, ValueError)


def test_deeply_nested_frame_is_a_protocol_error() -> None:
    """A frame nested too deeply for the JSON parser is refused, not a crash (RecursionError)."""
    for body in ("[" * 32_000, '{"a":' * 20_000):  # both fit in one 32 KB WebSocket frame
        with pytest.raises(ProtocolError, match="nested too deeply"):
            protocol.parse_client_frame(body)


def test_message_with_unpaired_surrogate_is_refused() -> None:
    """A message with a lone \\ud800 escape is refused: it cannot be sent on as UTF-8."""
    with pytest.raises(ProtocolError, match="surrogate"):
        protocol.parse_client_frame('{"action": "sendmessage", "message": "hi \\ud800"}')
    # A properly paired escape is one emoji and is fine.
    frame = protocol.parse_client_frame('{"action": "sendmessage", "message": "\\ud83d\\udc4b"}')
    assert frame == SendMessage("👋")


# --- rooms and names -----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["a", "lobby", "A-Z_0-9", "x" * 64, "-", "_"])
def test_valid_identifiers(value: str) -> None:
    """1-64 characters of A-Za-z0-9_- are valid rooms and names."""
    assert protocol.validate_room(value) == value
    assert protocol.validate_name(value) == value


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("", ["is empty"]),
        ("x" * 65, ["65 characters long"]),
        ("x" * 1000, ["1000 characters long"]),
        ("a b", ["contains ' '"]),
        ("٣", ["contains"]),  # a non-ASCII digit: \d would accept it, the protocol does not
        (None, ["must be a string", "NoneType"]),
        (3.5, ["must be a string", "float"]),
        (b"lobby", ["must be a string", "bytes"]),
    ],
)
def test_invalid_names_say_why(value: Any, words: list[str]) -> None:
    """An invalid name raises ProtocolError naming the problem and the rule."""
    with pytest.raises(ProtocolError) as caught:
        protocol.validate_name(value)
    text = str(caught.value)
    assert text.startswith("name")
    assert "1-64" in text
    for word in words:
        assert word in text


def test_generate_name_is_valid_and_seedable() -> None:
    """Generated names are valid names, and a seeded rng repeats them."""
    names = [protocol.generate_name(random.Random(n)) for n in range(50)]
    for name in names:
        assert protocol.validate_name(name) == name
        assert name.startswith("guest-")
    assert protocol.generate_name(random.Random(3)) == protocol.generate_name(random.Random(3))
    assert protocol.validate_name(protocol.generate_name())


# --- building server frames ----------------------------------------------------------------


def _message_frame(message: str) -> str:
    return protocol.message_frame(
        room="lobby",
        sender="alice",
        connection_id="Mg_ugfpqPHcCIVA=",
        message=message,
        sent_at=1_795_769_289_123,
    )


def test_message_frame_fields() -> None:
    """The message frame has exactly the protocol's fields, with compact UTF-8 JSON."""
    frame = _message_frame("héllo")
    assert json.loads(frame) == {
        "type": "message",
        "room": "lobby",
        "sender": "alice",
        "connectionId": "Mg_ugfpqPHcCIVA=",
        "message": "héllo",
        "sentAt": 1_795_769_289_123,
    }
    assert "héllo" in frame  # not \\u00e9: UTF-8 is smaller than escapes
    assert ", " not in frame and ": " not in frame


def test_joined_and_error_frames() -> None:
    """joined and error frames parse back to the protocol's shapes."""
    assert json.loads(protocol.joined_frame("room-2")) == {"type": "joined", "room": "room-2"}
    assert json.loads(protocol.error_frame('bad "x" ✗')) == {"type": "error", "error": 'bad "x" ✗'}


def _message_of_frame_size(size: int) -> str:
    """A message mixing 1-, 2-, 3- and 4-byte characters whose frame is ``size`` bytes."""
    overhead = len(_message_frame("").encode("utf-8"))
    pattern = "aé€😀"  # 1 + 2 + 3 + 4 = 10 bytes
    budget = size - overhead
    message = pattern * (budget // 10)
    message += "a" * (budget - len(message.encode("utf-8")))
    assert len(_message_frame(message).encode("utf-8")) == size
    return message


def test_message_frame_limit_boundary_in_bytes() -> None:
    """A frame of exactly 131,072 UTF-8 bytes is accepted; 131,073 is refused."""
    assert protocol.MAX_MESSAGE_BYTES == 131_072
    exact = _message_of_frame_size(131_072)
    assert len(exact) < 131_072 - 100  # far fewer characters than bytes: multi-byte text
    frame = _message_frame(exact)
    assert len(frame.encode("utf-8")) == 131_072
    assert json.loads(frame)["message"] == exact

    with pytest.raises(ProtocolError) as caught:
        _message_frame(exact + "a")
    assert "131,073 bytes" in str(caught.value)
    assert "131,072" in str(caught.value)
    assert "message too long" in str(caught.value)


def test_message_frame_limit_counts_bytes_not_characters() -> None:
    """Swapping one 1-byte character for a 2-byte one tips an exact frame over the limit."""
    exact = _message_of_frame_size(131_072)
    assert exact.endswith("a")
    with pytest.raises(ProtocolError, match="131,073 bytes"):
        _message_frame(exact[:-1] + "é")
    # The same number of characters, all 4-byte: four times the bytes.
    with pytest.raises(ProtocolError, match="too long"):
        _message_frame("😀" * (131_072 // 4))


def test_message_frame_limit_counts_json_escapes() -> None:
    """Characters JSON escapes (quotes, newlines) count at their escaped size."""
    exact = _message_of_frame_size(131_072)
    # '"' is 1 byte of text but 2 in the frame (\\"), so it overflows by one byte.
    with pytest.raises(ProtocolError, match="131,073 bytes"):
        _message_frame(exact[:-1] + '"')
