"""``template.yaml`` (SAM, at the repository root): it lints clean and is the deployer's stack.

After SAM's own expansion (``aws-sam-translator``, through ``wsrelay.local.templates``) and
with every intrinsic resolved for stack ``wsrelay`` and stage ``dev``, its table, function,
role and policy, permission, API, routes, integration, stage and log group equal what
``wsrelay.deploy.stack`` gives the boto3 deployer, checked the way
``tests/test_deploy_template.py`` checks the CloudFormation template in the package (whose
helpers and names this module reuses).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_deploy_template import NAMES, WHERE, _of_type, _one, _tags

from wsrelay.deploy import stack
from wsrelay.local.templates import load_app, load_stack

ROOT = Path(__file__).parent.parent
TEMPLATE = ROOT / "template.yaml"


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    """The template after the SAM transform, every intrinsic resolved; plus the API's id."""
    expanded = load_stack(
        TEMPLATE,
        stack_name=NAMES.stack,
        parameters={"Stage": NAMES.stage},
        region=WHERE.region,
        account_id=WHERE.account,
    )
    resources = {
        lid: {"Type": expanded.type_of(lid), "Properties": expanded.properties(lid)}
        for lid in expanded.resources
    }
    (api,) = [lid for lid, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Api"]
    (integration,) = [
        lid for lid, r in resources.items() if r["Type"] == "AWS::ApiGatewayV2::Integration"
    ]
    return {
        "Resources": resources,
        "api_id": expanded.name(api),
        "integration_id": expanded.name(integration),
    }


def test_cfn_lint_passes() -> None:
    """cfn-lint reports no error, warning or informational finding on the SAM template."""
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


def test_sam_makes_only_the_deployers_resources(resolved: dict[str, Any]) -> None:
    """The expanded template has the deployer's resources: no extra role, API or version from SAM."""
    kinds = sorted(r["Type"] for r in resolved["Resources"].values())
    assert kinds == sorted(
        [
            "AWS::DynamoDB::Table",
            *["AWS::Logs::LogGroup"] * 2,
            "AWS::IAM::Role",
            *["AWS::Lambda::Function"] * 2,
            "AWS::Lambda::EventInvokeConfig",
            "AWS::Lambda::Permission",
            "AWS::ApiGatewayV2::Api",
            "AWS::ApiGatewayV2::Integration",
            "AWS::ApiGatewayV2::Stage",
            *["AWS::ApiGatewayV2::Route"] * len(stack.ROUTES),
        ]
    )


def test_table_matches_the_deployer_schema(resolved: dict[str, Any]) -> None:
    """Keys, the byRoom index, its projection, billing and TTL equal ``TABLE_SCHEMA``."""
    table = _one(resolved, "AWS::DynamoDB::Table")
    assert table["TableName"] == NAMES.table
    assert {k: table[k] for k in stack.TABLE_SCHEMA} == stack.TABLE_SCHEMA
    assert table["TimeToLiveSpecification"] == {
        "AttributeName": stack.TTL_ATTRIBUTE,
        "Enabled": True,
    }


def test_functions_and_log_groups_match(resolved: dict[str, Any]) -> None:
    """Both functions' runtime, handler, memory, timeout, environment and role, the fan-out's
    retries, and the log groups' retention are the deployer's."""
    functions = {f["FunctionName"]: f for f in _of_type(resolved, "AWS::Lambda::Function")}
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
    assert int(handler["ReservedConcurrentExecutions"]) == stack.RESERVED_CONCURRENCY
    assert "ReservedConcurrentExecutions" not in fanout
    assert {k: fanout[k] for k in stack.FANOUT_SETTINGS} == stack.FANOUT_SETTINGS
    assert fanout["Environment"] == {"Variables": {"CONNECTIONS_TABLE": NAMES.table}}
    role_arn = f"arn:aws:iam::{WHERE.account}:role/{NAMES.role}"
    assert handler["Role"] == fanout["Role"] == role_arn
    retries = _one(resolved, "AWS::Lambda::EventInvokeConfig")
    assert retries["FunctionName"] == NAMES.fanout_function
    assert {k: retries[k] for k in stack.FANOUT_EVENT_INVOKE} == stack.FANOUT_EVENT_INVOKE
    groups = {g["LogGroupName"]: g for g in _of_type(resolved, "AWS::Logs::LogGroup")}
    assert set(groups) == {NAMES.log_group, NAMES.fanout_log_group}
    assert {g["RetentionInDays"] for g in groups.values()} == {stack.LOG_RETENTION_DAYS}


def test_code_uri_is_the_package(resolved: dict[str, Any]) -> None:
    """``CodeUri: reference/`` is the folder ``wsrelay.handlers`` is imported from."""
    for function in _of_type(resolved, "AWS::Lambda::Function"):
        code = Path(function["Code"])
        assert code == (ROOT / "reference").resolve()
        assert (code / "wsrelay" / "handlers.py").is_file()


def test_role_policy_and_permission_match(resolved: dict[str, Any]) -> None:
    """The role's trust and inline policy, and the invoke permission, equal the deployer's."""
    role = _one(resolved, "AWS::IAM::Role")
    assert role["RoleName"] == NAMES.role
    assert role["AssumeRolePolicyDocument"] == stack.trust_policy()
    assert "ManagedPolicyArns" not in role  # least privilege: no AWSLambdaBasicExecutionRole
    (policy,) = role["Policies"]
    assert policy["PolicyName"] == NAMES.policy
    assert policy["PolicyDocument"] == WHERE.policy_document(NAMES, resolved["api_id"])
    permission = _one(resolved, "AWS::Lambda::Permission")
    assert permission["FunctionName"] == NAMES.function
    assert (permission["Principal"], permission["Action"]) == (
        stack.INVOKE_PRINCIPAL,
        "lambda:InvokeFunction",
    )
    assert permission["SourceArn"] == WHERE.source_arn(resolved["api_id"])


def test_routes_and_integration_match(resolved: dict[str, Any]) -> None:
    """The same route keys, each targeting the one AWS_PROXY integration to the function."""
    api = _one(resolved, "AWS::ApiGatewayV2::Api")
    assert (api["Name"], api["ProtocolType"]) == (NAMES.api, "WEBSOCKET")
    assert api["RouteSelectionExpression"] == stack.ROUTE_SELECTION_EXPRESSION
    routes = _of_type(resolved, "AWS::ApiGatewayV2::Route")
    assert sorted(r["RouteKey"] for r in routes) == sorted(stack.ROUTES)
    assert {r["Target"] for r in routes} == {f"integrations/{resolved['integration_id']}"}
    integration = _one(resolved, "AWS::ApiGatewayV2::Integration")
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["IntegrationUri"] == WHERE.integration_uri(WHERE.function_arn(NAMES))
    stage = _one(resolved, "AWS::ApiGatewayV2::Stage")
    assert stage["StageName"] == NAMES.stage and stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"] == stack.STAGE_THROTTLING
    (connect,) = [r for r in routes if r["RouteKey"] == "$connect"]
    assert connect["AuthorizationType"] == "NONE" and "AuthorizerId" not in connect


def test_every_resource_is_tagged_with_the_stack(resolved: dict[str, Any]) -> None:
    """Each taggable resource carries the deployer's tags (SAM adds its own lambda:createdBy)."""
    for kind in [
        "AWS::DynamoDB::Table",
        "AWS::Logs::LogGroup",
        "AWS::IAM::Role",
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Stage",
    ]:
        for properties in _of_type(resolved, kind):
            assert _tags(properties) == NAMES.tags, kind
    for function in _of_type(resolved, "AWS::Lambda::Function"):
        assert _tags(function) == {**NAMES.tags, "lambda:createdBy": "SAM"}


def test_served_locally_it_is_the_chat_api() -> None:
    """load_app gives the workbook's chat API: five routes to one handler, the table with its TTL."""
    app = load_app(TEMPLATE, stack_name=NAMES.stack)
    handlers = {f.name: f.handler for f in app.api.functions.values()}
    assert handlers == {
        NAMES.function: stack.FUNCTION_SETTINGS["Handler"],
        NAMES.fanout_function: stack.FANOUT_SETTINGS["Handler"],
    }
    assert sorted(app.api.routes) == sorted(stack.ROUTES)
    assert {r.function for r in app.api.routes.values()} == {NAMES.function}
    (table,) = app.tables
    assert (table.name, table.ttl_attribute) == (NAMES.table, stack.TTL_ATTRIBUTE)
    assert app.stage == NAMES.stage
    assert (
        app.outputs["WebSocketUrl"]
        == f"wss://{app.api.api_id}.execute-api.{WHERE.region}.amazonaws.com/{NAMES.stage}"
    )


def test_served_locally_with_a_token_secret_connect_has_the_authorizer() -> None:
    """``TokenSecret`` set: the local gateway puts the token authorizer on $connect, with the
    handler's caps (reserved concurrency, LoggingConfig) as the template gives them."""
    app = load_app(TEMPLATE, stack_name=NAMES.stack, parameters={"TokenSecret": "s3cret"})
    connect = app.api.routes["$connect"]
    assert connect.authorizer is not None
    assert connect.authorizer.identity_sources == ("route.request.querystring.token",)
    authorizer = app.api.functions[connect.authorizer.function]
    assert authorizer.handler == "wsrelay.authorizer.lambda_handler"
    assert authorizer.environment["TOKEN_SECRET"] == "s3cret"
    handler = app.api.functions[NAMES.function]
    assert handler.reserved_concurrency == stack.RESERVED_CONCURRENCY
    assert dict(handler.logging) == stack.LOGGING_CONFIG
    assert load_app(TEMPLATE, stack_name=NAMES.stack).api.routes["$connect"].authorizer is None
