"""The runtime API's hello: an environment is admitted by its token, whatever follows it.

An environment says hello, runs its init and says ready; on a busy gateway both can arrive in
one read. Rejecting the pair as a bad hello left the environment's start waiting 60 s for a
connection that had been closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from wsrelay.local.lambda_runtime.environments import RuntimeApi
from wsrelay.local.lambda_runtime.wire import FrameReader, encode

#: The message an environment sends once its init has run (two frames: one batch each).
READY = {"t": "ready", "pid": 1, "init_error": None}


async def _say(api: RuntimeApi, cut: int = 0) -> tuple[FrameReader, list[dict[str, Any]]]:
    """Say hello with a ready behind it (its last ``cut`` bytes held back) in one write;
    return the frame reader and the early messages the environment's channel starts with."""
    token, connected = api.expect()
    data = encode([{"t": "hello", "token": token}]) + encode([READY])
    host, port = api.address.rsplit(":", 1)
    _, writer = await asyncio.open_connection(host, int(port))
    writer.write(data[: len(data) - cut])
    await writer.drain()
    try:
        _, theirs, frames, early = await asyncio.wait_for(connected, timeout=5)
        theirs.close()
        await theirs.wait_closed()
        return frames, early
    finally:
        writer.close()
        await writer.wait_closed()


def test_a_ready_in_the_same_read_as_the_hello_is_passed_on() -> None:
    async def main() -> None:
        api = RuntimeApi()
        await api.start()
        try:
            # The ready's first bytes only: the rest is still for the frame reader to finish.
            frames, early = await _say(api, cut=3)
            assert early == []
            assert frames.feed(encode([READY])[-3:]) == [READY]
            _, early = await _say(api)
            assert early == [READY]
        finally:
            await api.stop()

    asyncio.run(main())


def test_an_unknown_token_is_refused() -> None:
    async def main() -> None:
        api = RuntimeApi()
        await api.start()
        try:
            token, connected = api.expect()
            host, port = api.address.rsplit(":", 1)
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(encode([{"t": "hello", "token": "not-" + token}]))
            await writer.drain()
            assert await asyncio.wait_for(reader.read(), timeout=5) == b""  # closed on it
            assert not connected.done()
            writer.close()
            await writer.wait_closed()
        finally:
            await api.stop()

    asyncio.run(main())
