"""Churn soak: minutes of clients joining, leaving, vanishing and switching rooms; what is left.

Starts ``wsrelay serve`` (the workbook's chat) in its own process, then for ``--duration``
seconds keeps ``--churners`` clients coming and going around a fixed set of *stayers*:

- each churner connects to a random room, sends a few messages, may switch rooms
  (``joinroom``, waiting for its ``joined``), and ends one of three ways: a close frame,
  vanishing without one (TCP FIN), or a reset (RST);
- the stayers, a few per room, are there from start to end and record every message.

Then everyone leaves and it prints: connections made and how each ended, room switches,
messages sent, deliveries owed to the stayers and how many arrived (lost, duplicated),
rows left in the connections table once every client has gone (orphans), and the gateway
process's RSS at the start, at its peak and at the end. It exits 1 if a stayer lost or
repeated a message or a row was left; it asserts nothing about time.

Run: ``make soak`` or ``python benchmarks/soak.py --duration 180 --churners 60``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import random
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
import psutil
from websockets.asyncio.client import ClientConnection, connect

ROOMS = ["lobby", "kitchen", "garden", "attic"]


@dataclass
class Figures:
    connections: int = 0
    ended: collections.Counter[str] = field(default_factory=collections.Counter)
    refused: int = 0
    switches: int = 0
    sent: int = 0
    owed: int = 0
    received: int = 0
    lost: int = 0
    duplicated: int = 0
    rows_left: int = -1
    rss_start_mb: float = 0.0
    rss_peak_mb: float = 0.0
    rss_end_mb: float = 0.0
    environments_rss_end_mb: float = 0.0


class Sampler(threading.Thread):
    """The gateway process's RSS every 0.5 s (its own: the functions' processes apart)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self._done = threading.Event()

    def rss(self) -> int:
        return int(self.process.memory_info().rss)

    def children_rss(self) -> int:
        total = 0
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except psutil.Error:
                continue
        return total

    def run(self) -> None:
        while not self._done.wait(0.5):
            try:
                self.peak = max(self.peak, self.rss())
            except psutil.Error:
                return

    def stop(self) -> None:
        self._done.set()
        self.join()


def start_server() -> tuple[subprocess.Popen[str], str, str, str]:
    """``wsrelay serve`` on a free port: (process, WebSocket URL, DynamoDB endpoint, table)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "wsrelay.cli", "serve", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = dynamodb = table = ""
    deadline = time.time() + 60
    while time.time() < deadline and not (url and dynamodb):
        line = process.stdout.readline()
        if match := re.search(r"WebSocket URL:\s+(\S+)", line):
            url = match.group(1)
        if match := re.search(r"DynamoDB:\s+(\S+) \(table (\S+)\)", line):
            dynamodb, table = match.groups()
        if not line and process.poll() is not None:
            break
    if not (url and dynamodb):
        process.kill()
        raise RuntimeError("wsrelay serve did not start")
    return process, url, dynamodb, table


class Soak:
    def __init__(self, url: str, args: argparse.Namespace, seed: int) -> None:
        self.url = url
        self.args = args
        self.rng = random.Random(seed)
        self.figures = Figures()
        #: Per room, every message sent into it (their texts are unique).
        self.sent: dict[str, list[str]] = collections.defaultdict(list)
        #: Per stayer (room, name), the messages it received.
        self.stayers: dict[tuple[str, str], list[str]] = {}
        self._count = 0

    def _text(self) -> str:
        self._count += 1
        return f"soak-{self._count}"

    async def _open(self, room: str, name: str) -> ClientConnection | None:
        try:
            ws = await connect(
                f"{self.url}?room={room}&name={name}",
                compression=None,
                ping_interval=None,
                open_timeout=60,
                close_timeout=5,
            )
        except Exception:
            self.figures.refused += 1
            return None
        self.figures.connections += 1
        return ws

    async def _send(self, client: Client) -> None:
        """Send a message and wait for it to come back: the sender is in the room it reaches.

        Only a message the gateway took (its broadcast reached its own sender) is owed to
        the stayers: one a leaving client never saw back may have been lost with it.
        """
        text = self._text()
        echoed = client.echo(text)  # before sending: the echo may be quick
        await client.ws.send(json.dumps({"action": "sendmessage", "message": text}))
        room = await asyncio.wait_for(echoed, 30)
        self.sent[room].append(text)
        self.figures.sent += 1

    async def stayer(self, room: str, name: str, ready: asyncio.Event, stop: asyncio.Event) -> None:
        ws = await self._open(room, name)
        if ws is None:
            raise RuntimeError(f"stayer {name} could not connect")
        client = Client(ws)
        self.stayers[(room, name)] = client.messages
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(self.rng.uniform(1, 4))
            if not stop.is_set():
                await self._send(client)
        await stop_reading_after_quiet(client.messages)
        await ws.close()
        client.reader.cancel()
        self.figures.ended["close"] += 1

    async def churner(self, index: int, stop: asyncio.Event) -> None:
        while not stop.is_set():
            room = self.rng.choice(ROOMS)
            ws = await self._open(room, f"churn{index}")
            if ws is None:
                await asyncio.sleep(0.5)
                continue
            client = Client(ws)
            try:
                for _ in range(self.rng.randint(1, 6)):
                    await asyncio.sleep(self.rng.uniform(0.05, 0.8))
                    if self.rng.random() < 0.25:
                        room = self.rng.choice(ROOMS)
                        await ws.send(json.dumps({"action": "joinroom", "room": room}))
                        await asyncio.wait_for(client.joined.get(), 30)
                        self.figures.switches += 1
                    else:
                        await self._send(client)
                how = self.rng.choice(["close", "vanish", "reset"])
                if how == "close":
                    await ws.close()
                elif how == "vanish":
                    ws.transport.close()  # FIN without a close frame
                else:
                    ws.transport.abort()  # RST
                self.figures.ended[how] += 1
            except Exception:
                self.figures.ended["error"] += 1
                ws.transport.abort()
            finally:
                client.reader.cancel()

    async def run(self) -> None:
        stop = asyncio.Event()
        readies = []
        stayers = []
        for room in ROOMS:
            for i in range(self.args.stayers):
                ready = asyncio.Event()
                readies.append(ready)
                stayers.append(asyncio.create_task(self.stayer(room, f"stay{i}", ready, stop)))
        await asyncio.gather(*(r.wait() for r in readies))
        churners = [asyncio.create_task(self.churner(i, stop)) for i in range(self.args.churners)]
        await asyncio.sleep(self.args.duration)
        stop.set()
        await asyncio.gather(*churners)
        await asyncio.gather(*stayers)

    def tally(self) -> None:
        figures = self.figures
        for (room, _), got in self.stayers.items():
            owed = self.sent[room]
            counts = collections.Counter(got)
            figures.owed += len(owed)
            figures.received += sum(1 for text in owed if counts[text])
            figures.lost += sum(1 for text in owed if not counts[text])
            figures.duplicated += sum(n - 1 for n in counts.values() if n > 1)


class Client:
    """A connection, and what its reader saw: chat messages, ``joined`` answers, echoes."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.messages: list[str] = []
        self.joined: asyncio.Queue[str] = asyncio.Queue()
        self._echoes: dict[str, asyncio.Future[str]] = {}
        self.reader = asyncio.create_task(self._read())

    def echo(self, text: str) -> asyncio.Future[str]:
        """Resolves to the room once ``text`` comes back to this client."""
        future = self._echoes[text] = asyncio.get_running_loop().create_future()
        return future

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                frame = json.loads(raw)
                if frame.get("type") == "message":
                    self.messages.append(frame["message"])
                    waiting = self._echoes.pop(frame["message"], None)
                    if waiting is not None and not waiting.done():
                        waiting.set_result(frame["room"])
                elif frame.get("type") == "joined":
                    self.joined.put_nowait(frame["room"])
        except Exception:
            return


