"""``wsrelay token NAME``: sign a token for the ``$connect`` authorizer (``wsrelay.authorizer``).

::

    export TOKEN_SECRET=…                     # the secret the stack was deployed with
    wsrelay token ada --hours 2 --room lobby  # prints the token
    wsrelay chat "wss://…/dev?token=$(wsrelay token ada)" --room lobby

The secret is read from ``TOKEN_SECRET`` (a flag would leave it in the shell's history).
Whoever holds the secret can sign any name, so this is the workshop host's tool, not the
participants'.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from wsrelay.authorizer import SECRET_VARIABLE, sign_token

__all__ = ["register", "run"]


def register(name: str, parser: argparse.ArgumentParser) -> None:
    """Add ``token``'s arguments."""
    parser.add_argument("name", help="the user's name, as the chat will show it")
    parser.add_argument(
        "--hours",
        type=float,
        default=2.0,
        help="valid for this long (default: 2, a connection's most)",
    )
    parser.add_argument(
        "--room",
        action="append",
        dest="rooms",
        metavar="ROOM",
        help="a room the token grants (repeat for more; default: any room)",
    )


def run(args: argparse.Namespace) -> int:
    """Print the token; 2 without a secret."""
    secret = os.environ.get(SECRET_VARIABLE, "")
    if not secret:
        print(
            f"wsrelay token: set {SECRET_VARIABLE} to the secret the stack was deployed with "
            "(TokenSecret)",
            file=sys.stderr,
        )
        return 2
    expires_at = time.time() + args.hours * 3600
    print(sign_token(args.name, secret, expires_at=expires_at, rooms=args.rooms))
    return 0
