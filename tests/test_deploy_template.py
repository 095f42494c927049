"""``deploy/template.yaml``: it lints clean and describes the same stack as the boto3 deployer.

The template is read with cfn-lint's own decoder (which understands ``!Ref``, ``!Sub`` and
``!GetAtt``), its intrinsic functions are resolved for one stack and account, and the result
is compared with what ``wsrelay.deploy.stack`` gives the deployer: names, tags, table schema,
routes, IAM actions and resources, the permission and the integration.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest
from cfnlint.decode import decode_str

from wsrelay.deploy import stack
from wsrelay.deploy.stack import Location, StackNames, template_text
from wsrelay.store import ConnectionStore

NAMES = StackNames("wsrelay", "dev")
WHERE = Location(partition="aws", region="us-east-1", account="123456789012")
API_ID = "a1b2c3d4e5"
INTEGRATION_ID = "int123"
TEMPLATE = Path(stack.__file__).with_name("template.yaml")
AUTHORIZER_LOG_GROUP = f"/aws/lambda/{NAMES.prefix}-authorizer"


def _resolved(parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template's resources with every intrinsic function resolved for NAMES and WHERE,
    its parameters at their defaults (or ``parameters``), and only the resources whose
    ``Condition`` holds."""
    template, problems = decode_str(template_text())
    assert not problems
    defaults = {k: v.get("Default") for k, v in template["Parameters"].items() if "Default" in v}
    refs = {
        **defaults,
        **(parameters or {}),
        "AWS::StackName": NAMES.stack,
        "AWS::Partition": WHERE.partition,
        "AWS::Region": WHERE.region,
        "AWS::AccountId": WHERE.account,
        "AWS::URLSuffix": "amazonaws.com",
        "Stage": NAMES.stage,
        "CodeS3Bucket": "bucket",
        "CodeS3Key": "key",
        **(parameters or {}),
        "ConnectionsTable": NAMES.table,
        "HandlerLogGroup": NAMES.log_group,
        "HandlerRole": NAMES.role,
        "HandlerFunction": NAMES.function,
        "FanoutLogGroup": NAMES.fanout_log_group,
        "FanoutFunction": NAMES.fanout_function,
        "WebSocketApi": API_ID,
        "HandlerIntegration": INTEGRATION_ID,
        "AuthorizerFunction": f"{NAMES.prefix}-authorizer",
        "TokenAuthorizer": "auth123",
    }
    attributes = {
        "ConnectionsTable.Arn": WHERE.table_arn(NAMES),
        "HandlerLogGroup.Arn": f"{WHERE.log_group_arn(NAMES)}:*",  # CloudFormation adds :*
        "FanoutLogGroup.Arn": f"{WHERE.log_group_arn(NAMES, NAMES.fanout_log_group)}:*",
        "HandlerRole.Arn": f"arn:aws:iam::{WHERE.account}:role/{NAMES.role}",
        "HandlerFunction.Arn": WHERE.function_arn(NAMES),
        "WebSocketApi.ApiEndpoint": f"wss://{API_ID}.execute-api.{WHERE.region}.amazonaws.com",
        "AuthorizerLogGroup.Arn": f"{WHERE.log_group_arn(NAMES, AUTHORIZER_LOG_GROUP)}:*",
        "AuthorizerRole.Arn": f"arn:aws:iam::{WHERE.account}:role/{NAMES.prefix}-authorizer-role",
        "AuthorizerFunction.Arn": WHERE._arn("lambda", f"function:{NAMES.prefix}-authorizer"),
    }
    no_value = object()

    def lookup(name: str) -> str:
        return attributes[name] if "." in name else refs[name]

    def condition(node: Any) -> bool:
        if isinstance(node, dict) and set(node) == {"Fn::Not"}:
            return not condition(node["Fn::Not"][0])
        if isinstance(node, dict) and set(node) == {"Fn::Equals"}:
            left, right = (resolve(side) for side in node["Fn::Equals"])
            return str(left) == str(right)
        if isinstance(node, dict) and set(node) == {"Condition"}:
            return conditions[node["Condition"]]
        raise AssertionError(f"a condition this test cannot evaluate: {node!r}")

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"Ref"}:
                return no_value if node["Ref"] == "AWS::NoValue" else refs[node["Ref"]]
            if set(node) == {"Fn::If"}:
                name, then, otherwise = node["Fn::If"]
                return resolve(then if conditions[name] else otherwise)
            if set(node) == {"Fn::GetAtt"}:
                value = node["Fn::GetAtt"]
                return attributes[value if isinstance(value, str) else ".".join(value)]
            if set(node) == {"Fn::Sub"}:
                return re.sub(r"\$\{([^}]+)\}", lambda m: lookup(m.group(1)), node["Fn::Sub"])
            resolved_items = {key: resolve(value) for key, value in node.items()}
            return {k: v for k, v in resolved_items.items() if v is not no_value}
        if isinstance(node, list):
            return [v for v in (resolve(item) for item in node) if v is not no_value]
        return node

    conditions: dict[str, bool] = {}
    for name, expression in template.get("Conditions", {}).items():
        conditions[name] = condition(expression)
    kept = {
        lid: r
        for lid, r in template["Resources"].items()
        if "Condition" not in r or conditions[r["Condition"]]
    }
    resolved: dict[str, Any] = resolve({**template, "Resources": kept})
    return resolved


