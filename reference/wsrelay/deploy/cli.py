"""``wsrelay deploy | destroy | status``: the deployer on the command line.

::

    wsrelay deploy  [--stack-name wsrelay] [--stage dev] [--region R] [--endpoint-url URL]
    wsrelay deploy  --template          print the CloudFormation template instead
    wsrelay deploy  --zip PATH          write the Lambda zip instead (for the template's S3 key)
    wsrelay destroy [same options]      remove every resource of the stack
    wsrelay status  [same options]      list which of them exist

Without ``--endpoint-url`` the commands use real AWS through the standard credential chain
(environment, ``AWS_PROFILE``, SSO, instance role…). With it, every call goes to that endpoint,
such as a moto server: how the tests prove the deployer. boto3 is imported only in ``run``,
so building the ``wsrelay`` parser stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from wsrelay.deploy.stack import StackNames

__all__ = ["register", "run"]


def register(name: str, parser: argparse.ArgumentParser) -> None:
    """Add the arguments of ``wsrelay deploy``, ``destroy`` or ``status`` to ``parser``."""
    parser.add_argument(
        "--stack-name", default="wsrelay", help="names and tags every resource (default: wsrelay)"
    )
    parser.add_argument("--stage", default="dev", help="the API stage (default: dev)")
    parser.add_argument(
        "--region", help="the AWS region (default: AWS_DEFAULT_REGION or the AWS config file)"
    )
    parser.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="send every AWS call to URL, such as a moto server (http://127.0.0.1:5000)",
    )
    if name == "deploy":
        instead = parser.add_mutually_exclusive_group()
        instead.add_argument(
            "--template",
            action="store_true",
            help="print the CloudFormation template of the stack instead of deploying",
        )
        instead.add_argument(
            "--zip",
            metavar="PATH",
            type=Path,
            help="write the Lambda zip to PATH instead of deploying (upload it for the template)",
        )


def run(args: argparse.Namespace) -> int:
    """Run the command; return 0 on success, 1 when a step failed, 2 for a bad argument."""
    from wsrelay.deploy import package
    from wsrelay.deploy.stack import StackNames, template_text

    if args.command == "deploy" and args.template:
        sys.stdout.write(template_text())
        return 0
    try:
        if args.command == "deploy" and args.zip is not None:
            code = package.build_zip()
            args.zip.write_bytes(code)
            print(f"wrote {args.zip} ({len(code)} bytes, CodeSha256 {package.code_sha256(code)})")
            return 0
        names = StackNames(args.stack_name, args.stage)
    except (ValueError, OSError, package.PackagingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return _run_aws(args.command, names, args.region, args.endpoint_url)


def _run_aws(command: str, names: StackNames, region: str | None, endpoint_url: str | None) -> int:
    from wsrelay.deploy.aws import Clients, DeployError
    from wsrelay.deploy.deployer import deploy, destroy, status

    try:
        clients = Clients.connect(region=region, endpoint_url=endpoint_url)
        if command == "deploy":
            deploy(clients, names)
        elif command == "destroy":
            destroy(clients, names)
        else:
            status(clients, names)
    except DeployError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0
