"""``wsrelay serve``: run the local API Gateway until Ctrl-C.

::

    wsrelay serve                                   the workbook's chat API
    wsrelay serve --template template.yaml          any app, as its SAM/CloudFormation template says
    wsrelay serve --api-id ID --endpoint-url URL    an API already in API Gateway v2, with its deployed code
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from typing import Any

from wsrelay.local.hosted import serve_line
from wsrelay.local.hosts import DEFAULT_PORT, is_loopback

__all__ = ["exposure_warning", "key_values", "register", "run", "startup_lines"]


def exposure_warning(host: str, port: int) -> str | None:
    """The warning to print when ``host`` is reachable from other machines, else ``None``.

    Loopback addresses (127.0.0.0/8, ``::1``, ``localhost``) reach this machine only.
    """
    if is_loopback(host):
        return None
    return (
        f"WARNING: binding {host}: anyone who can reach this machine on port {port} "
        "can connect and chat (no authentication, unless the API has an authorizer); "
        "the @connections API answers only requests signed with the credentials printed "
        "below. Use it on a workshop network you trust, and stop it afterwards."
    )


def key_values(items: list[str] | None, option: str) -> dict[str, str]:
    """``["Key=Value", …]`` → a dict.

    Raises:
        SystemExit: an item has no ``=`` (the message names the option and the item).
    """
    result: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: {option} takes KEY=VALUE, got {item!r}")
        result[key] = value
    return result


def register(name: str, parser: argparse.ArgumentParser) -> None:
    """Add ``serve``'s arguments."""
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to bind (default: 127.0.0.1, this machine only)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)",
    )
    parser.add_argument(
        "--stage", default=None, help="stage name, the URL's path (default: dev, or the template's)"
    )
    parser.add_argument("--region", default="us-east-1", help="region (default: us-east-1)")
    parser.add_argument(
        "--table", default=None, help="connections table name (default: wsrelay-connections)"
    )
    parser.add_argument(
        "--dynamodb-endpoint",
        default=None,
        help="use this DynamoDB endpoint (DynamoDB Local, AWS) instead of the embedded moto server",
    )
    app = parser.add_argument_group("serve your own app")
    app.add_argument("--template", default=None, help="a SAM or CloudFormation template to serve")
    app.add_argument(
        "--parameter-overrides",
        nargs="+",
        metavar="KEY=VALUE",
        help="values for the template's Parameters",
    )
    app.add_argument(
        "--code",
        nargs="+",
        metavar="LOGICAL_ID=PATH",
        help="a folder or .zip for a function whose code the template keeps in S3",
    )
    app.add_argument("--stack-name", default="local", help="AWS::StackName (default: local)")
    app.add_argument("--api", default=None, help="the WebSocket API's logical id, if several")
    app.add_argument("--api-id", default=None, help="serve this API from API Gateway v2 ...")
    app.add_argument("--endpoint-url", default=None, help="... at this endpoint (a moto server)")
    parser.add_argument(
        "--max-environments",
        type=int,
        default=None,
        help="execution environments per function at most (default: one per core, at least 2)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log a line per invocation")
    parser.add_argument(
        "--no-fast-path",
        action="store_true",
        help="send functions' @connections calls over HTTP instead of their channel",
    )


def _gateway(args: argparse.Namespace) -> Any:
    from wsrelay.local.gateway import DEFAULT_TABLE, LocalGateway

    options: dict[str, Any] = {
        "host": args.host,
        "port": args.port,
        "region": args.region,
        "dynamodb_endpoint": args.dynamodb_endpoint,
        "fast_path": not args.no_fast_path,
    }
    if args.max_environments is not None:
        options["max_environments"] = args.max_environments
    code = key_values(args.code, "--code")
    if args.template:
        return LocalGateway.from_template(
            args.template,
            key_values(args.parameter_overrides, "--parameter-overrides"),
            stack_name=args.stack_name,
            code=code,
            api_logical_id=args.api,
            stage=args.stage,
            **options,
        )
    if args.api_id or args.endpoint_url:
        if not (args.api_id and args.endpoint_url):
            raise SystemExit("error: --api-id and --endpoint-url go together")
        return LocalGateway.from_deployed(
            args.api_id, args.endpoint_url, code=code, stage=args.stage, **options
        )
    return LocalGateway(
        stage=args.stage or "dev", table_name=args.table or DEFAULT_TABLE, **options
    )


def startup_lines(gateway: Any, host: str) -> list[str]:
    """What ``serve`` prints once the gateway listens: URLs, backends, outputs, what is not run."""
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base = f"{shown}:{gateway.port}"
    lines = [
        f"WebSocket URL:    ws://{base}/{gateway.stage}",
        f"@connections URL: http://{base}/{gateway.stage}",
        f"Chat page:        http://{base}/",
    ]
    if hosted := serve_line(gateway.port):  # Binder, JupyterHub, Codespaces
        lines.append(hosted)
    app = gateway.app
    tables = [t.name for t in app.tables] if app is not None else [gateway.table_name]
    label = "table" if len(tables) == 1 else "tables"
    lines.append(f"DynamoDB:         {gateway.dynamodb_endpoint} ({label} {', '.join(tables)})")
    if gateway.endpoint_url:
        lines.append(f"Endpoint URL:     {gateway.endpoint_url} (moto, every other AWS service)")
    if gateway.requires_signatures:
        credentials = gateway.credentials
        key = f"AWS_ACCESS_KEY_ID={credentials.get('AWS_ACCESS_KEY_ID', '')}"
        if gateway.credentials_made_for_run:  # never print someone's real secret
            key += f" AWS_SECRET_ACCESS_KEY={credentials.get('AWS_SECRET_ACCESS_KEY', '')}"
        lines.append(
            "@connections:     SigV4-signed requests only (service execute-api, region "
            f"{gateway.region}): {key}"
        )
    if app is not None:
        for name, value in gateway.outputs.items():
            lines.append(f"Output {name}: {value}")
        if app.not_emulated:
            listed = ", ".join(f"{r.logical_id} ({r.type})" for r in app.not_emulated)
            lines.append(f"Not emulated:     {listed}")
        lines.extend(f"Warning: {w}" for w in app.warnings)
    return lines


def run(args: argparse.Namespace) -> int:
    """Start the gateway, print its URLs, serve until interrupted."""
    from wsrelay.local.templates.model import TemplateError

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(asctime)s %(message)s"
    )
    warning = exposure_warning(args.host, args.port)
    if warning:
        print(warning)
    try:
        gateway = _gateway(args)
    except (TemplateError, OSError, ValueError) as exc:
        print(f"error: {exc}")
        return 2
    try:
        gateway.start()
    except OSError as exc:
        print(
            f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; try --port 0 or another port"
        )
        return 1
    except KeyboardInterrupt:
        # Ctrl-C while starting: start() has already stopped what it had started.
        print("stopped")
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        # Ctrl-C may come as soon as the URLs appear (even mid-print): stop cleanly from here.
        for line in startup_lines(gateway, args.host):
            print(line)
        print("Press Ctrl-C to stop.", flush=True)
        # In slices: on Windows a wait without a timeout does not wake for Ctrl-C.
        while not stop.wait(timeout=0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        gateway.stop()
    print("stopped")
    return 0
