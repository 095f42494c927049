"""Length-prefixed messages between the gateway and its Lambda worker processes.

Each message is a 4-byte big-endian length followed by a pickled dict. The channel is a
``socket.socketpair`` created by the gateway and inherited by the worker it starts, so no
other process can connect to it (that is why pickle is acceptable here).

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

__all__ = ["HEADER", "decode", "encode"]

HEADER = struct.Struct(">I")


def encode(message: dict[str, Any]) -> bytes:
    """Frame one message for the channel."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def decode(payload: bytes) -> dict[str, Any]:
    """Decode one message's payload (without its length prefix)."""
    message: dict[str, Any] = pickle.loads(payload)
    return message