async def stop_reading_after_quiet(got: list[str], quiet: float = 3.0) -> None:
    """Wait until nothing new has arrived for ``quiet`` seconds (the last broadcasts land)."""
    seen = -1
    while seen != len(got):
        seen = len(got)
        await asyncio.sleep(quiet)


def rows_left(endpoint: str, table: str) -> int:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    return int(client.scan(TableName=table, Select="COUNT")["Count"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=180, help="seconds of churn")
    parser.add_argument("--churners", type=int, default=60, help="clients coming and going")
    parser.add_argument("--stayers", type=int, default=3, help="clients per room, throughout")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    process, url, dynamodb, table = start_server()
    sampler = Sampler(process.pid)
    try:
        figures_start = sampler.rss()
        sampler.start()
        soak = Soak(url, args, args.seed)
        started = time.monotonic()
        asyncio.run(soak.run())
        elapsed = time.monotonic() - started
        soak.tally()
        figures = soak.figures
        # $disconnect is best effort on AWS; here it runs for every way of leaving.
        deadline = time.monotonic() + 60
        while (left := rows_left(dynamodb, table)) and time.monotonic() < deadline:
            time.sleep(1)
        figures.rows_left = left
        figures.rss_start_mb = figures_start / 2**20
        figures.rss_peak_mb = sampler.peak / 2**20
        figures.rss_end_mb = sampler.rss() / 2**20
        figures.environments_rss_end_mb = sampler.children_rss() / 2**20
    finally:
        sampler.stop()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    report(figures, elapsed, args)
    return 0 if not (figures.lost or figures.duplicated or figures.rows_left) else 1


def report(figures: Figures, elapsed: float, args: Any) -> None:
    ended = ", ".join(f"{how} {n}" for how, n in sorted(figures.ended.items()))
    lines = [
        f"soak: {elapsed:.0f} s, {args.churners} churners, {args.stayers * len(ROOMS)} stayers in {len(ROOMS)} rooms",
        f"connections:    {figures.connections} made ({figures.refused} refused); ended: {ended}",
        f"room switches:  {figures.switches}",
        f"messages sent:  {figures.sent}",
        f"to the stayers: {figures.owed} owed, {figures.received} received, "
        f"{figures.lost} lost, {figures.duplicated} duplicated",
        f"rows left:      {figures.rows_left} (every client has gone)",
        f"gateway RSS:    {figures.rss_start_mb:.0f} MB at start, {figures.rss_peak_mb:.0f} MB peak, "
        f"{figures.rss_end_mb:.0f} MB at the end (environments {figures.environments_rss_end_mb:.0f} MB)",
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
