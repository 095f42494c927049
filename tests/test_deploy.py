"""``wsrelay.deploy.deployer`` and ``teardown`` against a moto server (never real AWS).

Each test deploys its own uniquely named stack into the session's moto server, so tests do not
see each other's resources. moto accepts duplicate routes, stages and permissions, so the
"nothing duplicated" checks below prove the deployer's own look-before-create.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from wsrelay.deploy import package
from wsrelay.deploy.aws import Clients, DeployError, find_apis
from wsrelay.deploy.deployer import Deployment, deploy, destroy, status
from wsrelay.deploy.stack import (
    LOGGING_CONFIG,
    MESSAGE_LIMITS,
    RESERVED_CONCURRENCY,
    ROUTES,
    STAGE_THROTTLING,
    TAG_STACK,
    TTL_ATTRIBUTE,
    Location,
    StackNames,
)

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"  # moto's account
WHERE = Location(partition="aws", region="us-east-1", account=ACCOUNT)
CODE = package.build_zip()


def _no_sleep(seconds: float) -> None:
    """Retries in tests need no real wait."""


@pytest.fixture
def clients(moto_endpoint: str) -> Clients:
    """Clients of the session's moto server."""
    return Clients.connect(region="us-east-1", endpoint_url=moto_endpoint)


@pytest.fixture
def names() -> StackNames:
    """A stack name no other test uses."""
    return StackNames(f"t{uuid.uuid4().hex[:10]}", "dev")


def _deploy(clients: Clients, names: StackNames, **kwargs: Any) -> tuple[Deployment, list[str]]:
    lines: list[str] = []
    deployment = deploy(clients, names, code=CODE, report=lines.append, sleep=_no_sleep, **kwargs)
    return deployment, lines


def _inventory(clients: Clients, names: StackNames) -> dict[str, Any]:
    """Everything of the stack that exists, counted so duplicates would show."""
    c = clients
    apis = find_apis(c, names)
    inventory: dict[str, Any] = {"apis": [a.ident for a in apis]}
    for api in apis:
        inventory["integrations"] = c.apigatewayv2.get_integrations(ApiId=api.ident)["Items"]
        inventory["routes"] = c.apigatewayv2.get_routes(ApiId=api.ident)["Items"]
        inventory["stages"] = c.apigatewayv2.get_stages(ApiId=api.ident)["Items"]
    tables = c.dynamodb.list_tables()["TableNames"]
    inventory["table"] = names.table in tables
    functions = [f["FunctionName"] for f in c.lambda_.list_functions()["Functions"]]
    inventory["function"] = names.function in functions
    inventory["fanout_function"] = names.fanout_function in functions
    if inventory["function"]:
        policy = json.loads(c.lambda_.get_policy(FunctionName=names.function)["Policy"])
        inventory["statements"] = policy["Statement"]
    roles = [r["RoleName"] for r in c.iam.list_roles()["Roles"]]
    inventory["role"] = names.role in roles
    if inventory["role"]:
        inventory["policies"] = c.iam.list_role_policies(RoleName=names.role)["PolicyNames"]
    groups = c.logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{names.prefix}-")
    inventory["log_groups"] = sorted(g["logGroupName"] for g in groups["logGroups"])
    return inventory


def _nothing_left(inventory: dict[str, Any]) -> bool:
    keys = ("apis", "table", "function", "fanout_function", "role", "log_groups")
    return not any(inventory[k] for k in keys)


