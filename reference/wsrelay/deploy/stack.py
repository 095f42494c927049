"""What the stack is made of, as plain data: names, tags, schema, routes, policies, ARNs.

Both the boto3 deployer (``wsrelay.deploy.deployer``) and the CloudFormation template
(``template.yaml``) describe this one stack; the constants below are the deployer's source of
truth, and ``tests/test_deploy_template.py`` keeps the template equal to them. Nothing here
talks to AWS, so tests and notebooks can call every function directly.

A stack is named by ``--stack-name`` and ``--stage`` together (``wsrelay`` + ``dev``), like a
Serverless Framework service and stage: every resource name starts with ``wsrelay-dev-`` and
every taggable resource carries both tags in ``StackNames.tags``. A resource with the right
name but without those tags was not made by this stack, and wsrelay never changes or deletes it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from wsrelay import aws_facts, handlers

# The table's definition is the store's own; re-exported here with the rest of the stack.
from wsrelay.store import ROOM_INDEX, TABLE_SCHEMA, TTL_ATTRIBUTE

__all__ = [
    "FANOUT_EVENT_INVOKE",
    "FANOUT_PAGE_SIZE",
    "FANOUT_SETTINGS",
    "FUNCTION_SETTINGS",
    "INVOKE_PRINCIPAL",
    "LOGGING_CONFIG",
    "LOG_RETENTION_DAYS",
    "MESSAGE_LIMITS",
    "POLICY_ACTIONS",
    "RESERVED_CONCURRENCY",
    "ROUTES",
    "ROUTE_SELECTION_EXPRESSION",
    "STAGE_THROTTLING",
    "TABLE_SCHEMA",
    "TAG_STACK",
    "TAG_STAGE",
    "TTL_ATTRIBUTE",
    "Location",
    "StackNames",
    "template_text",
    "trust_policy",
]

TAG_STACK = "wsrelay:stack"
TAG_STAGE = "wsrelay:stage"

#: The route keys, taken from the handler's own dispatch table so a new route cannot be
#: forgotten here. The selection expression is what makes ``{"action": "sendmessage"}`` pick
#: the ``sendmessage`` route:
#: https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html
ROUTES: tuple[str, ...] = tuple(handlers.ROUTES)
ROUTE_SELECTION_EXPRESSION = "$request.body.action"


#: Both functions log JSON lines, and the handlers' INFO lines reach CloudWatch. Without a
#: ``LoggingConfig`` Lambda writes plain text and filters nothing, and Python's root logger
#: stays at WARNING, so the broadcaster's INFO lines are dropped by Python before Lambda sees
#: them; log-level filtering (``ApplicationLogLevel``, ``SystemLogLevel``) needs the JSON
#: format: https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-log-level.html
#: and https://docs.aws.amazon.com/lambda/latest/dg/python-logging.html. ``SystemLogLevel``
#: INFO keeps the platform's start and report lines (duration, memory, init time).
LOGGING_CONFIG: dict[str, str] = {
    "LogFormat": "JSON",
    "ApplicationLogLevel": "INFO",
    "SystemLogLevel": "INFO",
}

#: The function's settings. Its timeout is API Gateway's integration timeout (29 s), so a
#: longer Lambda timeout would only run on after the gateway gave up (``wsrelay.aws_facts``).
FUNCTION_SETTINGS: dict[str, Any] = {
    "Runtime": "python3.12",
    "Handler": "wsrelay.handlers.lambda_handler",
    "MemorySize": 256,
    "Timeout": int(aws_facts.INTEGRATION_TIMEOUT_SECONDS),
    "LoggingConfig": LOGGING_CONFIG,
}
#: The fan-out function: posts one page of a big room (``wsrelay.fanout``). A page of 1,000
#: posts takes a second or two; 60 s leaves room for a slow API without holding a page for
#: Lambda's 15 minutes. Its asynchronous invocations are never retried
#: (``FANOUT_EVENT_INVOKE``): a retried page would post its members twice.
FANOUT_SETTINGS: dict[str, Any] = {
    "Runtime": FUNCTION_SETTINGS["Runtime"],
    "Handler": "wsrelay.handlers.fanout_handler",
    "MemorySize": 256,
    "Timeout": 60,
    "LoggingConfig": LOGGING_CONFIG,
}
#: https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html
FANOUT_EVENT_INVOKE: dict[str, Any] = {"MaximumRetryAttempts": 0}
#: Members per page: what one fan-out invocation posts to (``wsrelay.fanout``).
FANOUT_PAGE_SIZE = 1000
#: At most this many handler invocations at once (``ReservedConcurrentExecutions``): a flood
#: of messages is throttled instead of scaling to the account's limit, and the other
#: functions of the account keep the rest. A throttled invocation costs nothing; its client
#: gets "Internal server error". Lambda keeps 100 of the account's concurrency unreserved, so
#: an account whose limit is lower (new accounts may have 10) cannot reserve any: the
#: deployer then says so and goes on without it. 50 lets a workshop of 30 join at once, every
#: ``$connect`` a cold start, without a throttled handshake; a flood gets no more.
#: https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
RESERVED_CONCURRENCY = 50
#: The stage's default route throttling, a token bucket: requests per second in the steady
#: state, and the burst above it. Past them API Gateway throttles ("429 Too Many Requests"),
#: before the request costs an invocation; the limits are best-effort targets, not ceilings,
#: and cannot exceed the account's own per Region:
#: https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-protect.html
STAGE_THROTTLING: dict[str, Any] = {"ThrottlingBurstLimit": 100, "ThrottlingRateLimit": 50.0}
#: The handler's abuse caps (``wsrelay.handlers.MessageLimits``): messages of at most 4 KB,
#: and 20 messages per connection per 10 seconds. Set only for the package's own handler,
#: which reads them.
MESSAGE_LIMITS: dict[str, str] = {
    handlers.MAX_BYTES_VARIABLE: "4096",
    handlers.RATE_LIMIT_VARIABLE: "20",
    handlers.RATE_WINDOW_VARIABLE: "10",
}
#: Without a retention policy Lambda's logs are kept (and billed) forever.
LOG_RETENTION_DAYS = 14
INVOKE_PRINCIPAL = "apigateway.amazonaws.com"

#: The role's inline policy, statement id → actions: exactly the calls the handlers make.
#: Both functions (the handler and the fan-out) share the role; the handler invokes the
#: fan-out function (asynchronously) and nothing else.
#: ``ConnectionStore`` puts, gets, updates and deletes single items and reads rooms only
#: through the index (never a Scan); the broadcaster only POSTs to ``@connections``
#: (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-control-access-iam.html);
#: the log group exists before the function, so the role need not create it
#: (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs-advanced.html).
POLICY_ACTIONS: dict[str, tuple[str, ...]] = {
    "ConnectionsTable": (
        "dynamodb:DeleteItem",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ),
    "RoomIndex": ("dynamodb:Query",),
    "ManageConnections": ("execute-api:ManageConnections",),
    "InvokeFanout": ("lambda:InvokeFunction",),
    "OwnLogGroup": ("logs:CreateLogStream", "logs:PutLogEvents"),
}

_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,31}")
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,16}")


@dataclass(frozen=True)
class StackNames:
    """The names and tags of one stack's resources.

    Args:
        stack: the stack name: a letter, then up to 31 letters, digits or hyphens.
        stage: the API stage: 1-16 letters, digits, ``_`` or ``-``.

    Raises:
        ValueError: a name breaks those rules (which keep every derived name within the
            limits of IAM, Lambda and DynamoDB).
    """

    stack: str = "wsrelay"
    stage: str = "dev"

    def __post_init__(self) -> None:
        if not _STACK_NAME.fullmatch(self.stack):
            raise ValueError(
                f"invalid stack name {self.stack!r}: use a letter, then up to 31 letters, digits or '-'"
            )
        if not _STAGE_NAME.fullmatch(self.stage):
            raise ValueError(f"invalid stage {self.stage!r}: use 1-16 letters, digits, '_' or '-'")

    @property
    def prefix(self) -> str:
        """What every resource name starts with: ``{stack}-{stage}``."""
        return f"{self.stack}-{self.stage}"

    @property
    def table(self) -> str:
        """The connections table."""
        return f"{self.prefix}-connections"

    @property
    def function(self) -> str:
        """The Lambda function that serves every route."""
        return f"{self.prefix}-handler"

    @property
    def role(self) -> str:
        """The function's execution role."""
        return f"{self.prefix}-handler-role"

    @property
    def policy(self) -> str:
        """The role's inline policy."""
        return f"{self.prefix}-handler"

    @property
    def log_group(self) -> str:
        """The function's log group: the name Lambda writes to."""
        return f"/aws/lambda/{self.function}"

    @property
    def fanout_function(self) -> str:
        """The fan-out function: posts one page of a big room (``wsrelay.fanout``)."""
        return f"{self.prefix}-fanout"

    @property
    def fanout_log_group(self) -> str:
        """The fan-out function's log group."""
        return f"/aws/lambda/{self.fanout_function}"

    @property
    def api(self) -> str:
        """The WebSocket API's name (API names need not be unique: it is found by its tags)."""
        return self.prefix

    @property
    def statement_id(self) -> str:
        """The invoke permission's id in the function's resource policy."""
        return "apigateway-invoke"

    @property
    def tags(self) -> dict[str, str]:
        """The tags every taggable resource of this stack carries."""
        return {TAG_STACK: self.stack, TAG_STAGE: self.stage}

    def owns(self, tags: dict[str, str]) -> bool:
        """Whether a resource with these tags belongs to this stack."""
        return all(tags.get(k) == v for k, v in self.tags.items())


