"""How many connections ``wsrelay serve`` holds when it starts with a low open-file limit.

Starts the gateway with a soft ``RLIMIT_NOFILE`` of ``--soft`` (1,024 by default: Linux's
usual; macOS starts at 256), which the gateway raises itself towards
``wsrelay.local.fdlimit.WANTED_OPEN_FILES`` (8,192), then opens ``--clients`` connections
from this process (whose own limit is raised to its hard limit) in waves of 500 and counts
how many the gateway accepted. Prints the gateway's limit as ``/proc`` shows it (Linux), the
count, and the gateway's "Too many open files" errors, if any. Notebook 08 quotes it.

Run: ``python benchmarks/open_files.py`` (about a minute), or ``--clients 10000 --soft 20000``
to see a raised limit hold them all.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import resource
import subprocess
import sys
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect

WAVE = 500


async def fill(url: str, clients: int) -> tuple[int, int]:
    accepted: list[ClientConnection] = []
    refused = 0
    for start in range(0, clients, WAVE):
        wave = await asyncio.gather(
            *(
                connect(f"{url}?room=x&name=c{i}", open_timeout=30, ping_interval=None)
                for i in range(start, min(clients, start + WAVE))
            ),
            return_exceptions=True,
        )
        for ws in wave:
            if isinstance(ws, BaseException):
                refused += 1
            else:
                accepted.append(ws)
    await asyncio.gather(*(ws.close() for ws in accepted), return_exceptions=True)
    return len(accepted), refused


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=9000)
    parser.add_argument("--soft", type=int, default=1024, help="the gateway's soft limit at start")
    args = parser.parse_args()
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this process: all it may have

    def start_low() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(args.soft, hard), hard))

    server = subprocess.Popen(
        [sys.executable, "-m", "wsrelay.cli", "serve", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=start_low,
    )
    assert server.stdout is not None
    url = None
    while url is None:
        line = server.stdout.readline()
        if not line:
            print("the gateway did not start", file=sys.stderr)
            return 1
        match = re.search(r"WebSocket URL:\s+(\S+)", line)
        url = match.group(1) if match else None
    limits = Path(f"/proc/{server.pid}/limits")
    if limits.exists():
        (line,) = [x for x in limits.read_text().splitlines() if x.startswith("Max open files")]
        print(f"gateway started with a soft limit of {args.soft}; now: {' '.join(line.split())}")
    accepted, refused = asyncio.run(fill(url, args.clients))
    server.terminate()
    _, err = server.communicate(timeout=60)
    emfile = sum(1 for line in err.splitlines() if "Too many open files" in line)
    print(f"{args.clients:,} clients: {accepted:,} accepted, {refused:,} refused")
    print(f"gateway log lines with 'Too many open files': {emfile:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