def _of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def _one(template: dict[str, Any], kind: str) -> dict[str, Any]:
    (properties,) = _of_type(template, kind)
    return properties


def _tags(properties: dict[str, Any]) -> dict[str, str]:
    tags = properties["Tags"]
    return tags if isinstance(tags, dict) else {t["Key"]: t["Value"] for t in tags}


def test_cfn_lint_passes() -> None:
    """cfn-lint reports no error, warning or informational finding on the template."""
    beside_python = Path(sys.executable).with_name("cfn-lint")
    cfn_lint = str(beside_python) if beside_python.exists() else shutil.which("cfn-lint")
    assert cfn_lint, "cfn-lint is not installed: pip install -e '.[dev]'"
    done = subprocess.run(
        [cfn_lint, "--include-checks", "I", "--", str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_template_is_what_deploy_prints() -> None:
    """``template_text`` reads the packaged file that ``wsrelay deploy --template`` prints."""
    assert template_text() == TEMPLATE.read_text(encoding="utf-8")


def test_every_resource_is_tagged_with_the_stack() -> None:
    """Each taggable resource carries the same tags as the deployer's resources."""
    template = _resolved()
    taggable = [
        "AWS::DynamoDB::Table",
        "AWS::Logs::LogGroup",
        "AWS::IAM::Role",
        "AWS::Lambda::Function",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Stage",
    ]
    for kind in taggable:
        for properties in _of_type(template, kind):
            assert _tags(properties) == NAMES.tags, kind


def test_table_matches_the_deployer_schema() -> None:
    """Keys, the byRoom index, its projection, billing and TTL equal ``TABLE_SCHEMA``."""
    table = _one(_resolved(), "AWS::DynamoDB::Table")
    assert table["TableName"] == NAMES.table
    assert {k: table[k] for k in stack.TABLE_SCHEMA} == stack.TABLE_SCHEMA
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": stack.TTL_ATTRIBUTE,
        "Enabled": True,
    }


def test_routes_and_integration_match() -> None:
    """The same route keys, each targeting the one AWS_PROXY integration to the function."""
    template = _resolved()
    api = _one(template, "AWS::ApiGatewayV2::Api")
    assert api["Name"] == NAMES.api
    assert api["ProtocolType"] == "WEBSOCKET"
    assert api["RouteSelectionExpression"] == stack.ROUTE_SELECTION_EXPRESSION
    routes = _of_type(template, "AWS::ApiGatewayV2::Route")
    assert sorted(r["RouteKey"] for r in routes) == sorted(stack.ROUTES)
    assert {r["Target"] for r in routes} == {f"integrations/{INTEGRATION_ID}"}
    integration = _one(template, "AWS::ApiGatewayV2::Integration")
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == WHERE.integration_uri(WHERE.function_arn(NAMES))
    stage = _one(template, "AWS::ApiGatewayV2::Stage")
    assert stage["StageName"] == NAMES.stage and stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == stack.STAGE_THROTTLING
    (connect,) = [r for r in routes if r["RouteKey"] == "$connect"]
    assert connect["AuthorizationType"] == "NONE" and "AuthorizerId" not in connect


def test_role_policy_and_permission_match() -> None:
    """The role's trust and inline policy, and the invoke permission, equal the deployer's."""
    template = _resolved()
    role = _one(template, "AWS::IAM::Role")
    assert role["RoleName"] == NAMES.role
    assert role["AssumeRolePolicyDocument"] == stack.trust_policy()
    (policy,) = role["Policies"]
    assert policy["PolicyName"] == NAMES.policy
    assert policy["PolicyDocument"] == WHERE.policy_document(NAMES, API_ID)
    actions = {s["Sid"]: tuple(s["Action"]) for s in policy["PolicyDocument"]["Statement"]}
    assert actions == stack.POLICY_ACTIONS
    permission = _one(template, "AWS::Lambda::Permission")
    assert permission["Principal"] == stack.INVOKE_PRINCIPAL
    assert permission["Action"] == "lambda:InvokeFunction"
    assert permission["SourceArn"] == WHERE.source_arn(API_ID)


def test_functions_and_log_groups_match() -> None:
    """Both functions' runtime, handler, memory, timeout and environment, the fan-out's
    retries, and the log groups' retention are the deployer's."""
    template = _resolved()
    functions = {f["FunctionName"]: f for f in _of_type(template, "AWS::Lambda::Function")}
    assert set(functions) == {NAMES.function, NAMES.fanout_function}
    handler, fanout = functions[NAMES.function], functions[NAMES.fanout_function]
    assert {k: handler[k] for k in stack.FUNCTION_SETTINGS} == stack.FUNCTION_SETTINGS
    assert handler["Environment"] == {
        "Variables": {
            "CONNECTIONS_TABLE": NAMES.table,
            "FANOUT_FUNCTION": NAMES.fanout_function,
            "FANOUT_PAGE_SIZE": str(stack.FANOUT_PAGE_SIZE),
            **stack.MESSAGE_LIMITS,
        }
    }
    assert handler["ReservedConcurrentExecutions"] == stack.RESERVED_CONCURRENCY
    assert "ReservedConcurrentExecutions" not in fanout
    assert {k: fanout[k] for k in stack.FANOUT_SETTINGS} == stack.FANOUT_SETTINGS
    assert fanout["Environment"] == {"Variables": {"CONNECTIONS_TABLE": NAMES.table}}
    retries = _one(template, "AWS::Lambda::EventInvokeConfig")
    assert retries["FunctionName"] == NAMES.fanout_function
    assert {k: retries[k] for k in stack.FANOUT_EVENT_INVOKE} == stack.FANOUT_EVENT_INVOKE
    groups = {g["LogGroupName"]: g for g in _of_type(template, "AWS::Logs::LogGroup")}
    assert set(groups) == {NAMES.log_group, NAMES.fanout_log_group}
    assert {g["RetentionInDays"] for g in groups.values()} == {stack.LOG_RETENTION_DAYS}


@pytest.mark.integration
def test_deployer_schema_matches_connection_store(moto_endpoint: str) -> None:
    """``TABLE_SCHEMA`` creates the same table as ``ConnectionStore.create_table``."""
    client = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    ConnectionStore(client, "schema-by-store").create_table()
    client.create_table(TableName="schema-by-deployer", **stack.TABLE_SCHEMA)

    def shape(name: str) -> dict[str, Any]:
        table = client.describe_table(TableName=name)["Table"]
        (index,) = table["GlobalSecondaryIndexes"]
        return {
            "keys": table["KeySchema"],
            "attributes": sorted(table["AttributeDefinitions"], key=str),
            "index": (index["IndexName"], index["KeySchema"], index["Projection"]),
            "billing": table["BillingModeSummary"]["BillingMode"],
        }

    assert shape("schema-by-deployer") == shape("schema-by-store")
    ttl = client.describe_time_to_live(TableName="schema-by-store")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == stack.TTL_ATTRIBUTE


def test_no_reservation_leaves_the_setting_out() -> None:
    """``ReservedConcurrency=-1`` (an account with none to spare): the property is absent."""
    functions = _of_type(_resolved({"ReservedConcurrency": -1}), "AWS::Lambda::Function")
    assert not any("ReservedConcurrentExecutions" in f for f in functions)


def test_a_token_secret_guards_connect_with_the_authorizer() -> None:
    """With ``TokenSecret`` set, $connect has a REQUEST authorizer reading ``?token=``, run by
    a function with a role of its own that may only write its own logs."""
    template = _resolved({"TokenSecret": "s3cret"})
    (connect,) = [
        r for r in _of_type(template, "AWS::ApiGatewayV2::Route") if r["RouteKey"] == "$connect"
    ]
    assert (connect["AuthorizationType"], connect["AuthorizerId"]) == ("CUSTOM", "auth123")
    authorizer = _one(template, "AWS::ApiGatewayV2::Authorizer")
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["IdentitySource"] == ["route.request.querystring.token"]
    functions = {f["FunctionName"]: f for f in _of_type(template, "AWS::Lambda::Function")}
    function = functions[f"{NAMES.prefix}-authorizer"]
    assert function["Handler"] == "wsrelay.authorizer.lambda_handler"
    assert function["Environment"] == {"Variables": {"TOKEN_SECRET": "s3cret"}}
    assert function["LoggingConfig"] == stack.LOGGING_CONFIG
    roles = {r["RoleName"]: r for r in _of_type(template, "AWS::IAM::Role")}
    (policy,) = roles[f"{NAMES.prefix}-authorizer-role"]["Policies"]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "OwnLogGroup",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{WHERE.log_group_arn(NAMES, AUTHORIZER_LOG_GROUP)}:*",
        }
    ]
    permissions = {p["FunctionName"]: p for p in _of_type(template, "AWS::Lambda::Permission")}
    assert permissions[f"{NAMES.prefix}-authorizer"]["SourceArn"] == (
        f"arn:aws:execute-api:{WHERE.region}:{WHERE.account}:{API_ID}/authorizers/auth123"
    )


def test_an_empty_message_rate_limit_turns_the_cap_off() -> None:
    """``MessageRateLimit=""`` (the benchmark's): the handler reads no rate cap."""
    from wsrelay.handlers import MessageLimits

    functions = {
        f["FunctionName"]: f
        for f in _of_type(_resolved({"MessageRateLimit": ""}), "AWS::Lambda::Function")
    }
    variables = functions[NAMES.function]["Environment"]["Variables"]
    limits = MessageLimits.from_environment(variables)
    assert (limits.rate, limits.max_bytes, limits.window_seconds) == (None, 4096, 10.0)
    assert MessageLimits.from_environment(stack.MESSAGE_LIMITS) == MessageLimits(4096, 20, 10.0)
