"""The AWS edge of the deployer: clients, step errors, progress lines, finding resources.

Every AWS call of a deploy, destroy or status runs inside ``step(...)``, which turns a botocore
error into a ``DeployError`` that names the step, quotes what AWS said and says what to do.

Finding comes before creating, always: AWS rejects some duplicates (a second table of one
name) but API Gateway accepts any number of APIs of one name, and moto also accepts duplicate
routes, stages and permission statements. So each ``find_*`` function looks a resource up by
its name (or, for APIs, by its tags) and reports whether it carries this stack's tags.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

from wsrelay.deploy.stack import TAG_STACK, TAG_STAGE, StackNames
from wsrelay.exceptions import WsrelayError

if TYPE_CHECKING:
    from mypy_boto3_apigatewayv2 import ApiGatewayV2Client
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_iam import IAMClient
    from mypy_boto3_lambda import LambdaClient

__all__ = [
    "Clients",
    "DeployError",
    "Found",
    "Progress",
    "find_apis",
    "find_function",
    "find_log_group",
    "find_role",
    "find_table",
    "function_policy",
    "not_ours",
    "step",
]


class DeployError(WsrelayError):
    """A deploy, destroy or status step failed; the message says which, why and what to do.

    Attributes:
        step: what was being done, such as ``create role wsrelay-dev-handler-role``.
        code: AWS's error code (``AccessDenied``…), or wsrelay's own (``NameTaken``).
        reason: what AWS (or wsrelay) said.
        advice: what to do about it.
    """

    def __init__(self, step: str, reason: str, advice: str, *, code: str = "") -> None:
        self.step = step
        self.code = code
        self.reason = reason
        self.advice = advice
        said = f"{code}: {reason}" if code else reason
        super().__init__(f"✗ {step} failed\n  AWS said: {said}\n  what to do: {advice}")


_CREDENTIAL_CODES = {
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "UnrecognizedClientException",
}


def _advice(code: str, command: str) -> str:
    again = f"then run `wsrelay {command}` again"
    if "AccessDenied" in code or "NotAuthorized" in code or code == "UnauthorizedOperation":
        return (
            f"the credentials in use lack the permission named above: grant it to your IAM "
            f"user or role (or use a profile that has it), {again}"
            + ("; `wsrelay destroy` removes what this run created" if command == "deploy" else "")
        )
    if code in _CREDENTIAL_CODES:
        return f"your AWS credentials are invalid or expired: refresh them (aws sso login, aws configure), {again}"
    if "Throttl" in code or "LimitExceeded" in code or "TooManyRequests" in code:
        return f"AWS is limiting requests or a quota is reached: wait a minute (or raise the quota), {again}"
    if command == "deploy":
        return (
            f"fix the cause AWS names, {again}: it keeps what exists and creates the rest "
            f"(or run `wsrelay destroy` to remove what was created)"
        )
    return f"fix the cause AWS names, {again}"


@contextmanager
def step(description: str, command: str = "deploy") -> Iterator[None]:
    """Run AWS calls as one named step; turn botocore errors into a ``DeployError``.

    Args:
        description: the step, as shown to the user (``create table wsrelay-dev-connections``).
        command: the ``wsrelay`` command running, for the advice (``deploy``, ``destroy``…).
    """
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        reason = str(error.get("Message", exc))
        raise DeployError(description, reason, _advice(code, command), code=code) from exc
    except NoCredentialsError as exc:
        raise DeployError(
            description,
            str(exc),
            "configure AWS credentials (aws configure, AWS_PROFILE or environment variables); "
            "to try it without AWS, point --endpoint-url at a moto server",
            code="NoCredentials",
        ) from exc
    except NoRegionError as exc:
        raise DeployError(
            description, str(exc), "pass --region or set AWS_DEFAULT_REGION", code="NoRegion"
        ) from exc
    except BotoCoreError as exc:
        raise DeployError(description, str(exc), _advice("", command)) from exc


def not_ours(kind: str, name: str, names: StackNames) -> DeployError:
    """The error for a name that is taken by a resource this stack did not create."""
    return DeployError(
        f"check {kind} {name}",
        f"a {kind} named {name} exists but is not tagged {TAG_STACK}={names.stack}, "
        f"{TAG_STAGE}={names.stage}, so this stack did not create it",
        f"wsrelay never changes or deletes what it did not create: choose another "
        f"--stack-name or --stage, or delete that {kind} yourself if nothing uses it",
        code="NameTaken",
    )


@dataclass(frozen=True)
class Progress:
    """Prints a deploy's progress, one line per resource: ``✓`` created, ``=`` exists, ``~`` updated."""

    report: Callable[[str], None] = print

    def created(self, kind: str, name: str, note: str = "") -> None:
        """A resource was created."""
        self.report(f"✓ created {kind} {name}" + (f" ({note})" if note else ""))

    def exists(self, kind: str, name: str, note: str = "") -> None:
        """A resource already existed as it should be."""
        self.report(f"= {kind} {name} exists" + (f" ({note})" if note else ""))

    def updated(self, kind: str, name: str, note: str) -> None:
        """A resource existed and was brought up to date; ``note`` says what changed."""
        self.report(f"~ updated {kind} {name} ({note})")


