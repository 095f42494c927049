"""A crowd of WebSocket clients in a room, in a process of its own (so its sockets are not the test's).

``python room_clients.py URL ROOM N MARKER``: connects N clients to ``URL?room=ROOM``, prints
``ready`` once all are connected, then counts, per client, the chat frames whose message is
MARKER. A line on standard input ends it: it prints ``{copies received: clients}`` as JSON
and exits. Run by ``test_big_room.py``.
"""

from __future__ import annotations

import asyncio
import collections
import json
import sys

from websockets.asyncio.client import ClientConnection, connect


async def main(url: str, room: str, n: int, marker: str) -> None:
    counts = [0] * n

    async def one(i: int) -> ClientConnection:
        return await connect(
            f"{url}?room={room}&name=c{i}", compression=None, ping_interval=None, open_timeout=120
        )

    clients: list[ClientConnection] = []
    for start in range(0, n, 500):  # in waves, as a room fills
        clients += await asyncio.gather(*(one(i) for i in range(start, min(n, start + 500))))

    async def read(i: int, ws: ClientConnection) -> None:
        async for raw in ws:
            if json.loads(raw).get("message") == marker:
                counts[i] += 1

    readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(clients)]
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(json.dumps(collections.Counter(counts)), flush=True)
    for task in readers:
        task.cancel()
    await asyncio.gather(*(ws.close() for ws in clients), return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]))
