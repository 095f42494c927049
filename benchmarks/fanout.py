"""Fan-out benchmark: the local gateway against a plain ``websockets`` broadcast ceiling.

For each N: start the server in its own process (``wsrelay serve --port 0``), open N clients
in one room *all at once*, then have client 0 send M chat messages one after another, each
only after all N clients received the previous one. Reports, per server and N:

- connect: each handshake's time (p50 / max) and the wall time until all N were accepted;
- fan-out latency: send → last of N receipts (p50 / p95 / max over M messages);
- deliveries per second: N × M / wall time of the measured phase;
- server CPU per delivery and peak RSS of the server's process tree (psutil, 50 ms samples).

The gateway runs twice: as ``wsrelay serve`` (the workbook's chat API) and as ``wsrelay serve
--template template.yaml`` (the same chat, read from the project's SAM template). Then one
big room (``--big-room``, 3,000): posted by one invocation, and split in pages handed to the
template's fan-out function (``wsrelay.fanout``).

The ceiling is a raw ``websockets`` server that broadcasts each frame to every client: no
DynamoDB, no boto3, no Lambda. Both servers face the same load script on the same 2 cores,
which the load generator (one asyncio loop here) shares; compare ratios, not absolutes.

Run: ``make bench`` or ``python benchmarks/fanout.py --sizes 100 500 1000 --messages 20``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from websockets.asyncio.client import ClientConnection, connect

#: The project's own stack as a SAM template: the same chat, served from its template.
TEMPLATE = str(Path(__file__).resolve().parent.parent / "template.yaml")
#: The template's abuse caps off: one sender's burst of messages, and a thousand clients
#: connecting at once, are what is measured here (notebook 09 shows the caps at work).
NO_CAPS = ["ReservedConcurrency=-1", "MessageRateLimit="]

CEILING_SERVER = r"""
import asyncio, sys, websockets
from websockets.asyncio.server import serve, broadcast
clients = set()
async def handler(ws):
    clients.add(ws)
    try:
        async for message in ws:
            broadcast(clients, message)
    finally:
        clients.discard(ws)
async def main():
    async with serve(handler, "127.0.0.1", 0, compression=None, max_queue=None) as server:
        port = server.sockets[0].getsockname()[1]
        print(f"WebSocket URL: ws://127.0.0.1:{port}/", flush=True)
        await asyncio.Future()
asyncio.run(main())
"""


@dataclass
class Result:
    server: str
    n: int
    connect_ms: list[float] = field(default_factory=list)
    connect_wall_s: float = 0.0
    refused: int = 0
    fanout_ms: list[float] = field(default_factory=list)
    deliveries_per_s: float = 0.0
    cpu_us_per_delivery: float = 0.0
    peak_rss_mb: float = 0.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class TreeSampler(threading.Thread):
    """Samples the RSS of a process and all its children; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak = 0
        self._stop_event = threading.Event()

    def processes(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.processes():
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except psutil.Error:
                continue
        return total

    def run(self) -> None:
        while not self._stop_event.is_set():
            rss = 0
            for process in self.processes():
                try:
                    rss += process.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, rss)
            self._stop_event.wait(0.05)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


def _discard(stream: Any) -> None:
    for _ in stream:
        pass


def start_server(kind: str, extra: list[str]) -> tuple[subprocess.Popen[str], str]:
    if kind == "ceiling":
        command = [sys.executable, "-c", CEILING_SERVER]
    else:
        command = [sys.executable, "-m", "wsrelay.cli", "serve", "--port", "0", "--quiet", *extra]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    deadline = time.time() + 60
    while time.time() < deadline:
        line = process.stdout.readline()
        match = re.search(r"WebSocket URL:\s+(\S+)", line)
        if match:
            # Keep reading what it prints (its functions' log lines): a pipe nobody reads
            # fills after 64 KB, and then every write, and the function making it, blocks.
            threading.Thread(target=_discard, args=(process.stdout,), daemon=True).start()
            return process, match.group(1)
        if not line and process.poll() is not None:
            break
    process.kill()
    raise RuntimeError(f"{kind} server did not start")