@dataclass
class Clients:
    """The boto3 clients a deploy uses, all for one region and one endpoint.

    Build them with ``Clients.connect`` (the standard credential chain) or pass your own,
    for example clients of a moto server.
    """

    region: str
    dynamodb: DynamoDBClient
    iam: IAMClient
    lambda_: LambdaClient
    apigatewayv2: ApiGatewayV2Client
    logs: Any  # boto3-stubs for logs and sts are not installed
    sts: Any

    @classmethod
    def connect(cls, *, region: str | None = None, endpoint_url: str | None = None) -> Clients:
        """Create the clients from the standard credential chain.

        Args:
            region: the region; default from the environment or the AWS config file.
            endpoint_url: one endpoint for every service, such as a moto server's URL.

        Raises:
            DeployError: no region was given and none is configured.
        """
        import boto3
        from botocore.config import Config

        session = boto3.session.Session(region_name=region)
        if not session.region_name:
            raise DeployError(
                "choose a region",
                "no region was given and none is configured",
                "pass --region (for example --region us-east-1) or set AWS_DEFAULT_REGION",
                code="NoRegion",
            )
        # Standard retries back off on throttling, which a burst of control-plane calls meets.
        config = Config(retries={"mode": "standard", "max_attempts": 5})
        options: dict[str, Any] = {"endpoint_url": endpoint_url, "config": config}
        return cls(
            region=session.region_name,
            dynamodb=session.client("dynamodb", **options),
            iam=session.client("iam", **options),
            lambda_=session.client("lambda", **options),
            apigatewayv2=session.client("apigatewayv2", **options),
            logs=session.client("logs", **options),
            sts=session.client("sts", **options),
        )


@dataclass(frozen=True)
class Found:
    """A resource that exists under the stack's name: its id and whether the stack owns it."""

    kind: str
    name: str
    ident: str
    owned: bool
    details: dict[str, Any] = field(default_factory=dict)


def find_table(clients: Clients, names: StackNames) -> Found | None:
    """The connections table, or ``None``."""
    try:
        table = clients.dynamodb.describe_table(TableName=names.table)["Table"]
    except clients.dynamodb.exceptions.ResourceNotFoundException:
        return None
    arn = table["TableArn"]
    tags: dict[str, str] = {}
    kwargs: dict[str, Any] = {"ResourceArn": arn}
    while True:
        page = clients.dynamodb.list_tags_of_resource(**kwargs)
        tags.update({t["Key"]: t["Value"] for t in page.get("Tags", [])})
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return Found("table", names.table, arn, names.owns(tags), dict(table))


def find_log_group(
    clients: Clients, names: StackNames, group_name: str | None = None
) -> Found | None:
    """A function's log group (the handler's by default), or ``None``."""
    wanted = group_name or names.log_group
    groups = clients.logs.describe_log_groups(logGroupNamePrefix=wanted)["logGroups"]
    group = next((g for g in groups if g["logGroupName"] == wanted), None)
    if group is None:
        return None
    arn = group.get("logGroupArn") or group["arn"].removesuffix(":*")
    tags = clients.logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
    return Found("log group", wanted, arn, names.owns(tags), dict(group))


def find_role(clients: Clients, names: StackNames) -> Found | None:
    """The execution role, or ``None``."""
    try:
        role = clients.iam.get_role(RoleName=names.role)["Role"]
    except clients.iam.exceptions.NoSuchEntityException:
        return None
    tags = clients.iam.list_role_tags(RoleName=names.role).get("Tags", [])
    owned = names.owns({t["Key"]: t["Value"] for t in tags})
    return Found("role", names.role, role["Arn"], owned, dict(role))


def find_function(
    clients: Clients, names: StackNames, function_name: str | None = None
) -> Found | None:
    """A function of the stack (the handler by default), or ``None``."""
    wanted = function_name or names.function
    try:
        function = clients.lambda_.get_function(FunctionName=wanted)
    except clients.lambda_.exceptions.ResourceNotFoundException:
        return None
    config = function["Configuration"]
    owned = names.owns(dict(function.get("Tags", {})))
    details: dict[str, Any] = dict(config)
    # GetFunction gives the reserved concurrency beside the configuration, when there is one.
    reserved = function.get("Concurrency", {}).get("ReservedConcurrentExecutions")
    if reserved is not None:
        details["ReservedConcurrentExecutions"] = reserved
    return Found("function", wanted, config["FunctionArn"], owned, details)


def find_apis(clients: Clients, names: StackNames) -> list[Found]:
    """The WebSocket APIs tagged with this stack (normally none or one), oldest first."""
    found: list[Found] = []
    kwargs: dict[str, Any] = {}
    while True:
        page = clients.apigatewayv2.get_apis(**kwargs)
        for api in page.get("Items", []):
            if names.owns(dict(api.get("Tags", {}))):
                found.append(Found("API", api["Name"], api["ApiId"], True, dict(api)))
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    return sorted(found, key=lambda f: str(f.details.get("CreatedDate", "")))


def function_policy(clients: Clients, function: str) -> list[dict[str, Any]]:
    """The statements of a function's resource policy (empty when it has none)."""
    try:
        policy = clients.lambda_.get_policy(FunctionName=function)["Policy"]
    except clients.lambda_.exceptions.ResourceNotFoundException:
        return []
    statements: list[dict[str, Any]] = json.loads(policy).get("Statement", [])
    return statements
