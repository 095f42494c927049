"""Length-prefixed batches of messages between the gateway and its Lambda worker processes.

Each frame on the channel is a 4-byte big-endian length followed by a pickled *list* of
messages, processed in order. Batching matters on the fan-out's hot path: a broadcast to
1,000 connections is 1,000 ``post`` messages, and writing each on its own cost a system
call, a lock and a GIL hand-off per post in the worker, and two buffered reads per post in
the gateway. The channel is a ``socket.socketpair`` created by the gateway and inherited by
the worker it starts, so no other process can connect to it (that is why pickle is
acceptable here).

Messages (``t`` is the type):

- gateway → worker: ``invoke`` {id, handler, event, deadline (epoch s), request_id};
  ``reply`` {id, status, body} answering a worker's ``manage``.
  ``open`` / ``closed`` {connection_id} and ``live`` {connection_ids}: which connections
  are open, so a post to one of them needs no round trip.
- worker → gateway: ``ready``; ``result`` {id, ok, value | error, duration_ms};
  ``manage`` {id, op: post|get|delete, connection_id, data}, answered with ``reply``;
  ``post`` {connection_id, data}: write a frame to an open connection, no answer.
"""

from __future__ import annotations

import pickle
import struct
from typing import Any

__all__ = ["HEADER", "FrameReader", "decode", "encode"]

HEADER = struct.Struct(">I")

Message = dict[str, Any]


def encode(messages: list[Message]) -> bytes:
    """Frame a batch of messages for the channel.

    Within one batch pickle writes an object once however often it is referenced, so a
    payload posted to 1,000 connections crosses the channel once.
    """
    payload = pickle.dumps(messages, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def decode(payload: bytes) -> list[Message]:
    """Decode one frame's payload (without its length prefix) into its messages."""
    messages: list[Message] = pickle.loads(payload)
    return messages


class FrameReader:
    """Splits a byte stream into frames: feed it what the socket gave, get whole batches."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Message]:
        """Add ``data``; return the messages of every frame now complete, in order."""
        self._buffer += data
        messages: list[Message] = []
        view = self._buffer
        offset = 0
        while len(view) - offset >= HEADER.size:
            (length,) = HEADER.unpack_from(view, offset)
            end = offset + HEADER.size + length
            if end > len(view):
                break
            messages.extend(decode(bytes(view[offset + HEADER.size : end])))
            offset = end
        if offset:
            del self._buffer[:offset]
        return messages