async def run_load(
    url: str, n: int, messages: int, warmup: int, sampler: TreeSampler, result: Result
) -> None:
    counts: dict[int, int] = {}
    done: dict[int, asyncio.Event] = {}
    last: dict[int, float] = {}
    chat = "ceiling" not in result.server

    def received(raw: str | bytes) -> None:
        try:
            data: Any = json.loads(raw)
            text = data["message"] if chat else data["seq"]
            seq = int(text) if not chat else int(str(text).removeprefix("seq-"))
        except (ValueError, KeyError, TypeError):
            return
        if seq not in counts:
            return
        counts[seq] += 1
        if counts[seq] == n:
            last[seq] = time.perf_counter()
            done[seq].set()

    async def reader(ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                received(raw)
        except Exception:
            return

    clients: list[ClientConnection | None] = [None] * n
    readers: list[asyncio.Task[None]] = []

    async def open_one(i: int) -> None:
        started = time.perf_counter()
        try:
            ws = await connect(
                f"{url}?room=bench&name=c{i}" if chat else url,
                compression=None,
                ping_interval=None,
                max_size=None,
                open_timeout=60,
            )
        except Exception:
            result.refused += 1
            return
        result.connect_ms.append((time.perf_counter() - started) * 1000)
        clients[i] = ws
        readers.append(asyncio.create_task(reader(ws)))

    wall = time.perf_counter()
    await asyncio.gather(*(open_one(i) for i in range(n)))  # all at once
    result.connect_wall_s = time.perf_counter() - wall
    sender = clients[0]
    if sender is None or result.refused:
        raise RuntimeError(f"{result.refused} of {n} connections refused")
    await asyncio.sleep(0.5)

    async def one(seq: int) -> float:
        counts[seq] = 0
        done[seq] = asyncio.Event()
        body = {"action": "sendmessage", "message": f"seq-{seq}"} if chat else {"seq": seq}
        started = time.perf_counter()
        await sender.send(json.dumps(body))
        await asyncio.wait_for(done[seq].wait(), 120)
        return (last[seq] - started) * 1000

    for seq in range(warmup):
        await one(-1 - seq)
    cpu_before = sampler.cpu_seconds()
    phase = time.perf_counter()
    for seq in range(messages):
        result.fanout_ms.append(await one(seq))
    elapsed = time.perf_counter() - phase
    cpu = sampler.cpu_seconds() - cpu_before
    result.deliveries_per_s = n * messages / elapsed
    result.cpu_us_per_delivery = cpu / (n * messages) * 1e6
    for ws in clients:
        if ws is not None:
            await ws.close()
    for task in readers:
        task.cancel()


def measure(kind: str, label: str, n: int, messages: int, warmup: int, extra: list[str]) -> Result:
    process, url = start_server(kind, extra)
    result = Result(server=label, n=n)
    sampler = TreeSampler(process.pid)
    sampler.start()
    try:
        asyncio.run(run_load(url, n, messages, warmup, sampler, result))
    finally:
        sampler.stop()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
    result.peak_rss_mb = sampler.peak / 2**20
    return result


def table(results: list[Result]) -> str:
    ceiling = {r.n: r for r in results if r.server.startswith("ceiling")}
    lines = [
        "| server | N | connect p50 / max ms | all N accepted (s) | fan-out p50 / p95 / max ms "
        "| × ceiling (p50) | deliveries/s | CPU µs/delivery | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        base = ceiling.get(r.n)
        ratio = (
            f"{statistics.median(r.fanout_ms) / statistics.median(base.fanout_ms):.1f}×"
            if base and base is not r and base.fanout_ms
            else "—"
        )
        lines.append(
            f"| {r.server} | {r.n} | {percentile(r.connect_ms, 50):.1f} / {max(r.connect_ms):.0f} "
            f"| {r.connect_wall_s:.2f} | {percentile(r.fanout_ms, 50):.1f} / {percentile(r.fanout_ms, 95):.1f} / "
            f"{max(r.fanout_ms):.1f} | {ratio} | {r.deliveries_per_s:,.0f} | {r.cpu_us_per_delivery:,.0f} "
            f"| {r.peak_rss_mb:.0f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--no-ceiling", action="store_true")
    parser.add_argument("--http", action="store_true", help="also measure with the fast path off")
    parser.add_argument(
        "--big-room",
        type=int,
        default=3000,
        help="also one room of this size, in one invocation and split in pages (0: skip)",
    )
    parser.add_argument(
        "--big-room-page", type=int, default=500, help="members per page of the split (500)"
    )
    parser.add_argument(
        "--no-template",
        action="store_true",
        help="skip the chat served from the root SAM template (wsrelay serve --template)",
    )
    args = parser.parse_args()
    results: list[Result] = []
    print(f"machine: {os.cpu_count()} cores; python {sys.version.split()[0]}", flush=True)
    for n in args.sizes:
        variants: list[tuple[str, str, list[str]]] = [("gateway", "wsrelay gateway", [])]
        if not args.no_template:
            variants.append(
                (
                    "gateway",
                    "wsrelay serve --template template.yaml",
                    ["--template", TEMPLATE, "--parameter-overrides", *NO_CAPS],
                )
            )
        if args.http:
            variants.append(("gateway", "wsrelay gateway (HTTP)", ["--no-fast-path"]))
        if not args.no_ceiling:
            variants.append(("ceiling", "ceiling (websockets)", []))
        for kind, label, extra in variants:
            result = measure(kind, label, n, args.messages, args.warmup, extra)
            results.append(result)
            print(
                f"{result.server} N={n}: fan-out p50 {percentile(result.fanout_ms, 50):.1f} ms, "
                f"{result.deliveries_per_s:,.0f} deliveries/s, all connected in {result.connect_wall_s:.2f} s",
                flush=True,
            )
    if args.big_room:
        # The handler posts a room of N in one invocation (``wsrelay serve``), or, served from
        # the SAM template, hands pages to its fan-out function (``wsrelay.fanout``).
        page = args.big_room_page
        split = [
            "--template",
            TEMPLATE,
            "--parameter-overrides",
            f"FanoutPageSize={page}",
            *NO_CAPS,
        ]
        for label, extra in [
            ("big room: one invocation", []),
            (f"big room: split in pages of {page}", split),
        ]:
            result = measure("gateway", label, args.big_room, 5, 1, extra)
            results.append(result)
            print(
                f"{label} N={args.big_room}: fan-out p50 {percentile(result.fanout_ms, 50):.1f} "
                f"ms, {result.deliveries_per_s:,.0f} deliveries/s",
                flush=True,
            )
    print()
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