@dataclass(frozen=True)
class Location:
    """Where the stack lives: builds the ARNs its policies and integration refer to.

    Args:
        partition: ``aws`` (or ``aws-cn``, ``aws-us-gov``), read from the caller's identity.
        region: the region, such as ``us-east-1``.
        account: the 12-digit account id.
    """

    partition: str
    region: str
    account: str

    def _arn(self, service: str, resource: str, *, region: bool = True) -> str:
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def table_arn(self, names: StackNames) -> str:
        """The connections table."""
        return self._arn("dynamodb", f"table/{names.table}")

    def index_arn(self, names: StackNames) -> str:
        """The table's room index (a Query on an index is authorized on the index's ARN)."""
        return f"{self.table_arn(names)}/index/{ROOM_INDEX}"

    def function_arn(self, names: StackNames) -> str:
        """The handler function."""
        return self._arn("lambda", f"function:{names.function}")

    def fanout_function_arn(self, names: StackNames) -> str:
        """The fan-out function, which the handler invokes."""
        return self._arn("lambda", f"function:{names.fanout_function}")

    def log_group_arn(self, names: StackNames, group: str | None = None) -> str:
        """A function's log group, the handler's by default (without the ``:*`` of its streams)."""
        return self._arn("logs", f"log-group:{group or names.log_group}")

    def source_arn(self, api_id: str) -> str:
        """What may invoke the function: any route of any stage of this one API."""
        return self._arn("execute-api", f"{api_id}/*")

    def connections_arn(self, api_id: str, stage: str) -> str:
        """``POST @connections/*`` on this API's stage: all the broadcaster needs."""
        return self._arn("execute-api", f"{api_id}/{stage}/POST/@connections/*")

    def integration_uri(self, function_arn: str) -> str:
        """The Lambda proxy integration URI for a function (API Gateway's invoke path)."""
        return (
            f"arn:{self.partition}:apigateway:{self.region}:lambda:path/2015-03-31/functions/"
            f"{function_arn}/invocations"
        )

    def policy_document(
        self, names: StackNames, api_id: str, *, fanout: bool = True
    ) -> dict[str, Any]:
        """The role's inline policy: ``POLICY_ACTIONS``, each on only its own resource.

        Without the fan-out function (``fanout=False``: a package with no ``wsrelay.fanout``)
        the role may not invoke it, and has no log group of its to write to.
        """
        log_groups = [f"{self.log_group_arn(names)}:*"]
        if fanout:
            log_groups.append(f"{self.log_group_arn(names, names.fanout_log_group)}:*")
        resources_by_sid: dict[str, Any] = {
            "ConnectionsTable": self.table_arn(names),
            "RoomIndex": self.index_arn(names),
            "ManageConnections": self.connections_arn(api_id, names.stage),
            "InvokeFanout": self.fanout_function_arn(names),
            "OwnLogGroup": log_groups if fanout else log_groups[0],
        }
        return {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Action": list(actions),
                    "Resource": resources_by_sid[sid],
                }
                for sid, actions in POLICY_ACTIONS.items()
                if fanout or sid != "InvokeFanout"
            ],
        }


def trust_policy() -> dict[str, Any]:
    """The role's trust policy: only the Lambda service may assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def template_text() -> str:
    """Return the packaged CloudFormation template of this stack (``deploy/template.yaml``)."""
    return resources.files("wsrelay.deploy").joinpath("template.yaml").read_text(encoding="utf-8")
