"""The :class:`App` a resolved stack describes: what the gateway runs, creates, and leaves out.

- The one WebSocket API, its routes and stage (``wsrelay.local.templates.apigateway``).
- Every ``AWS::Lambda::Function``, called by a route or not (other functions invoke them).
- Every DynamoDB table, as a CreateTable request.
- SQS queues, SNS topics and S3 buckets, for the all-services moto server.
- Everything else is listed as not emulated, one entry each, with a note where it matters.

A function a route or authorizer calls needs an ``AWS::Lambda::Permission`` for
``apigateway.amazonaws.com``; without one AWS answers the client "Internal server error".
The local gateway runs it anyway and says so in a warning.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wsrelay.local.templates.apigateway import (
    ServedApi,
    build_api,
    choose_api,
    function_name_of_arn,
)
from wsrelay.local.templates.functions import build_function, layer_folders, runtime_warnings
from wsrelay.local.templates.model import App, NotEmulated, ServiceResource
from wsrelay.local.templates.return_values import RULES
from wsrelay.local.templates.stack import Stack
from wsrelay.local.templates.syntax import NO_VALUE, stringify
from wsrelay.local.templates.tables import build_table

__all__ = ["NOTES", "SERVICE_TYPES", "build_app"]

#: Created in the all-services moto server.
SERVICE_TYPES = ("AWS::SQS::Queue", "AWS::SNS::Topic", "AWS::S3::Bucket")
TABLE_TYPES = ("AWS::DynamoDB::Table", "AWS::DynamoDB::GlobalTable")

_IAM = "IAM is not enforced locally: a handler may do more here than its role allows on AWS"
#: Why a resource type is not emulated, where it matters to someone testing locally.
NOTES = {
    "AWS::IAM::Role": _IAM,
    "AWS::IAM::Policy": _IAM,
    "AWS::IAM::ManagedPolicy": _IAM,
    "AWS::Lambda::Permission": "the local gateway invokes the functions itself",
    "AWS::Logs::LogGroup": "functions' logs go to the gateway's output",
    "AWS::Events::Rule": "rules and schedules do not fire locally",
    "AWS::Scheduler::Schedule": "schedules do not fire locally",
    "AWS::Lambda::EventSourceMapping": "not polled locally: its function is not triggered by it",
    "AWS::Lambda::Version": "invoking a version runs the function's code as the template has it",
    "AWS::Lambda::Alias": "invoking an alias runs the function's code as the template has it",
    "AWS::Lambda::Url": "function URLs are not served locally",
    "AWS::ApiGateway::RestApi": "REST APIs are not served: only the WebSocket API is",
    "AWS::SNS::Subscription": "SNS does not deliver to subscriptions in moto",
    "AWS::CloudFormation::Stack": "a nested stack's resources are not created locally",
    "AWS::SQS::QueuePolicy": _IAM,
    "AWS::SNS::TopicPolicy": _IAM,
    "AWS::S3::BucketPolicy": _IAM,
}


def build_app(stack: Stack, *, api: str | None, stage: str | None, code: Mapping[str, Path]) -> App:
    """Build the :class:`App` of a resolved stack.

    Args:
        stack: the stack, parameters and conditions decided.
        api: the WebSocket API's logical id, when the template has several.
        stage: the stage to serve (see :func:`~wsrelay.local.templates.apigateway.build_api`).
        code: local code for functions (or layers) whose code is in S3, by logical id.

    Raises:
        TemplateError: anything the local gateway cannot serve as AWS would, one line each.
    """
    for logical_id in code:
        if stack.resources.get(logical_id, {}).get("Type") not in (
            "AWS::Lambda::Function",
            "AWS::Lambda::LayerVersion",
        ):
            raise stack.source.where().error(
                f"--code {logical_id}=...: the template has no function or layer {logical_id}"
            )
    api_lid = choose_api(stack, api)
    layers = layer_folders(stack, code)
    functions = {
        lid: build_function(stack, lid, code, layers)
        for lid in stack.of_type("AWS::Lambda::Function")
    }
    served = build_api(stack, api_lid, stage)
    served.api.functions = {f.name: f for f in functions.values()}
    tables = [build_table(stack, lid) for lid in stack.of_type(*TABLE_TYPES)]
    services = [
        ServiceResource(lid, stack.type_of(lid), stack.name(lid), stack.properties(lid))
        for lid in stack.of_type(*SERVICE_TYPES)
    ]
    handled = {
        *functions,
        *served.used,
        *(t.logical_id for t in tables),
        *(s.logical_id for s in services),
    }
    handled.update(stack.of_type("AWS::Lambda::LayerVersion"))  # on their functions' import paths
    app = App(
        template_path=stack.source.path,
        stack_name=stack.stack_name,
        region=stack.region,
        account_id=stack.account_id,
        api_logical_id=api_lid,
        api=served.api,
        stage=served.stage,
        stage_variables=served.stage_variables,
        functions_by_logical_id={lid: f.name for lid, f in functions.items()},
        tables=tables,
        service_resources=services,
        resources={lid: _physical_id(stack, lid) for lid in stack.resources},
        outputs=_outputs(stack),
        not_emulated=[
            _not_emulated(stack, lid, served, api_lid)
            for lid in stack.resources
            if lid not in handled
        ],
    )
    _check_permissions(stack, served, functions)
    app.warnings = [*runtime_warnings(stack, functions), *stack.warnings]
    return app


def _physical_id(stack: Stack, logical_id: str) -> str:
    # What DescribeStackResources calls the physical id is, for most types, Ref's value.
    if stack.type_of(logical_id) in RULES:
        return str(stack.ref(logical_id, stack.where(logical_id)))
    return stack.name(logical_id)


def _outputs(stack: Stack) -> dict[str, str]:
    outputs: dict[str, str] = {}
    for name, output in stack.outputs_section.items():
        where = stack.source.where(f"Outputs.{name}")
        if not isinstance(output, dict) or "Value" not in output:
            raise where.error("an output needs a Value")
        if "Condition" in output and not stack.condition(str(output["Condition"]), where):
            continue
        value = stack.resolve(output["Value"], where)
        if value is NO_VALUE:
            continue
        # Outputs are strings; a list (Fn::GetAZs, a list parameter) is shown comma-separated.
        items = value if isinstance(value, list) else [value]
        outputs[str(name)] = ",".join(stringify(v, where, "an output's Value") for v in items)
    return outputs


def _not_emulated(stack: Stack, logical_id: str, served: ServedApi, api_lid: str) -> NotEmulated:
    type_ = stack.type_of(logical_id)
    note = NOTES.get(type_, "")
    if type_.startswith("AWS::ApiGatewayV2::"):
        if str(stack.prop(logical_id, "ApiId")) != served.api.api_id:
            note = f"only the WebSocket API {api_lid} is served"
        elif type_ == "AWS::ApiGatewayV2::Stage":
            note = f"only stage {served.stage} is served"
        else:
            note = "this part of the API is not emulated"
    elif type_.startswith("AWS::ApiGateway::"):
        note = NOTES["AWS::ApiGateway::RestApi"]
    return NotEmulated(logical_id, type_, note)


def _check_permissions(stack: Stack, served: ServedApi, functions: Mapping[str, Any]) -> None:
    """Warn about called functions that API Gateway would not be allowed to invoke."""
    partition = stack.pseudo["AWS::Partition"]
    base = f"arn:{partition}:execute-api:{stack.region}:{stack.account_id}:{served.api.api_id}"
    calls: dict[str, list[str]] = {lid: [] for lid in served.invoked}
    names = {f.name: lid for lid, f in functions.items()}
    for route in served.api.routes.values():
        calls[names[route.function]].append(f"{base}/{served.stage}/{route.key}")
    for lid in stack.of_type("AWS::ApiGatewayV2::Authorizer"):
        if lid in served.used:
            # An authorizer is invoked as {api}/authorizers/{authorizerId}.
            uri = str(stack.prop(lid, "AuthorizerUri"))
            name = function_name_of_arn(uri.split("functions/")[-1].removesuffix("/invocations"))
            if name in names:
                calls[names[name]].append(f"{base}/authorizers/{stack.name(lid)}")
    allowed: set[tuple[str, str]] = set()
    for lid in stack.of_type("AWS::Lambda::Permission"):
        props = stack.properties(lid)
        principal = str(props.get("Principal", ""))
        if principal != "apigateway.amazonaws.com" or props.get("Action") not in (
            "lambda:InvokeFunction",
            "lambda:*",
        ):
            continue
        target = str(props.get("FunctionName", ""))
        name = function_name_of_arn(target) or target.split(":")[0]
        allowed.add((name, str(props.get("SourceArn", "*"))))
    for lid, arns in calls.items():
        name = functions[lid].name
        patterns = [pattern for who, pattern in allowed if who == name]
        if not any(fnmatch.fnmatchcase(arn, pattern) for arn in arns for pattern in patterns):
            stack.warnings.append(
                stack.where(lid).note(
                    "no AWS::Lambda::Permission lets apigateway.amazonaws.com invoke this function "
                    f'from API {served.api.name}: on AWS its routes would answer "Internal server error"; '
                    "the local gateway runs it anyway"
                )
            )
