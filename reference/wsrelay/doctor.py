"""``wsrelay doctor``: one pre-flight check for a workshop laptop, each line ✓ or ✗ with the fix.

::

    $ wsrelay doctor
    ✓ Python 3.11 or newer
    ✓ boto3 … ✓ matplotlib                      (the workbook's packages, at allowed versions)
    ✓ open files: soft limit 1024, raised to 8192 when the gateway starts (hard unlimited)
    ✓ port 8765 is free for `wsrelay serve`
    ✓ the local gateway serves the chat page at http://127.0.0.1:PORT/ and chats
    ✗ optional: Java 17 for DynamoDB Local (only the tests use it) is not installed
    ✗ optional: no AWS credentials, which only the real deploy in notebook 06 needs: …
    Ready for the workbook (2 optional items above).

A ✗ on a line that blocks the workbook (Python, the packages, open files, the gateway) makes
the exit status 1; optional lines (the port for ``wsrelay serve``, Java, Node, AWS
credentials) never do. ``--offline`` skips the one call that leaves the machine (STS
``GetCallerIdentity``, to name the AWS account the credentials belong to).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass

from wsrelay.exercises import environment

__all__ = ["Check", "aws_account", "gateway", "open_files", "register", "run", "tools"]

#: Open files the workbook needs at once: notebook 04's 200 clients and their 200 sockets in
#: one kernel, with the gateway's and moto's own (``wsrelay.local.fdlimit``).
NEEDED_OPEN_FILES = 1024


@dataclass(frozen=True)
class Check:
    """One line: fine or not, whether a ✗ blocks the workbook, and the text."""

    ok: bool
    text: str
    blocking: bool = True

    def __str__(self) -> str:
        return f"{'✓' if self.ok else '✗'} {self.text}"


def _from(findings: list[environment.Finding], *, blocking: bool = True) -> list[Check]:
    return [Check(f.ok, f.text, blocking) for f in findings]


def open_files(rlimit: object | None = None) -> list[Check]:
    """The soft open-file limit, or the hard limit the gateway may raise it to, is enough."""
    try:
        import resource
    except ImportError:  # Windows: sockets are handles, there is no such limit
        return [Check(True, "open files: no per-process limit on this platform")]
    module = rlimit or resource
    soft, hard = module.getrlimit(module.RLIMIT_NOFILE)  # type: ignore[attr-defined]
    infinity = module.RLIM_INFINITY  # type: ignore[attr-defined]
    shown = "unlimited" if hard == infinity else str(hard)
    if soft == infinity or soft >= NEEDED_OPEN_FILES:
        return [Check(True, f"open files: soft limit {soft} (hard {shown})")]
    if hard == infinity or hard >= NEEDED_OPEN_FILES:
        return [
            Check(
                True,
                f"open files: soft limit {soft}, raised when the gateway starts (hard {shown})",
            )
        ]
    return [
        Check(
            False,
            f"open files: the limit is {soft} (hard {shown}), and notebook 04 needs about "
            f"{NEEDED_OPEN_FILES} at once: run `ulimit -n 4096` in the terminal that starts "
            "JupyterLab (macOS: `sudo launchctl limit maxfiles 65536 200000` raises the hard "
            "limit), then start it again",
        )
    ]


def gateway() -> list[Check]:
    """Start the local gateway, fetch its chat page as a browser would, and chat once."""
    try:
        import websocket

        from wsrelay.local import LocalGateway
        from wsrelay.local.hosted import browser_url
    except ImportError as exc:
        return [Check(False, f"the local gateway cannot load ({exc}): {environment.INSTALL}")]
    try:
        with LocalGateway(port=0, table_name="wsrelay-doctor") as gw:
            with urllib.request.urlopen(gw.page_url, timeout=30) as page:
                served = page.status == 200 and b"<html" in page.read(4096).lower()
            ws = websocket.create_connection(f"{gw.url}?room=doctor&name=doctor", timeout=30)
            try:
                ws.send(json.dumps({"action": "sendmessage", "message": "ping"}))
                echoed = json.loads(ws.recv()).get("message") == "ping"
            finally:
                ws.close()
            page_url, port = gw.page_url, gw.port
    except Exception as exc:
        return [
            Check(
                False,
                f"the local gateway did not serve a chat ({type(exc).__name__}: {exc}): check "
                "that nothing blocks connections to 127.0.0.1 (a firewall, a VPN client), then "
                "run `wsrelay serve` to see its log",
            )
        ]
    if not (served and echoed):
        return [Check(False, "the local gateway started but did not chat: run `wsrelay serve`")]
    hosted = browser_url(port)
    where = f"; a hosted browser opens it at {hosted}" if hosted else ""
    return [Check(True, f"the local gateway serves the chat page at {page_url} and chats{where}")]


def tools() -> list[Check]:
    """Java (DynamoDB Local) and Node (wscat, the book): only the tests need them."""
    return [
        # Java prints its version on standard error, Node on standard output.
        _optional_tool(
            ["java", "-version"], "Java 17 for DynamoDB Local", "Java for DynamoDB Local ({})"
        ),
        _optional_tool(
            ["node", "--version"], "Node for wscat and the book", "Node {} for wscat and the book"
        ),
    ]


def _optional_tool(command: list[str], missing: str, found: str) -> Check:
    """A tool only the tests use: ✓ with its version (``found`` formats it), else ✗ not blocking."""
    path = shutil.which(command[0])
    if path is None:
        text = f"optional: {missing} (only the tests use it) is not installed"
        return Check(False, text, blocking=False)
    result = subprocess.run([path, *command[1:]], capture_output=True, text=True, timeout=30)
    first = (result.stderr or result.stdout).strip().splitlines()[:1]
    return Check(True, "optional: " + found.format(" ".join(first)))


def aws_account(*, offline: bool = False) -> list[Check]:
    """Credentials for the optional real deploy (notebook 06), and the account they are for."""
    import boto3

    session = boto3.Session()
    if session.get_credentials() is None:
        return [
            Check(
                False,
                "optional: no AWS credentials, which only the real deploy in notebook 06 needs: "
                "run `aws configure` (or set AWS_PROFILE, or `aws sso login`); on a shared "
                "workshop account use a stack name of your own (`wsrelay deploy --stack-name`)",
                blocking=False,
            )
        ]
    if offline:
        return [Check(True, "optional: AWS credentials found (account not checked: --offline)")]
    try:
        from botocore.config import Config

        sts = session.client(
            "sts",
            region_name=session.region_name or "us-east-1",
            config=Config(connect_timeout=5, read_timeout=5, retries={"total_max_attempts": 1}),
        )
        identity = sts.get_caller_identity()
    except Exception as exc:
        return [
            Check(
                False,
                f"optional: AWS credentials found, but STS refused them ({exc}): renew them "
                "(`aws sso login`) or check AWS_PROFILE",
                blocking=False,
            )
        ]
    return [
        Check(
            True,
            f"optional: AWS account {identity['Account']} as {identity['Arn']} (region "
            f"{session.region_name or 'not set: pass --region to wsrelay deploy'})",
        )
    ]


def checks(*, offline: bool = False, port: int = environment.DEFAULT_PORT) -> list[Check]:
    """Every check, in the order a learner fixes them."""
    return [
        *_from(environment.python_version()),
        *_from(environment.packages()),
        *open_files(),
        *_from(environment.port_free(port), blocking=False),
        *gateway(),
        *tools(),
        *aws_account(offline=offline),
    ]


def register(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--offline",
        action="store_true",
        help="do not ask AWS which account the credentials are for (no call leaves the machine)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=environment.DEFAULT_PORT,
        help=f"the port `wsrelay serve` will use (default: {environment.DEFAULT_PORT})",
    )


def run(args: argparse.Namespace) -> int:
    """Print each check; exit 1 when one that blocks the workbook failed."""
    found = checks(offline=args.offline, port=args.port)
    for check in found:
        print(check, flush=True)
    blocking = [c for c in found if not c.ok and c.blocking]
    optional = [c for c in found if not c.ok and not c.blocking]
    if blocking:
        print(f"{len(blocking)} problem(s) block the workbook: fix the ✗ lines above.")
        return 1
    extra = f" ({len(optional)} optional item(s) above)" if optional else ""
    print(f"Ready for the workbook{extra}.")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(
        run(argparse.Namespace(offline="--offline" in sys.argv, port=environment.DEFAULT_PORT))
    )
