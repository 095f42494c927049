"""The ``wsrelay`` command.

::

    wsrelay serve   [--host 127.0.0.1] [--port 8765] [--stage dev]   the local API Gateway
    wsrelay chat    URL [--room R] [--name N]                         a terminal chat client
    wsrelay token   NAME [--hours H] [--room R]                       a token for $connect
    wsrelay deploy  [--stack-name N] [--region R] [--endpoint-url U]  deploy to AWS (or moto)
    wsrelay destroy [--stack-name N] [--region R] [--endpoint-url U]  remove what deploy made
    wsrelay status  [--stack-name N] [--region R] [--endpoint-url U]  list what exists
    wsrelay doctor  [--offline]                                       is this machine ready?
    wsrelay workbook solve NOTEBOOK -o OUT | --all DIR                 answer copies

Each command lives in its own module, which adds its sub-parser through ``register`` and is
imported only when the command runs, so ``wsrelay deploy`` never imports the gateway.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

__all__ = ["main"]

#: command name → (module that implements it, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": (
        "wsrelay.local.cli",
        "run the local API Gateway (WebSocket + @connections + chat page)",
    ),
    "chat": ("wsrelay.chat", "chat from the terminal through a WebSocket API"),
    "token": ("wsrelay.token_cli", "sign a token for the $connect authorizer (TOKEN_SECRET)"),
    "deploy": ("wsrelay.deploy.cli", "deploy the stack to AWS (or to a moto server)"),
    "destroy": ("wsrelay.deploy.cli", "remove every resource the stack created"),
    "status": ("wsrelay.deploy.cli", "list the stack's resources that exist"),
    "doctor": ("wsrelay.doctor", "check this machine is ready for the workbook (✓ / ✗ with fixes)"),
    "workbook": ("wsrelay.workbook_cli", "the workbook's tools: solve (answer copies)"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Return the top-level parser.

    Only ``command``'s module is imported to add its arguments (``None``: every command's),
    so ``wsrelay deploy`` never imports the gateway and a broken optional extra cannot stop
    the other commands.
    """
    parser = argparse.ArgumentParser(
        prog="wsrelay", description="Serverless WebSocket chat on AWS: run it locally, deploy it."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(_module=module_name)
        if command is None or command == name:
            importlib.import_module(module_name).register(name, sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    chosen = next((a for a in args_list if not a.startswith("-")), None)
    parser = build_parser(chosen if chosen in COMMANDS else None)
    args = parser.parse_args(args_list)
    module = importlib.import_module(args._module)
    status: int = module.run(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