def test_deploy_creates_the_linked_resources(clients: Clients, names: StackNames) -> None:
    """One table, two log groups, a role, the handler and the fan-out function, a permission,
    an API, an integration, 5 routes, 1 stage."""
    deployment, lines = _deploy(clients, names)
    inventory = _inventory(clients, names)
    api_id = deployment.api_id
    assert inventory["apis"] == [api_id]
    # Routes → the one integration → the function.
    (integration,) = inventory["integrations"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert deployment.function_arn in integration["IntegrationUri"]
    assert sorted(r["RouteKey"] for r in inventory["routes"]) == sorted(ROUTES)
    assert {r["Target"] for r in inventory["routes"]} == {
        f"integrations/{integration['IntegrationId']}"
    }
    (stage,) = inventory["stages"]
    assert stage["StageName"] == "dev" and stage["AutoDeploy"] is True
    # The permission lets this API, and only it, invoke the function.
    (statement,) = inventory["statements"]
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    source = statement["Condition"]["ArnLike"]["AWS:SourceArn"]
    assert source == f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{api_id}/*"
    # The function runs the handler with the table's name, as the role.
    function = clients.lambda_.get_function(FunctionName=names.function)
    config = function["Configuration"]
    assert config["Handler"] == "wsrelay.handlers.lambda_handler"
    assert config["Runtime"].startswith("python3.1")
    assert config["Environment"]["Variables"] == {
        "CONNECTIONS_TABLE": names.table,
        "FANOUT_FUNCTION": names.fanout_function,
        "FANOUT_PAGE_SIZE": "1000",
        "MESSAGE_MAX_BYTES": "4096",
        "MESSAGE_RATE_LIMIT": "20",
        "MESSAGE_RATE_WINDOW": "10",
    }
    assert config["Role"] == deployment.role_arn
    # The fan-out function: the same package and role, its own handler, never retried.
    fanout = clients.lambda_.get_function(FunctionName=names.fanout_function)["Configuration"]
    assert fanout["Handler"] == "wsrelay.handlers.fanout_handler"
    assert fanout["Environment"]["Variables"] == {"CONNECTIONS_TABLE": names.table}
    assert fanout["Role"] == deployment.role_arn and fanout["Timeout"] == 60
    assert fanout["CodeSha256"] == package.code_sha256(CODE)
    retries = clients.lambda_.get_function_event_invoke_config(FunctionName=names.fanout_function)
    assert retries["MaximumRetryAttempts"] == 0
    assert config["CodeSha256"] == package.code_sha256(CODE)  # moto hashes it itself
    assert function["Tags"][TAG_STACK] == names.stack
    # The role's one inline policy names this table, its index, this API's stage, its logs.
    assert inventory["policies"] == [names.policy]
    policy = clients.iam.get_role_policy(RoleName=names.role, PolicyName=names.policy)
    document: Any = policy["PolicyDocument"]  # botocore decodes the JSON; the stubs say str
    resources = {s["Sid"]: s["Resource"] for s in document["Statement"]}
    assert resources == {
        "ConnectionsTable": deployment.table_arn,
        "RoomIndex": f"{deployment.table_arn}/index/byRoom",
        "ManageConnections": f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{api_id}/dev/POST/@connections/*",
        "InvokeFanout": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{names.fanout_function}",
        "OwnLogGroup": [
            f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{names.log_group}:*",
            f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:{names.fanout_log_group}:*",
        ],
    }
    # The table: index and TTL.
    table = clients.dynamodb.describe_table(TableName=names.table)["Table"]
    assert [i["IndexName"] for i in table["GlobalSecondaryIndexes"]] == ["byRoom"]
    ttl = clients.dynamodb.describe_time_to_live(TableName=names.table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", TTL_ATTRIBUTE)
    assert inventory["log_groups"] == sorted([names.log_group, names.fanout_log_group])
    for name in (names.log_group, names.fanout_log_group):
        (group,) = clients.logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
        assert group["retentionInDays"] == 14
    # The URLs: wss:// to connect, https:// for @connections.
    host = f"{api_id}.execute-api.us-east-1.amazonaws.com"
    assert deployment.websocket_url == f"wss://{host}/dev"
    assert deployment.management_url == f"https://{host}/dev"
    assert lines[-2:] == [
        f"WebSocket URL:    wss://{host}/dev",
        f"@connections URL: https://{host}/dev",
    ]
    assert sum(line.startswith("✓ created") for line in lines) == 11 + len(ROUTES)


def _requests(clients: Clients, service: str, operation: str) -> list[dict[str, Any]]:
    """The parameters of every ``operation`` call the clients make from now on, as sent."""
    sent: list[dict[str, Any]] = []
    client = {"lambda": clients.lambda_, "apigatewayv2": clients.apigatewayv2}[service]

    def record(params: dict[str, Any], **_: Any) -> None:
        sent.append(dict(params))

    client.meta.events.register(f"provide-client-params.{service}.{operation}", record)
    return sent


def test_deploy_sets_the_caps_and_the_logging(clients: Clients, names: StackNames) -> None:
    """The stage is throttled, the handler's concurrency reserved, both functions log JSON at
    INFO, and the package's handler gets its message caps (a learner's handler does not)."""
    created = _requests(clients, "lambda", "CreateFunction")
    deployment, lines = _deploy(clients, names)
    (stage,) = clients.apigatewayv2.get_stages(ApiId=deployment.api_id)["Items"]
    assert {k: stage["DefaultRouteSettings"][k] for k in STAGE_THROTTLING} == STAGE_THROTTLING
    assert "✓ created stage dev (auto-deploy, throttled at 50 requests/s, bursts of 100)" in lines
    function = clients.lambda_.get_function(FunctionName=names.function)
    assert function["Concurrency"] == {"ReservedConcurrentExecutions": RESERVED_CONCURRENCY}
    assert f"✓ created function {names.function} (at most 50 at once)" in lines
    fanout = clients.lambda_.get_function(FunctionName=names.fanout_function)
    assert "Concurrency" not in fanout  # its invocations are bounded by the handler's
    # moto keeps no LoggingConfig, so the requests themselves are what is checked.
    assert {r["FunctionName"]: r["LoggingConfig"] for r in created} == {
        names.fanout_function: LOGGING_CONFIG,
        names.function: LOGGING_CONFIG,
    }
    assert LOGGING_CONFIG == {
        "LogFormat": "JSON",
        "ApplicationLogLevel": "INFO",
        "SystemLogLevel": "INFO",
    }
    variables = function["Configuration"]["Environment"]["Variables"]
    assert {k: variables[k] for k in MESSAGE_LIMITS} == MESSAGE_LIMITS
    # A learner's own handler reads no caps: it gets none.
    other = StackNames(f"{names.stack}x", "dev")
    deploy(clients, other, code=CODE, handler="lambda_function.lambda_handler", report=print)
    config = clients.lambda_.get_function_configuration(FunctionName=other.function)
    assert not set(MESSAGE_LIMITS) & set(config["Environment"]["Variables"])
    destroy(clients, other, report=lambda _: None)


def test_redeploy_puts_back_the_reserved_concurrency(clients: Clients, names: StackNames) -> None:
    """A reservation removed by hand is put back; a deploy after that changes nothing."""
    _deploy(clients, names)
    clients.lambda_.delete_function_concurrency(FunctionName=names.function)
    _, lines = _deploy(clients, names)
    assert f"~ updated function {names.function} (at most 50 at once)" in lines
    function = clients.lambda_.get_function(FunctionName=names.function)
    assert function["Concurrency"] == {"ReservedConcurrentExecutions": RESERVED_CONCURRENCY}
    _, lines = _deploy(clients, names)
    assert all(line.startswith("= ") for line in lines[1:-2]), lines


def test_an_account_with_no_concurrency_to_spare_deploys_without_a_reservation(
    clients: Clients, names: StackNames, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lambda keeps 100 executions unreserved: with an account limit of 10 (a new account's)
    the reservation is refused, and the deploy says so and finishes without it."""
    monkeypatch.setenv("MOTO_LAMBDA_CONCURRENCY_QUOTA", "10")  # read by the in-process moto
    deployment, lines = _deploy(clients, names)
    (line,) = [line for line in lines if f"function {names.function}" in line]
    assert line == (
        f"✓ created function {names.function} (reserved concurrency NOT set: the account's "
        "concurrency limit leaves none to reserve (ask AWS for a higher Lambda concurrency quota))"
    )
    assert "Concurrency" not in clients.lambda_.get_function(FunctionName=names.function)
    assert lines[-1] == f"@connections URL: {deployment.management_url}"


def test_deploying_twice_changes_nothing(clients: Clients, names: StackNames) -> None:
    """A second deploy finds every resource, creates none and duplicates nothing."""
    first, _ = _deploy(clients, names)
    before = _inventory(clients, names)
    second, lines = _deploy(clients, names)
    assert second == first
    assert _inventory(clients, names) == before
    steps = lines[1:-2]
    assert steps and all(line.startswith("= ") for line in steps), lines


def test_redeploy_updates_changed_code_and_drifted_configuration(
    clients: Clients, names: StackNames
) -> None:
    """New code updates only the function; a configuration changed by hand is put back."""
    _deploy(clients, names)
    buffer = io.BytesIO(CODE)
    with zipfile.ZipFile(buffer, "a") as archive:
        archive.writestr("wsrelay/extra.py", "")
    lines: list[str] = []
    deploy(clients, names, code=buffer.getvalue(), report=lines.append, sleep=_no_sleep)
    assert [line for line in lines if line.startswith("~")] == [
        f"~ updated function {names.fanout_function} (code)",
        f"~ updated function {names.function} (code)",
    ]
    clients.lambda_.update_function_configuration(FunctionName=names.function, MemorySize=128)
    _, lines = _deploy(clients, names)
    assert f"~ updated function {names.function} (code and configuration)" in lines
    config = clients.lambda_.get_function_configuration(FunctionName=names.function)
    assert config["MemorySize"] == 256


def test_destroy_removes_every_resource(clients: Clients, names: StackNames) -> None:
    """After destroy nothing of the stack exists; destroying again removes nothing."""
    _deploy(clients, names)
    lines: list[str] = []
    removed = destroy(clients, names, report=lines.append)
    assert removed == lines
    assert [" ".join(line.split()[2:4]) for line in removed] == [
        f"API {names.api}",
        f"permission {names.statement_id}",
        f"function {names.function}",
        f"function {names.fanout_function}",
        "log group",
        "log group",
        f"policy {names.policy}",
        f"role {names.role}",
        f"table {names.table}",
    ]
    assert _nothing_left(_inventory(clients, names))
    report: list[str] = []
    assert destroy(clients, names, report=report.append) == []
    assert report == [f"nothing to remove: no resource of stack {names.prefix} exists"]
    assert not status(clients, names, report=lambda line: None).present


def test_two_stacks_side_by_side(clients: Clients) -> None:
    """Two stacks (and two stages of one) live side by side; destroying one spares the rest."""
    suffix = uuid.uuid4().hex[:6]
    first = StackNames(f"a{suffix}", "dev")
    second = StackNames(f"b{suffix}", "dev")
    first_prod = StackNames(f"a{suffix}", "prod")
    deployments = [_deploy(clients, n)[0] for n in (first, second, first_prod)]
    assert len({d.api_id for d in deployments}) == 3
    destroy(clients, first, report=lambda line: None)
    assert _nothing_left(_inventory(clients, first))
    for other in (second, first_prod):
        assert status(clients, other, report=lambda line: None).complete
        _, lines = _deploy(clients, other)
        assert all(line.startswith("= ") for line in lines[1:-2])


def test_a_taken_table_name_stops_deploy_before_anything(
    clients: Clients, names: StackNames
) -> None:
    """A table of the same name without the stack's tags: a clear error, and it is spared."""
    clients.dynamodb.create_table(TableName=names.table, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}], AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])  # fmt: skip
    with pytest.raises(DeployError) as caught:
        _deploy(clients, names)
    error = caught.value
    assert error.code == "NameTaken"
    assert error.step == f"check table {names.table}"
    assert f"{TAG_STACK}={names.stack}" in str(error)
    assert "choose another --stack-name or --stage" in str(error)
    lines: list[str] = []
    assert destroy(clients, names, report=lines.append) == []
    assert lines[0] == f"! table {names.table} exists without this stack's tags: left alone"
    assert names.table in clients.dynamodb.list_tables()["TableNames"]


def test_a_failed_step_leaves_what_destroy_cleans(clients: Clients, names: StackNames) -> None:
    """A role name taken midway stops deploy; destroy removes what was made, spares the role."""
    trust = {"Version": "2012-10-17", "Statement": []}
    clients.iam.create_role(RoleName=names.role, AssumeRolePolicyDocument=json.dumps(trust))
    with pytest.raises(DeployError, match=f"check role {names.role} failed"):
        _deploy(clients, names)
    inventory = _inventory(clients, names)
    assert inventory["table"] and inventory["log_groups"]  # made before the role step
    removed = destroy(clients, names, report=lambda line: None)
    assert [line.split()[2] for line in removed] == ["log", "log", "table"]
    assert _nothing_left({**_inventory(clients, names), "role": False})
    assert clients.iam.get_role(RoleName=names.role)["Role"]["RoleName"] == names.role


def _answer(code: str, message: str, status_code: int) -> Callable[..., Any]:
    """A botocore ``before-call`` handler that makes AWS answer with this error."""

    class Response:
        def __init__(self) -> None:
            self.status_code = status_code
            self.headers: dict[str, str] = {}

    def handler(**kwargs: Any) -> tuple[Response, dict[str, Any]]:
        return Response(), {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status_code},
        }

    return handler


def test_access_denied_names_the_step_and_what_to_do(clients: Clients, names: StackNames) -> None:
    """AccessDenied on CreateFunction: which step, what AWS said, what to do; destroy cleans."""
    denial = (
        f"User: arn:aws:iam::{ACCOUNT}:user/learner is not authorized to perform: "
        f"lambda:CreateFunction on resource: {names.fanout_function}"
    )
    clients.lambda_.meta.events.register(
        "before-call.lambda.CreateFunction", _answer("AccessDeniedException", denial, 403)
    )
    with pytest.raises(DeployError) as caught:
        _deploy(clients, names)
    message = str(caught.value)
    assert message.splitlines() == [
        # The fan-out function comes first: the handler's environment names it.
        f"✗ create function {names.fanout_function} failed",
        f"  AWS said: AccessDeniedException: {denial}",
        "  what to do: the credentials in use lack the permission named above: grant it to "
        "your IAM user or role (or use a profile that has it), then run `wsrelay deploy` "
        "again; `wsrelay destroy` removes what this run created",
    ]
    removed = destroy(clients, names, report=lambda line: None)
    assert [line.split()[2] for line in removed] == ["API", "log", "log", "policy", "role", "table"]
    assert _nothing_left(_inventory(clients, names))


def test_create_function_waits_for_a_new_role(clients: Clients, names: StackNames) -> None:
    """Lambda's "role cannot be assumed" (IAM not yet consistent) is retried, then succeeds."""
    failures = iter(range(2))
    refuse = _answer(
        "InvalidParameterValueException",
        "The role defined for the function cannot be assumed by Lambda.",
        400,
    )

    def flaky(**kwargs: Any) -> Any:
        return refuse() if next(failures, None) is not None else None

    clients.lambda_.meta.events.register("before-call.lambda.CreateFunction", flaky)
    waits: list[float] = []
    deploy(clients, names, code=CODE, report=lambda line: None, sleep=waits.append)
    assert waits == [2.0, 2.0]
    assert status(clients, names, report=lambda line: None).complete


def test_status_lists_what_exists(clients: Clients, names: StackNames) -> None:
    """Status marks each resource present (✓), missing (✗) or taken by others (!)."""
    lines: list[str] = []
    assert status(clients, names, report=lines.append).present == []
    assert lines[0] == f"✗ table {names.table} missing"
    deployment, _ = _deploy(clients, names)
    lines.clear()
    result = status(clients, names, report=lines.append)
    assert result.complete and result.websocket_url == deployment.websocket_url
    assert all(line.startswith("✓ ") for line in lines[:-2])
    assert len(lines) == 11 + len(ROUTES) + 2  # 11 resources, the routes, 2 URLs


def test_location_comes_from_the_caller_identity(clients: Clients) -> None:
    """The partition and account come from STS; the region from the clients."""
    from wsrelay.deploy.teardown import locate

    assert locate(clients, "deploy") == WHERE


def test_missing_credentials_say_how_to_configure_them(
    moto_endpoint: str, names: StackNames, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without credentials the first step fails with how to configure them, not a traceback."""
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    clients = Clients.connect(region="us-east-1", endpoint_url=moto_endpoint)
    with pytest.raises(DeployError) as caught:
        deploy(clients, names, code=CODE, report=lambda line: None)
    assert caught.value.code == "NoCredentials"
    assert caught.value.step == "read the caller's identity (sts get-caller-identity)"
    assert "aws configure" in caught.value.advice


def test_a_package_without_the_fanout_deploys_no_fanout_function(
    clients: Clients, names: StackNames
) -> None:
    """A learner's own handler (no ``wsrelay.fanout``): no fan-out function, log group or
    invoke right; status is still complete, saying what is not deployed and why."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "lambda_function.py", "def lambda_handler(event, context):\n    return {}\n"
        )
    deploy(clients, names, code=buffer.getvalue(), report=lambda line: None, sleep=_no_sleep)
    inventory = _inventory(clients, names)
    assert not inventory["fanout_function"]
    assert inventory["log_groups"] == [names.log_group]
    config = clients.lambda_.get_function_configuration(FunctionName=names.function)
    assert config["Environment"]["Variables"] == {"CONNECTIONS_TABLE": names.table}
    policy = clients.iam.get_role_policy(RoleName=names.role, PolicyName=names.policy)
    document: Any = policy["PolicyDocument"]
    assert "InvokeFanout" not in {s["Sid"] for s in document["Statement"]}
    lines: list[str] = []
    assert status(clients, names, report=lines.append).complete
    assert f"· function {names.fanout_function} not deployed" in "\n".join(lines)
