"""Big-room benchmark: fan-out time and posts per second against room size, one invocation vs split.

For each of two servers — ``wsrelay serve`` (the handler posts the whole room itself, one
invocation) and ``wsrelay serve --template template.yaml`` (the SAM template's handler and
fan-out function: the handler posts the first page and hands each further page to an
asynchronous invocation of the fan-out function, ``wsrelay.fanout``) — one room is filled
in steps (1,000, 2,000, … members by default) and, at each step, a member sends M chat
messages one after another, each only after every member received the previous one.
Per step it records the fan-out time (send → last of N receipts: p50 / min / max over M)
and posts per second (N / fan-out time), and the server's CPU per delivery.

The clients are one asyncio loop in this process, on the same cores as the server: the
numbers are this machine's, for the notebook's model to scale from, not AWS's.

Open files: the server holds one socket per member and this process one more, so a room of
10,000 needs over 10,000 open files in each. The gateway raises its own soft limit to
``wsrelay.local.fdlimit.WANTED_OPEN_FILES`` (8,192: about 8,000 connections, see
``benchmarks/open_files.py``); this script
raises its soft limit (inherited by the server it starts) to what the largest room needs,
up to the hard limit, and stops at the largest room the limit allows, saying so.

Writes ``notebooks/data/bigroom.json`` (machine, date, command, results), which
``notebooks/08_scale-to-100000.ipynb`` reads and plots. Run (about 10 minutes on 2 cores)::

    python benchmarks/bigroom_sizes.py
    python benchmarks/bigroom_sizes.py --sizes 1000 2000 --messages 2 --out /tmp/quick.json
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fanout import NO_CAPS, TEMPLATE, TreeSampler, start_server

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "notebooks" / "data" / "bigroom.json"
#: Open files besides the sockets: the embedded moto, the function environments, Python.
SPARE_FILES = 512
WAVE = 500  # clients connecting at once, as a room fills


def raise_open_files(needed: int) -> tuple[int, int]:
    """Raise this process's soft RLIMIT_NOFILE towards ``needed`` (children inherit it)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft, hard


class Room:
    """N clients of one room, and the counting of one message's receipts."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.clients: list[ClientConnection] = []
        self.readers: list[asyncio.Task[None]] = []
        self.expected = 0
        self.count = 0
        self.marker = ""
        self.done = asyncio.Event()
        self.last = 0.0

    async def grow(self, n: int) -> None:
        async def one(i: int) -> ClientConnection:
            return await connect(
                f"{self.url}?room=big&name=c{i}",
                compression=None,
                ping_interval=None,
                max_size=None,
                open_timeout=120,
            )

        while len(self.clients) < n:
            start = len(self.clients)
            wave = await asyncio.gather(*(one(i) for i in range(start, min(n, start + WAVE))))
            for ws in wave:
                self.clients.append(ws)
                self.readers.append(asyncio.create_task(self.read(ws)))

    async def read(self, ws: ClientConnection) -> None:
        try:
            async for raw in ws:
                if self.marker and self.marker in raw:  # '"m1000-1"': no JSON decode per frame
                    self.count += 1
                    if self.count == self.expected:
                        self.last = time.perf_counter()
                        self.done.set()
        except Exception:
            return

    async def one_message(self, marker: str) -> float:
        """Seconds from the send to the last member's receipt."""
        self.marker, self.count, self.expected = f'"{marker}"', 0, len(self.clients)
        self.done = asyncio.Event()
        started = time.perf_counter()
        await self.clients[0].send(json.dumps({"action": "sendmessage", "message": marker}))
        await asyncio.wait_for(self.done.wait(), 300)
        return self.last - started

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in self.clients), return_exceptions=True)


async def measure_sizes(
    url: str, sizes: list[int], messages: int, sampler: TreeSampler, label: str
) -> list[dict[str, Any]]:
    room = Room(url)
    rows = []
    try:
        for n in sizes:
            began = time.perf_counter()
            await room.grow(n)
            filled = time.perf_counter() - began
            await asyncio.sleep(1.0)
            await room.one_message(f"warm-{n}")  # warms the environments this size needs
            cpu_before = sampler.cpu_seconds()
            times = [await room.one_message(f"m{n}-{k}") for k in range(messages)]
            cpu = sampler.cpu_seconds() - cpu_before
            p50 = statistics.median(times)
            row = {
                "members": n,
                "fanout_s": [round(t, 4) for t in times],
                "fanout_p50_s": round(p50, 4),
                "posts_per_s": round(n / p50, 1),
                "server_cpu_ms_per_post": round(cpu / (n * messages) * 1000, 4),
                "grow_s": round(filled, 2),
            }
            rows.append(row)
            print(
                f"{label} N={n}: fan-out p50 {p50:.2f} s ({min(times):.2f}-{max(times):.2f}), "
                f"{n / p50:,.0f} posts/s, {row['server_cpu_ms_per_post']:.3f} ms CPU/post; "
                f"room grown in {filled:.1f} s",
                flush=True,
            )
    finally:
        await room.close()
    return rows


def run_variant(
    label: str, extra: list[str], sizes: list[int], messages: int
) -> tuple[list[dict[str, Any]], float]:
    process, url = start_server("gateway", extra)
    sampler = TreeSampler(process.pid)
    sampler.start()
    try:
        rows = asyncio.run(measure_sizes(url, sizes, messages, sampler, label))
    finally:
        sampler.stop()
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return rows, sampler.peak / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[1000, 2000, 4000, 6000, 8000, 10000]
    )
    parser.add_argument("--messages", type=int, default=3, help="measured messages per size")
    parser.add_argument("--page", type=int, default=1000, help="members per page of the split")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sizes = sorted(args.sizes)
    soft, hard = raise_open_files(max(sizes) + SPARE_FILES)
    possible = [n for n in sizes if n + SPARE_FILES <= soft]
    skipped = [n for n in sizes if n not in possible]
    note = ""
    if skipped:
        note = (
            f"open-file limit {soft} (hard {hard}): rooms of {skipped} not measured; "
            f"raise the hard limit (ulimit -Hn) to measure them"
        )
        print(note, flush=True)
    variants = [
        ("one invocation", "wsrelay serve", []),
        (
            f"split in pages of {args.page}",
            "wsrelay serve --template template.yaml --parameter-overrides "
            f"FanoutPageSize={args.page} {' '.join(NO_CAPS)}",
            [
                "--template",
                TEMPLATE,
                "--parameter-overrides",
                f"FanoutPageSize={args.page}",
                *NO_CAPS,
            ],
        ),
    ]
    results = []
    for label, server, extra in variants:
        rows, peak = run_variant(label, extra, possible, args.messages)
        results.append(
            {"variant": label, "server": server, "peak_rss_mb": round(peak), "rows": rows}
        )
    try:
        model = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        cpu = next(
            (line.split(":", 1)[1].strip() for line in model.splitlines() if "Model name" in line),
            platform.processor(),
        )
    except OSError:
        cpu = platform.processor()
    data = {
        "command": "python benchmarks/bigroom_sizes.py " + shlex.join(sys.argv[1:]),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {
            "cores": os.cpu_count(),
            "cpu": cpu,
            "python": sys.version.split()[0],
            "platform": platform.platform(terse=True),
            "open_files_soft": soft,
            "open_files_hard": hard,
        },
        "messages_per_size": args.messages,
        "page_size": args.page,
        "note": note,
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
