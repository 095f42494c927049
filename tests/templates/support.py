"""Small templates for the reader's unit tests, built as dicts (and written as JSON or YAML)."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wsrelay.local.templates import App, load_app
from wsrelay.local.templates.parameters import resolve_parameters
from wsrelay.local.templates.source import Source
from wsrelay.local.templates.stack import Stack

#: The running Python as a Lambda runtime, so tests see no runtime warning unless they ask.
LOCAL_RUNTIME = f"python3.{sys.version_info.minor}"
REGION = "us-east-1"
ACCOUNT = "123456789012"

_INLINE = "def handler(event, context):\n    return {'statusCode': 200}\n"

BASE: dict[str, Any] = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Resources": {
        "Api": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {
                "Name": "test-api",
                "ProtocolType": "WEBSOCKET",
                "RouteSelectionExpression": "$request.body.action",
            },
        },
        "Fn": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": LOCAL_RUNTIME,
                "Handler": "index.handler",
                "Role": "arn:aws:iam::123456789012:role/test",
                "Code": {"ZipFile": _INLINE},
            },
        },
        "Integration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": {"Ref": "Api"},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": {
                    "Fn::Sub": "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"
                },
            },
        },
        "Route": {
            "Type": "AWS::ApiGatewayV2::Route",
            "Properties": {
                "ApiId": {"Ref": "Api"},
                "RouteKey": "$default",
                "Target": {"Fn::Sub": "integrations/${Integration}"},
            },
        },
        "Permission": {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "Action": "lambda:InvokeFunction",
                "FunctionName": {"Ref": "Fn"},
                "Principal": "apigateway.amazonaws.com",
            },
        },
        "Stage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {"ApiId": {"Ref": "Api"}, "StageName": "dev", "AutoDeploy": True},
        },
    },
}


def base(**resources: Any) -> dict[str, Any]:
    """A deep copy of :data:`BASE` with resources added, replaced, or removed (``None``)."""
    template = copy.deepcopy(BASE)
    for logical_id, resource in resources.items():
        if resource is None:
            template["Resources"].pop(logical_id, None)
        else:
            template["Resources"][logical_id] = resource
    return template


def function(**properties: Any) -> dict[str, Any]:
    """An ``AWS::Lambda::Function`` like :data:`BASE`'s, with properties changed (``None`` removes)."""
    resource = copy.deepcopy(BASE["Resources"]["Fn"])
    for key, value in properties.items():
        if value is None:
            resource["Properties"].pop(key, None)
        else:
            resource["Properties"][key] = value
    return resource


def write(folder: Path, template: Mapping[str, Any] | str, name: str = "template.json") -> Path:
    """Write a template (a dict as JSON, a string as it is) and return its path."""
    path = folder / name
    path.write_text(template if isinstance(template, str) else json.dumps(template, indent=1))
    return path


def app_of(folder: Path, template: Mapping[str, Any] | str, **options: Any) -> App:
    """Write a template into ``folder`` and load it with :func:`load_app`."""
    return load_app(write(folder, template), **options)


def stack_of(
    template: Mapping[str, Any],
    parameters: Mapping[str, str] | None = None,
    *,
    stack_name: str = "test",
) -> Stack:
    """A :class:`Stack` of a template dict, without a file, SAM or cfn-lint's decoder."""
    source = Source(Path("template.json"), "template.json", dict(template))
    for logical_id, resource in template.get("Resources", {}).items():
        source.types[logical_id] = resource["Type"]
    values = resolve_parameters(template.get("Parameters") or {}, parameters, source.where)
    return Stack(source, template, values, stack_name=stack_name, region=REGION, account_id=ACCOUNT)


def resolved(
    value: Any,
    template: Mapping[str, Any] | None = None,
    parameters: Mapping[str, str] | None = None,
) -> Any:
    """``value`` resolved as a property of a resource ``Probe`` added to ``template`` (or BASE).

    Returns ``None`` when the value resolves to ``AWS::NoValue`` (the property is removed).
    """
    probe = copy.deepcopy(dict(template or BASE))
    probe["Resources"] = dict(probe["Resources"])
    probe["Resources"]["Probe"] = {"Type": "AWS::SSM::Parameter", "Properties": {"Value": value}}
    return stack_of(probe, parameters).prop("Probe", "Value")
