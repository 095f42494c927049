"""``wsrelay serve``: run the local API Gateway until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from wsrelay.local.hosted import serve_line
from wsrelay.local.hosts import is_loopback

__all__ = ["exposure_warning", "register", "run"]


def exposure_warning(host: str, port: int) -> str | None:
    """The warning to print when ``host`` is reachable from other machines, else ``None``.

    Loopback addresses (127.0.0.0/8, ``::1``, ``localhost``) reach this machine only.
    """
    if is_loopback(host):
        return None
    return (
        f"WARNING: binding {host}: anyone who can reach this machine on port {port} "
        "can connect, chat and call the @connections API (no authentication). "
        "Use it on a workshop network you trust, and stop it afterwards."
    )


def register(name: str, parser: argparse.ArgumentParser) -> None:
    """Add ``serve``'s arguments."""
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine only)",
    )
    parser.add_argument(
        "--port", type=int, default=8765, help="port (default: 8765; 0 picks a free one)"
    )
    parser.add_argument("--stage", default="dev", help="stage name, the URL's path (default: dev)")
    parser.add_argument(
        "--table", default=None, help="connections table name (default: wsrelay-connections)"
    )
    parser.add_argument(
        "--dynamodb-endpoint",
        default=None,
        help="use this DynamoDB endpoint (DynamoDB Local, AWS) instead of the embedded moto server",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log a line per invocation")
    parser.add_argument(
        "--no-fast-path",
        action="store_true",
        help="send handlers' @connections calls over HTTP instead of the worker channel",
    )


def run(args: argparse.Namespace) -> int:
    """Start the gateway, print its URLs, serve until interrupted."""
    from wsrelay.local.gateway import DEFAULT_TABLE, LocalGateway

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(message)s"
    )
    warning = exposure_warning(args.host, args.port)
    if warning:
        print(warning)
    gateway = LocalGateway(
        host=args.host,
        port=args.port,
        stage=args.stage,
        table_name=args.table or DEFAULT_TABLE,
        dynamodb_endpoint=args.dynamodb_endpoint,
        fast_path=not args.no_fast_path,
    )
    try:
        gateway.start()
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; try --port 0 or another port"
        )
        return 1
    shown = "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host
    base = f"{shown}:{gateway.port}"
    print(f"WebSocket URL:    ws://{base}/{args.stage}")
    print(f"@connections URL: http://{base}/{args.stage}")
    print(f"Chat page:        http://{base}/")
    if hosted := serve_line(gateway.port):  # Binder, JupyterHub, Codespaces
        print(hosted)
    print(f"DynamoDB:         {gateway.dynamodb_endpoint} (table {gateway.table_name})")
    print("Press Ctrl-C to stop.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        # In slices: on Windows a wait without a timeout does not wake for Ctrl-C.
        while not stop.wait(timeout=0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        gateway.stop()
    print("stopped")
    return 0
