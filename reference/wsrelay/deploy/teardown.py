"""Remove the stack (``destroy``) or list what of it exists (``status``).

Both find resources as the deployer does: by name, keeping only those that carry the stack's
tags, and APIs by their tags alone. A resource with the stack's name but not its tags is
reported and left alone. ``destroy`` removes in the reverse order of the references::

    API (with its stage, routes, integration) ─ permission ─ function ─ fan-out function ─ log groups
    ─ role policies ─ role ─ table

so nothing is left pointing at something already gone, and a run that stops halfway can
simply be run again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from wsrelay.deploy.aws import (
    Clients,
    Found,
    find_apis,
    find_function,
    find_log_group,
    find_role,
    find_table,
    function_policy,
    step,
)
from wsrelay.deploy.stack import ROUTES, Location, StackNames

__all__ = ["StackStatus", "destroy", "locate", "status"]

Report = Callable[[str], None]


def locate(clients: Clients, command: str) -> Location:
    """Read the account and partition of the credentials in use (``sts:GetCallerIdentity``)."""
    with step("read the caller's identity (sts get-caller-identity)", command):
        identity = clients.sts.get_caller_identity()
    partition = str(identity["Arn"]).split(":")[1]
    return Location(partition=partition, region=clients.region, account=str(identity["Account"]))


def destroy(clients: Clients, names: StackNames, *, report: Report = print) -> list[str]:
    """Delete every resource of the stack; leave any resource that lacks its tags.

    Returns:
        One line per resource removed (also passed to ``report``); empty if none existed.

    Raises:
        DeployError: a deletion failed (running ``destroy`` again continues from there).
    """
    c, n = clients, names
    removed: list[str] = []

    def done(line: str) -> None:
        removed.append(line)
        report(line)

    def foreign(found: Found | None) -> Found | None:
        if found is not None and not found.owned:
            report(f"! {found.kind} {found.name} exists without this stack's tags: left alone")
            return None
        return found

    with step(f"look up the APIs of stack {n.prefix}", "destroy"):
        apis = find_apis(c, n)
    for api in apis:
        with step(f"delete API {api.name} ({api.ident})", "destroy"):
            c.apigatewayv2.delete_api(ApiId=api.ident)
        done(f"✓ deleted API {api.name} ({api.ident}) with its stage, routes and integration")
    with step(f"delete function {n.function}", "destroy"):
        if foreign(find_function(c, n)) is not None:
            if any(s.get("Sid") == n.statement_id for s in function_policy(c, n.function)):
                c.lambda_.remove_permission(FunctionName=n.function, StatementId=n.statement_id)
                done(f"✓ deleted permission {n.statement_id}")
            c.lambda_.delete_function(FunctionName=n.function)
            done(f"✓ deleted function {n.function}")
    with step(f"delete function {n.fanout_function}", "destroy"):
        if foreign(find_function(c, n, n.fanout_function)) is not None:
            c.lambda_.delete_function(FunctionName=n.fanout_function)
            done(f"✓ deleted function {n.fanout_function}")
    for group in (n.log_group, n.fanout_log_group):
        with step(f"delete log group {group}", "destroy"):
            if foreign(find_log_group(c, n, group)) is not None:
                c.logs.delete_log_group(logGroupName=group)
                done(f"✓ deleted log group {group}")
    with step(f"delete role {n.role}", "destroy"):
        if foreign(find_role(c, n)) is not None:
            # IAM refuses to delete a role that still has policies (DeleteConflict).
            for policy in c.iam.list_role_policies(RoleName=n.role).get("PolicyNames", []):
                c.iam.delete_role_policy(RoleName=n.role, PolicyName=policy)
                done(f"✓ deleted policy {policy}")
            attached = c.iam.list_attached_role_policies(RoleName=n.role)
            for policy_ref in attached.get("AttachedPolicies", []):
                c.iam.detach_role_policy(RoleName=n.role, PolicyArn=policy_ref["PolicyArn"])
            c.iam.delete_role(RoleName=n.role)
            done(f"✓ deleted role {n.role}")
    with step(f"delete table {n.table}", "destroy"):
        if foreign(find_table(c, n)) is not None:
            c.dynamodb.delete_table(TableName=n.table)
            c.dynamodb.get_waiter("table_not_exists").wait(
                TableName=n.table, WaiterConfig={"Delay": 2, "MaxAttempts": 90}
            )
            done(f"✓ deleted table {n.table}")
    if not removed:
        report(f"nothing to remove: no resource of stack {n.prefix} exists")
    return removed


@dataclass
class StackStatus:
    """What ``status`` found: resources present, missing, and taken by others."""

    present: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    websocket_url: str | None = None

    @property
    def complete(self) -> bool:
        """Whether every resource of the stack exists and nothing is in its way."""
        return not self.missing and not self.foreign


def status(clients: Clients, names: StackNames, *, report: Report = print) -> StackStatus:
    """List which of the stack's resources exist, one line each, then the URL if any.

    Raises:
        DeployError: a lookup failed (for example for lack of a read permission).
    """
    c, n = clients, names
    result = StackStatus()

    def show(
        kind: str, name: str, found: Found | bool | None, note: str = "", *, optional: str = ""
    ) -> None:
        label = f"{kind} {name}" + (f" ({note})" if note else "")
        if isinstance(found, Found) and not found.owned:
            result.foreign.append(label)
            report(f"! {label} exists without this stack's tags")
        elif not found and optional:
            report(f"· {label} not deployed ({optional})")
        elif found:
            result.present.append(label)
            report(f"✓ {label}")
        else:
            result.missing.append(label)
            report(f"✗ {label} missing")

    with step(f"look up the resources of stack {n.prefix}", "status"):
        show("table", n.table, find_table(c, n))
        show("log group", n.log_group, find_log_group(c, n))
        big_rooms = "only for rooms past one page: deployed with a package that has wsrelay.fanout"
        show(
            "log group",
            n.fanout_log_group,
            find_log_group(c, n, n.fanout_log_group),
            optional=big_rooms,
        )
        role = find_role(c, n)
        show("role", n.role, role)
        policies = c.iam.list_role_policies(RoleName=n.role)["PolicyNames"] if role else []
        show("policy", n.policy, n.policy in policies)
        function = find_function(c, n)
        show("function", n.function, function)
        statements = function_policy(c, n.function) if function else []
        show("permission", n.statement_id, any(s.get("Sid") == n.statement_id for s in statements))
        show(
            "function",
            n.fanout_function,
            find_function(c, n, n.fanout_function),
            optional=big_rooms,
        )
        apis = find_apis(c, n)
        api = apis[0] if apis else None
        show("API", n.api, api, api.ident if api else "")
        if api is None:
            return result
        v2 = c.apigatewayv2
        integrations = v2.get_integrations(ApiId=api.ident).get("Items", [])
        show("integration", "AWS_PROXY", bool(integrations), f"{len(integrations)} found")
        route_keys = {r["RouteKey"] for r in v2.get_routes(ApiId=api.ident).get("Items", [])}
        for key in ROUTES:
            show("route", key, key in route_keys)
        stages = {s["StageName"] for s in v2.get_stages(ApiId=api.ident).get("Items", [])}
        show("stage", n.stage, n.stage in stages)
    if n.stage in stages:
        # AWS gives the endpoint as wss://, moto as https://.
        host = str(api.details["ApiEndpoint"]).split("://", 1)[-1]
        result.websocket_url = f"wss://{host}/{n.stage}"
        report(f"WebSocket URL:    {result.websocket_url}")
        report(f"@connections URL: https://{host}/{n.stage}")
    return result
