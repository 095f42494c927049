"""What a connection owes its client, in order: frames websockets' protocol wrote, and the backlog.

Sans I/O, like the core it serves: the protocol writes frames into it, the I/O side takes
chunks only while its transport accepts them (``next_chunk``), so what stays here is the
backlog of a client that is not reading, and ``queued_bytes`` is its size (the core refuses
posts past its limit). A message over 32 KB goes out as 32 KB frames, as API Gateway sends
it ("this applies to @connections commands as well", the quotas table's frame-size note).
"""

from __future__ import annotations

import collections

from websockets.protocol import Protocol

from wsrelay.aws_facts import MAX_FRAME_BYTES

__all__ = ["Outbox"]


class Outbox:
    """The bytes for the socket, in order; ``b""`` asks for a half-close (EOF)."""

    def __init__(self, protocol: Protocol) -> None:
        self.protocol = protocol
        self._queue: collections.deque[bytes] = collections.deque()
        self.queued_bytes = 0
        #: Posts were refused (429) since the queue last emptied: the client is not reading.
        self.refusing = False
        self.pull()  # what the protocol has to send already (the handshake's 101)

    def pull(self) -> None:
        """Take what the protocol has written (frames, control frames, EOF)."""
        for chunk in self.protocol.data_to_send():
            self._queue.append(chunk)
            self.queued_bytes += len(chunk)

    def send(self, data: bytes, *, text: bool) -> None:
        """One message, in frames of 32 KB at most."""
        protocol = self.protocol
        start = protocol.send_text if text else protocol.send_binary
        if len(data) <= MAX_FRAME_BYTES:
            start(data)
        else:
            step = MAX_FRAME_BYTES
            chunks = [data[i : i + step] for i in range(0, len(data), step)]
            start(chunks[0], fin=False)
            for index in range(1, len(chunks)):
                protocol.send_continuation(chunks[index], fin=index == len(chunks) - 1)
        self.pull()

    def next_chunk(self) -> bytes | None:
        """The next bytes for the socket (``b""``: half-close it), or ``None``: nothing waits."""
        if not self._queue:
            return None
        chunk = self._queue.popleft()
        self.queued_bytes -= len(chunk)
        if not self._queue:
            self.refusing = False
        return chunk
