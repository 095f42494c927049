"""The WebSocket API: routes, integrations, authorizers, route responses, stages, and refusals."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from wsrelay.local.templates import TemplateError

from .support import BASE, app_of, base, function


def route(key: str, integration: str = "Integration", **properties: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {
            "ApiId": {"Ref": "Api"},
            "RouteKey": key,
            "Target": {"Fn::Sub": f"integrations/${{{integration}}}"},
            **properties,
        },
    }


def integration(**properties: Any) -> dict[str, Any]:
    resource = copy.deepcopy(BASE["Resources"]["Integration"])
    resource["Properties"].update(properties)
    return resource


def test_routes_and_their_functions(tmp_path: Path) -> None:
    """Route keys lead through Target to the integration's function; the selection expression is kept."""
    app = app_of(tmp_path, base(Send=route("sendmessage")), stack_name="chat")
    fn = app.functions_by_logical_id["Fn"]
    assert {k: r.function for k, r in app.api.routes.items()} == {"$default": fn, "sendmessage": fn}
    assert app.api.route_selection_expression == "$request.body.action"
    assert app.api.name == "test-api" and app.api.api_id == app.resources["Api"]


def test_target_written_with_join_or_plainly(tmp_path: Path) -> None:
    """``!Join [/, [integrations, !Ref I]]`` and a plain ``integrations/{id}`` string both work."""
    joined = route("joined")
    joined["Properties"]["Target"] = {"Fn::Join": ["/", ["integrations", {"Ref": "Integration"}]]}
    app = app_of(tmp_path, base(Joined=joined))
    assert "joined" in app.api.routes
    plain = route("plain")
    plain["Properties"]["Target"] = f"integrations/{app.resources['Integration']}"
    assert "plain" in app_of(tmp_path, base(Plain=plain)).api.routes


def test_route_response_default_makes_a_route_two_way(tmp_path: Path) -> None:
    """A RouteResponse with key $default makes its route two-way; a selection expression alone does not."""
    template = base(
        Echo=route("echo", RouteResponseSelectionExpression="$default"),
        EchoResponse={
            "Type": "AWS::ApiGatewayV2::RouteResponse",
            "Properties": {
                "ApiId": {"Ref": "Api"},
                "RouteId": {"Ref": "Echo"},
                "RouteResponseKey": "$default",
            },
        },
        OneWay=route("oneway", RouteResponseSelectionExpression="$default"),
    )
    routes = app_of(tmp_path, template).api.routes
    assert (routes["echo"].two_way, routes["oneway"].two_way, routes["$default"].two_way) == (
        True,
        False,
        False,
    )


def test_request_authorizer_on_connect(tmp_path: Path) -> None:
    """AuthorizationType CUSTOM on $connect leads to a REQUEST authorizer with its identity sources."""
    template = base(
        Auth=function(FunctionName="auth"),
        Authorizer={
            "Type": "AWS::ApiGatewayV2::Authorizer",
            "Properties": {
                "ApiId": {"Ref": "Api"},
                "Name": "token",
                "AuthorizerType": "REQUEST",
                "AuthorizerUri": {
                    "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Auth.Arn}/invocations"
                },
                "IdentitySource": ["route.request.querystring.token", "route.request.header.Auth"],
            },
        },
        Connect=route("$connect", AuthorizationType="CUSTOM", AuthorizerId={"Ref": "Authorizer"}),
    )
    authorizer = app_of(tmp_path, template).api.routes["$connect"].authorizer
    assert authorizer is not None
    assert (authorizer.function, authorizer.name) == ("auth", "token")
    assert authorizer.identity_sources == (
        "route.request.querystring.token",
        "route.request.header.Auth",
    )


def test_aws_iam_on_connect_is_refused(tmp_path: Path) -> None:
    """AWS_IAM needs SigV4-signed clients, which the local gateway does not check: refused, saying what to use."""
    with pytest.raises(
        TemplateError,
        match=r"Connect \(AWS::ApiGatewayV2::Route, line \d+\): AuthorizationType AWS_IAM: .*SigV4.*REQUEST authorizer",
    ):
        app_of(tmp_path, base(Connect=route("$connect", AuthorizationType="AWS_IAM")))


def test_custom_authorization_off_connect_is_refused(tmp_path: Path) -> None:
    """WebSocket APIs authorize $connect only."""
    with pytest.raises(TemplateError, match="authorize only the \\$connect route"):
        app_of(
            tmp_path,
            base(Send=route("sendmessage", AuthorizationType="CUSTOM", AuthorizerId="abc")),
        )


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("HTTP", "HTTP backend"),
        ("HTTP_PROXY", "HTTP backend"),
        ("MOCK", "without calling a backend"),
        ("AWS", "non-proxy"),
    ],
)
def test_integrations_other_than_lambda_proxy_are_refused(
    tmp_path: Path, kind: str, why: str
) -> None:
    """HTTP, HTTP_PROXY, MOCK and AWS integrations refuse with one line naming the integration."""
    with pytest.raises(TemplateError) as caught:
        app_of(tmp_path, base(Integration=integration(IntegrationType=kind)))
    message = str(caught.value)
    assert (
        "Integration (AWS::ApiGatewayV2::Integration" in message
        and f"IntegrationType {kind} " in message
    )
    assert why in message and "AWS_PROXY" in message and "\n" not in message


def test_integration_to_an_alias_runs_the_function(tmp_path: Path) -> None:
    """An integration URI with an alias ARN of a template function runs that function."""
    uri = {
        "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}:live/invocations"
    }
    app = app_of(tmp_path, base(Integration=integration(IntegrationUri=uri)))
    assert app.api.routes["$default"].function == app.functions_by_logical_id["Fn"]


