"""Deploy the stack with boto3, idempotently: look first, create what is missing, fix drift.

``deploy`` creates, in this order (each step prints one line: ``✓`` created, ``=`` exists,
``~`` updated)::

    table ─ log group ─ role ─ API ─ role policy ─ function ─ permission ─ integration ─ routes ─ stage

The function logs JSON at INFO (``LoggingConfig``), may run at most ``RESERVED_CONCURRENCY``
invocations at once, and (the package's own handler) caps messages by size and by rate per
connection; the stage throttles every route (``STAGE_THROTTLING``): ``wsrelay.deploy.stack``.

The order follows the references: the policy names the API, the function needs the role,
the permission and integration need both, and the stage comes last so that its automatic
deployment already has routes ("At least one route is required before deploying"). Running
``deploy`` again changes nothing; after a change in the code it updates only the function.

Every taggable resource is tagged by the call that creates it, never afterwards, so a failed
run leaves only resources that ``wsrelay destroy`` (``wsrelay.deploy.teardown``) removes.
Routes, the integration and the permission cannot carry tags: they live inside the tagged API
and function and go with them.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wsrelay.deploy import package
from wsrelay.deploy.aws import (
    Clients,
    Progress,
    find_function,
    find_log_group,
    find_role,
    find_table,
    not_ours,
    step,
)
from wsrelay.deploy.gateway import (
    ensure_api,
    ensure_integration,
    ensure_permission,
    ensure_routes,
    ensure_stage,
)
from wsrelay.deploy.stack import (
    FANOUT_EVENT_INVOKE,
    FANOUT_PAGE_SIZE,
    FANOUT_SETTINGS,
    FUNCTION_SETTINGS,
    LOG_RETENTION_DAYS,
    MESSAGE_LIMITS,
    RESERVED_CONCURRENCY,
    TABLE_SCHEMA,
    TTL_ATTRIBUTE,
    Location,
    StackNames,
    trust_policy,
)
from wsrelay.deploy.teardown import destroy, locate, status
from wsrelay.fanout import FANOUT_FUNCTION_VARIABLE, PAGE_SIZE_VARIABLE
from wsrelay.handlers import TABLE_VARIABLE
from wsrelay.local.lambda_runtime.code import zip_bytes_folder

__all__ = ["Deployment", "deploy", "destroy", "status"]

Report = Callable[[str], None]

#: IAM is eventually consistent, so a new role takes seconds to become usable by Lambda; until
#: then CreateFunction fails with "The role defined for the function cannot be assumed by
#: Lambda": https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_general.html#troubleshoot_general_eventual-consistency
ROLE_RETRY_SECONDS = 2.0
ROLE_RETRIES = 15


@dataclass(frozen=True)
class Deployment:
    """What a deploy made: the ids a client and a notebook need."""

    names: StackNames
    api_id: str
    websocket_url: str
    management_url: str
    function_arn: str
    table_arn: str
    role_arn: str


def deploy(
    clients: Clients,
    names: StackNames,
    *,
    code: bytes | None = None,
    handler: str | None = None,
    fanout: bool | None = None,
    report: Report = print,
    sleep: Callable[[float], None] = time.sleep,
) -> Deployment:
    """Create the stack's resources, or bring existing ones up to date.

    Args:
        clients: where to deploy (AWS, or a moto server).
        names: the stack's names and tags.
        code: the Lambda zip; default ``package.build_zip()``.
        handler: the function's ``Handler`` (``module.function`` in the zip); default
            ``wsrelay.handlers.lambda_handler``, the package's. Another zip names its own,
            such as the workbook's ``lambda_function.lambda_handler``.
        fanout: also deploy the fan-out function for big rooms (``wsrelay.fanout``); by
            default, when the package holds ``wsrelay/fanout.py`` (a learner's own handler
            has none).
        report: called with each progress line.
        sleep: how to wait between retries (tests pass a no-op).

    Returns:
        The deployment's ids and URLs (the WebSocket URL is ``wss://``).

    Raises:
        DeployError: a step failed, or a name is taken by a resource without the stack's
            tags (which is never changed). What was created so far is tagged, so
            ``destroy`` removes it.
    """
    zip_bytes = package.build_zip() if code is None else code
    if fanout is None:
        fanout = package.has_module(zip_bytes, "wsrelay.fanout")
    progress = Progress(report)
    run = _Run(clients, names, progress, sleep)
    location = locate(clients, "deploy")
    report(f"deploying stack {names.prefix} to account {location.account} in {location.region}")
    table_arn = run.table()
    run.log_group(names.log_group)
    if fanout:
        run.log_group(names.fanout_log_group)
    role_arn = run.role()
    api = ensure_api(clients, names, progress)
    api_id = api["ApiId"]
    run.policy(location, api_id, fanout=fanout)
    variables = {TABLE_VARIABLE: names.table}
    if fanout:
        run.function(
            names.fanout_function,
            FANOUT_SETTINGS,
            {TABLE_VARIABLE: names.table},
            role_arn,
            zip_bytes,
            event_invoke=FANOUT_EVENT_INVOKE,
        )
        variables[FANOUT_FUNCTION_VARIABLE] = names.fanout_function
        variables[PAGE_SIZE_VARIABLE] = str(FANOUT_PAGE_SIZE)
    if handler is None and package.has_module(zip_bytes, "wsrelay.handlers"):
        variables.update(MESSAGE_LIMITS)  # the package's handler reads its caps from there
    settings = {**FUNCTION_SETTINGS, "Handler": handler or FUNCTION_SETTINGS["Handler"]}
    function_arn = run.function(
        names.function, settings, variables, role_arn, zip_bytes, reserved=RESERVED_CONCURRENCY
    )
    ensure_permission(clients, names, location.source_arn(api_id), progress)
    uri = location.integration_uri(function_arn)
    integration_id = ensure_integration(clients, names, api_id, uri, progress)
    ensure_routes(clients, api_id, f"integrations/{integration_id}", progress)
    ensure_stage(clients, names, api_id, progress)
    # AWS gives the endpoint as wss://, moto as https://; the @connections API of the same
    # host is https:// (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html).
    host = str(api["ApiEndpoint"]).split("://", 1)[-1]
    websocket_url = f"wss://{host}/{names.stage}"
    management_url = f"https://{host}/{names.stage}"
    report(f"WebSocket URL:    {websocket_url}")
    report(f"@connections URL: {management_url}")
    return Deployment(
        names, api_id, websocket_url, management_url, function_arn, table_arn, role_arn
    )


#: What each function is, for its description: the handler (True) or the fan-out.
ROLES_OF = {True: "handler", False: "fan-out"}


class _Run:
    """One deploy's steps for the table, log group, role, policy and function.

    Each step finds its resource, refuses one without the stack's tags, then creates it or
    brings it up to date. (The API Gateway steps are in ``wsrelay.deploy.gateway``.)
    """

    def __init__(
        self,
        clients: Clients,
        names: StackNames,
        progress: Progress,
        sleep: Callable[[float], None],
    ) -> None:
        self.c = clients
        self.n = names
        self.progress = progress
        self.sleep = sleep

    def table(self) -> str:
        n, ddb = self.n, self.c.dynamodb
        with step(f"look up table {n.table}"):
            found = find_table(self.c, n)
        if found is not None and not found.owned:
            raise not_ours("table", n.table, n)
        if found is not None and found.details.get("TableStatus") == "DELETING":
            with step(f"wait for the old table {n.table} to be deleted"):
                ddb.get_waiter("table_not_exists").wait(TableName=n.table)
            found = None
        if found is None:
            with step(f"create table {n.table}"):
                created = ddb.create_table(
                    TableName=n.table,
                    Tags=[{"Key": k, "Value": v} for k, v in n.tags.items()],
                    **TABLE_SCHEMA,
                )
                ddb.get_waiter("table_exists").wait(
                    TableName=n.table, WaiterConfig={"Delay": 2, "MaxAttempts": 90}
                )
                self._enable_ttl()
            self.progress.created("table", n.table)
            return created["TableDescription"]["TableArn"]
        with step(f"check the TTL of table {n.table}"):
            ttl = ddb.describe_time_to_live(TableName=n.table)["TimeToLiveDescription"]
            ttl_on = ttl.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}
            if ttl_on and ttl.get("AttributeName") == TTL_ATTRIBUTE:
                self.progress.exists("table", n.table)
            else:
                self._enable_ttl()
                self.progress.updated("table", n.table, f"TTL on {TTL_ATTRIBUTE}")
        return found.ident

    def _enable_ttl(self) -> None:
        self.c.dynamodb.update_time_to_live(
            TableName=self.n.table,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )

    def log_group(self, name: str) -> None:
        n, logs = self.n, self.c.logs
        with step(f"look up log group {name}"):
            found = find_log_group(self.c, n, name)
        if found is not None and not found.owned:
            raise not_ours("log group", name, n)
        with step(f"create log group {name}"):
            if found is None:
                logs.create_log_group(logGroupName=name, tags=n.tags)
            if found is None or found.details.get("retentionInDays") != LOG_RETENTION_DAYS:
                logs.put_retention_policy(logGroupName=name, retentionInDays=LOG_RETENTION_DAYS)
        if found is None:
            self.progress.created("log group", name, f"kept {LOG_RETENTION_DAYS} days")
        elif found.details.get("retentionInDays") != LOG_RETENTION_DAYS:
            self.progress.updated("log group", name, f"kept {LOG_RETENTION_DAYS} days")
        else:
            self.progress.exists("log group", name)

    def role(self) -> str:
        n = self.n
        with step(f"look up role {n.role}"):
            found = find_role(self.c, n)
        if found is not None and not found.owned:
            raise not_ours("role", n.role, n)
        if found is not None:
            self.progress.exists("role", n.role)
            return found.ident
        with step(f"create role {n.role}"):
            role = self.c.iam.create_role(
                RoleName=n.role,
                AssumeRolePolicyDocument=json.dumps(trust_policy()),
                Description=f"Runs the wsrelay handler of stack {n.prefix}",
                Tags=[{"Key": k, "Value": v} for k, v in n.tags.items()],
            )["Role"]
        self.progress.created("role", n.role)
        return role["Arn"]

    def policy(self, location: Location, api_id: str, *, fanout: bool) -> None:
        n, iam = self.n, self.c.iam
        document = location.policy_document(n, api_id, fanout=fanout)
        with step(f"put policy {n.policy} on role {n.role}"):
            try:
                current: Any = iam.get_role_policy(RoleName=n.role, PolicyName=n.policy)
                current = current["PolicyDocument"]
            except iam.exceptions.NoSuchEntityException:
                current = None
            if isinstance(current, str):  # botocore decodes it; a raw string is JSON
                current = json.loads(current)
            if current == document:
                self.progress.exists("policy", n.policy)
                return
            iam.put_role_policy(
                RoleName=n.role, PolicyName=n.policy, PolicyDocument=json.dumps(document)
            )
        if current is None:
            self.progress.created("policy", n.policy)
        else:
            self.progress.updated("policy", n.policy, "statements")

    def function(
        self,
        name: str,
        settings: dict[str, Any],
        variables: dict[str, str],
        role_arn: str,
        zip_bytes: bytes,
        *,
        event_invoke: dict[str, Any] | None = None,
        reserved: int | None = None,
    ) -> str:
        """Create or update one of the stack's functions; return its ARN.

        ``reserved``: its ``ReservedConcurrentExecutions`` (``_reserve``).
        """
        n, lam = self.n, self.c.lambda_
        # A copy by its SHA-256 (Lambda's CodeSha256), so that ``wsrelay serve --api-id``
        # runs exactly the deployed package (``wsrelay.local.deployed``).
        with contextlib.suppress(OSError, ValueError):
            zip_bytes_folder(zip_bytes)
        with step(f"look up function {name}"):
            found = find_function(self.c, n, name)
        if found is not None and not found.owned:
            raise not_ours("function", name, n)
        wanted: dict[str, Any] = {
            **settings,
            "Role": role_arn,
            "Environment": {"Variables": variables},
        }
        if found is None:
            with step(f"create function {name}"):
                arn = self._create_function(name, wanted, zip_bytes)
                lam.get_waiter("function_active_v2").wait(FunctionName=name)
                if event_invoke is not None:
                    lam.put_function_event_invoke_config(FunctionName=name, **event_invoke)
            note = self._reserve(name, reserved)
            self.progress.created("function", name, note)
            return arn
        changes = []
        with step(f"update function {name}"):
            if found.details.get("CodeSha256") != package.code_sha256(zip_bytes):
                lam.update_function_code(FunctionName=name, ZipFile=zip_bytes)
                lam.get_waiter("function_updated_v2").wait(FunctionName=name)
                changes.append("code")
            current = {key: found.details.get(key) for key in wanted}
            current["Environment"] = {
                "Variables": found.details.get("Environment", {}).get("Variables", {})
            }
            if "LoggingConfig" in wanted:
                # AWS answers with every field (LogGroup too); moto keeps none, and then
                # there is nothing to compare.
                logging_now = found.details.get("LoggingConfig")
                current["LoggingConfig"] = (
                    wanted["LoggingConfig"]
                    if logging_now is None
                    else {k: logging_now.get(k) for k in wanted["LoggingConfig"]}
                )
            if current != wanted:
                lam.update_function_configuration(FunctionName=name, **wanted)
                lam.get_waiter("function_updated_v2").wait(FunctionName=name)
                changes.append("configuration")
            if event_invoke is not None:
                lam.put_function_event_invoke_config(FunctionName=name, **event_invoke)
            reserved_now = found.details.get("ReservedConcurrentExecutions")
            if reserved is not None and reserved_now != reserved:
                note = self._reserve(name, reserved)
                changes.append(note or "reserved concurrency")
        if changes:
            self.progress.updated("function", name, " and ".join(changes))
        else:
            self.progress.exists("function", name)
        return found.ident

    def _reserve(self, name: str, reserved: int | None) -> str:
        """Set the function's reserved concurrency; return a note for the progress line.

        Lambda refuses a reservation that would leave the account fewer than 100 unreserved
        executions (an account whose limit is 10, as new ones may have, can reserve none):
        then the function runs without one, and the note says so.
        https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
        """
        if reserved is None:
            return ""
        lam = self.c.lambda_
        try:
            lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=reserved)
        except lam.exceptions.InvalidParameterValueException as exc:
            message = exc.response.get("Error", {}).get("Message", "")
            if "UnreservedConcurrentExecution" not in message:
                raise
            return (
                "reserved concurrency NOT set: the account's concurrency limit leaves none "
                "to reserve (ask AWS for a higher Lambda concurrency quota)"
            )
        return f"at most {reserved} at once"

    def _create_function(self, name: str, wanted: dict[str, Any], zip_bytes: bytes) -> str:
        lam = self.c.lambda_
        for attempt in range(ROLE_RETRIES):
            try:
                created = lam.create_function(
                    FunctionName=name,
                    Code={"ZipFile": zip_bytes},
                    Description=f"wsrelay {ROLES_OF[name == self.n.function]} of stack "
                    f"{self.n.prefix}",
                    Tags=self.n.tags,
                    **wanted,
                )
                return created["FunctionArn"]
            except lam.exceptions.InvalidParameterValueException as exc:
                message = exc.response.get("Error", {}).get("Message", "")
                if "assume" not in message or attempt == ROLE_RETRIES - 1:
                    raise
                self.sleep(ROLE_RETRY_SECONDS)
        raise AssertionError("unreachable")  # the loop returns or raises
