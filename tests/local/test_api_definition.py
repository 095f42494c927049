"""``ApiDefinition``: the default chat API, and an API read back from API Gateway v2 in moto."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from wsrelay.deploy.package import build_zip
from wsrelay.local.api import DEFAULT_HANDLER, ApiDefinition
from wsrelay.workbook import LocalAws

pytestmark = pytest.mark.integration
REGION = "us-east-1"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "lambda.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    """A moto server for API Gateway v2, Lambda and IAM."""
    with LocalAws() as local:
        yield local


def _function(aws: LocalAws, name: str, handler: str, timeout: int, env: dict[str, str]) -> str:
    iam = aws.client("iam")
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(TRUST))
    created = aws.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler=handler,
        Code={"ZipFile": build_zip()},
        Timeout=timeout,
        Environment={"Variables": env},
    )
    return str(created["FunctionArn"])


def _uri(function_arn: str) -> str:
    return (
        f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{function_arn}/invocations"
    )


def test_default_api_is_the_chat() -> None:
    """Five routes, all to one function running the package's handler with the table set."""
    api = ApiDefinition.default("my-table")
    assert sorted(api.routes) == ["$connect", "$default", "$disconnect", "joinroom", "sendmessage"]
    [function] = api.functions.values()
    assert function.handler == DEFAULT_HANDLER
    assert dict(function.environment) == {"CONNECTIONS_TABLE": "my-table"}
    assert api.route_selection_expression == "$request.body.action"


def test_read_back_routes_functions_two_way_and_authorizer(aws: LocalAws) -> None:
    """Routes → integrations → functions → Handler, the timeout capped at 29 s, two-way, authorizer."""
    apigw = aws.client("apigatewayv2")
    chat = _function(
        aws, "chat-fn", "wsrelay.handlers.lambda_handler", 60, {"CONNECTIONS_TABLE": "t1"}
    )
    guard = _function(aws, "guard-fn", "auth.check", 3, {})
    api_id = apigw.create_api(
        Name="read-back", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.kind"
    )["ApiId"]
    integration = apigw.create_integration(
        ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=_uri(chat)
    )["IntegrationId"]
    authorizer = apigw.create_authorizer(
        ApiId=api_id,
        AuthorizerType="REQUEST",
        AuthorizerUri=_uri(guard),
        IdentitySource=["route.request.querystring.token"],
        Name="guard",
    )["AuthorizerId"]
    target = f"integrations/{integration}"
    apigw.create_route(
        ApiId=api_id,
        RouteKey="$connect",
        Target=target,
        AuthorizationType="CUSTOM",
        AuthorizerId=authorizer,
    )
    apigw.create_route(
        ApiId=api_id, RouteKey="echo", Target=target, RouteResponseSelectionExpression="$default"
    )
    apigw.create_route(ApiId=api_id, RouteKey="$default", Target=target)

    api = ApiDefinition.from_apigatewayv2(apigw, aws.client("lambda"), api_id)

    assert api.name == "read-back" and api.api_id == api_id
    assert api.route_selection_expression == "$request.body.kind"
    assert {key: (r.function, r.two_way) for key, r in api.routes.items()} == {
        "$connect": ("chat-fn", False),
        "echo": ("chat-fn", True),
        "$default": ("chat-fn", False),
    }
    function = api.functions["chat-fn"]
    assert function.handler == "wsrelay.handlers.lambda_handler"
    assert dict(function.environment) == {"CONNECTIONS_TABLE": "t1"}
    # The function's own timeout: API Gateway's 29 s is the gateway's to apply, and the
    # function runs on past it (test_execution_model.py).
    assert function.timeout == 60.0
    connect = api.routes["$connect"].authorizer
    assert connect is not None
    assert (connect.function, connect.identity_sources, connect.name) == (
        "guard-fn",
        ("route.request.querystring.token",),
        "guard",
    )
    assert api.functions["guard-fn"].handler == "auth.check"
    assert api.functions["guard-fn"].timeout == 3.0


def test_a_route_without_an_integration_is_refused_clearly(aws: LocalAws) -> None:
    """A route whose Target names no integration cannot be served; the error says which route."""
    apigw = aws.client("apigatewayv2")
    api_id = apigw.create_api(
        Name="broken", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )["ApiId"]
    apigw.create_route(ApiId=api_id, RouteKey="sendmessage", Target="integrations/missing")
    with pytest.raises(ValueError, match=r"route sendmessage has no integration"):
        ApiDefinition.from_apigatewayv2(apigw, aws.client("lambda"), api_id)


def test_an_integration_that_is_not_lambda_is_refused(aws: LocalAws) -> None:
    """An HTTP integration cannot be run locally; the error names its URI."""
    apigw = aws.client("apigatewayv2")
    api_id = apigw.create_api(
        Name="http", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
    )["ApiId"]
    integration = apigw.create_integration(
        ApiId=api_id,
        IntegrationType="HTTP_PROXY",
        IntegrationUri="https://example.com/hook",
        IntegrationMethod="POST",
    )["IntegrationId"]
    apigw.create_route(ApiId=api_id, RouteKey="$default", Target=f"integrations/{integration}")
    with pytest.raises(ValueError, match=r"does not call a Lambda function"):
        ApiDefinition.from_apigatewayv2(apigw, aws.client("lambda"), api_id)