def test_integration_to_a_function_outside_the_template_is_refused(tmp_path: Path) -> None:
    """A Lambda the template does not define cannot be run locally."""
    uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:elsewhere/invocations"
    with pytest.raises(
        TemplateError, match="invokes function elsewhere, which is not in this template"
    ):
        app_of(tmp_path, base(Integration=integration(IntegrationUri=uri)))


def test_route_without_target_is_refused(tmp_path: Path) -> None:
    """A route must target an integration of the API."""
    template = base(Send=route("sendmessage"))
    del template["Resources"]["Send"]["Properties"]["Target"]
    with pytest.raises(TemplateError, match="route sendmessage has Target None"):
        app_of(tmp_path, template)


def test_no_websocket_api_is_an_error(tmp_path: Path) -> None:
    """A template with only an HTTP API has nothing to serve."""
    template = base()
    template["Resources"]["Api"]["Properties"]["ProtocolType"] = "HTTP"
    with pytest.raises(
        TemplateError, match="has no AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET"
    ):
        app_of(tmp_path, template)


def test_two_apis_need_api(tmp_path: Path) -> None:
    """Two WebSocket APIs: an error listing them, until ``api=`` picks one."""
    second = copy.deepcopy(BASE["Resources"]["Api"])
    template = base(Admin=second)
    with pytest.raises(
        TemplateError,
        match=r"has 2 WebSocket APIs \(Api, Admin\): choose one with --api LOGICAL_ID",
    ):
        app_of(tmp_path, template)
    app = app_of(tmp_path, template, api="Api")
    assert app.api_logical_id == "Api" and "$default" in app.api.routes
    assert {n.logical_id: n.note for n in app.not_emulated}[
        "Admin"
    ] == "only the WebSocket API Api is served"


def test_one_stage_is_served_with_its_variables(tmp_path: Path) -> None:
    """The stage's name and StageVariables (as strings)."""
    template = base()
    template["Resources"]["Stage"]["Properties"]["StageVariables"] = {"mode": "test", "retries": 3}
    app = app_of(tmp_path, template)
    assert (app.stage, app.stage_variables) == ("dev", {"mode": "test", "retries": "3"})


def test_stage_option_renames_the_only_stage(tmp_path: Path) -> None:
    """``stage=`` with one stage in the template serves it under that name."""
    assert app_of(tmp_path, base(), stage="prod").stage == "prod"


def test_several_stages_need_stage(tmp_path: Path) -> None:
    """Two stages: an error naming them, until ``stage=`` picks one."""
    prod = copy.deepcopy(BASE["Resources"]["Stage"])
    prod["Properties"]["StageName"] = "prod"
    template = base(Prod=prod)
    with pytest.raises(TemplateError, match=r"has 2 stages \(dev, prod\).*--stage NAME"):
        app_of(tmp_path, template)
    assert app_of(tmp_path, template, stage="prod").stage == "prod"


def test_no_stage_is_an_error_unless_given(tmp_path: Path) -> None:
    """Without a stage resource, ``stage=`` must say which stage to serve."""
    with pytest.raises(TemplateError, match=r"has no AWS::ApiGatewayV2::Stage .*--stage NAME"):
        app_of(tmp_path, base(Stage=None))
    assert app_of(tmp_path, base(Stage=None), stage="local").stage == "local"


def test_missing_invoke_permission_is_a_warning(tmp_path: Path) -> None:
    """A routed function without an apigateway.amazonaws.com permission: a warning, not a refusal."""
    app = app_of(tmp_path, base(Permission=None))
    (warning,) = app.warnings
    assert "Fn (AWS::Lambda::Function" in warning and '"Internal server error"' in warning


def test_permission_for_another_api_does_not_count(tmp_path: Path) -> None:
    """A SourceArn on another API's id leaves the warning."""
    template = base()
    template["Resources"]["Permission"]["Properties"]["SourceArn"] = (
        "arn:aws:execute-api:us-east-1:123456789012:other/*"
    )
    assert len(app_of(tmp_path, template).warnings) == 1
    template["Resources"]["Permission"]["Properties"]["SourceArn"] = {
        "Fn::Sub": "arn:aws:execute-api:${AWS::Region}:${AWS::AccountId}:${Api}/*"
    }
    assert app_of(tmp_path, template).warnings == []


def test_duplicate_route_keys_are_refused(tmp_path: Path) -> None:
    """Two routes with one key: API Gateway refuses the second, so does the reader."""
    with pytest.raises(
        TemplateError, match=r"Again \(AWS::ApiGatewayV2::Route.*route key \$default is taken"
    ):
        app_of(tmp_path, base(Again=route("$default")))


def test_an_unused_integration_is_part_of_the_api(tmp_path: Path) -> None:
    """An integration no route targets is served with its API, not listed as not emulated."""
    app = app_of(tmp_path, base(Spare=integration()))
    assert "Spare" not in {n.logical_id for n in app.not_emulated}


def test_stages_not_served_are_listed(tmp_path: Path) -> None:
    """With two stages, the one not chosen is listed as not served."""
    prod = copy.deepcopy(BASE["Resources"]["Stage"])
    prod["Properties"]["StageName"] = "prod"
    app = app_of(tmp_path, base(Prod=prod), stage="prod")
    assert {n.logical_id: n.note for n in app.not_emulated}["Stage"] == "only stage prod is served"
