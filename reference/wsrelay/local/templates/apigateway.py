"""The WebSocket API of a template: ``AWS::ApiGatewayV2::*`` resources as an :class:`ApiDefinition`.

One ``AWS::ApiGatewayV2::Api`` with ``ProtocolType: WEBSOCKET`` is served, with its
``RouteSelectionExpression``. Each ``Route`` whose ``ApiId`` is that API's id gives its
``RouteKey``; its ``Target`` (``integrations/{id}``) leads to an ``Integration``, which must
be ``AWS_PROXY`` to a Lambda function of the template; ``AuthorizationType: CUSTOM`` with an
``AuthorizerId`` leads to a ``REQUEST`` ``Authorizer``. A ``RouteResponse`` with
``RouteResponseKey: $default`` makes its route two-way: "API Gateway will not pass the
backend response through to the route response, unless you set up a route response"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-response.html);
a ``RouteResponseSelectionExpression`` alone does not. The ``Stage`` gives the stage name
and its variables; ``Deployment`` resources are accepted (the local gateway always serves
the routes as the template defines them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from wsrelay.aws_facts import CONNECT_ROUTE, DEFAULT_ROUTE
from wsrelay.local.api import ApiDefinition, Authorizer, Route
from wsrelay.local.templates.source import Where
from wsrelay.local.templates.stack import Stack
from wsrelay.local.templates.syntax import stringify

__all__ = ["ServedApi", "build_api", "choose_api", "function_name_of_arn"]

_INVOCATION = re.compile(r"functions/(?P<arn>arn:[^/]+)/invocations")
_FUNCTION_ARN = re.compile(r"arn:[^:]+:lambda:[^:]*:[^:]*:function:(?P<name>[^:/]+)(?::[^:/]+)?")

_REFUSED_INTEGRATIONS = {
    "HTTP": "forwards the frame to an HTTP backend through request and response templates",
    "HTTP_PROXY": "forwards the frame to an HTTP backend",
    "MOCK": "answers from API Gateway's own templates without calling a backend",
    "AWS": "calls a service through request and response mapping templates (non-proxy)",
}


@dataclass
class ServedApi:
    """What :func:`build_api` found: the definition and the resources it used.

    Attributes:
        api: the routes and their functions (``functions`` is filled by the caller).
        stage: the stage served.
        stage_variables: its ``StageVariables``.
        used: the logical ids of the API's routes, integrations, authorizers, route
            responses, stages and deployments.
        invoked: logical ids of the functions routes and authorizers call.
    """

    api: ApiDefinition
    stage: str
    stage_variables: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    invoked: set[str] = field(default_factory=set)


def choose_api(stack: Stack, api: str | None) -> str:
    """The logical id of the WebSocket API to serve.

    Raises:
        TemplateError: none, several without ``api``, or ``api`` is not one of them.
    """
    websockets = [
        lid
        for lid in stack.of_type("AWS::ApiGatewayV2::Api")
        if str(stack.prop(lid, "ProtocolType")).upper() == "WEBSOCKET"
    ]
    whole = stack.source.where()
    if api is not None:
        if api not in websockets:
            raise whole.error(
                f"--api {api}: the template's WebSocket APIs are {', '.join(websockets) or 'none'}"
            )
        return api
    if not websockets:
        raise whole.error(
            "has no AWS::ApiGatewayV2::Api with ProtocolType WEBSOCKET: the local gateway serves WebSocket APIs"
        )
    if len(websockets) > 1:
        raise whole.error(
            f"has {len(websockets)} WebSocket APIs ({', '.join(websockets)}): choose one with --api LOGICAL_ID"
        )
    return websockets[0]


def function_name_of_arn(arn: str) -> str | None:
    """A function's name from its ARN, or an alias's or version's ARN; ``None`` otherwise."""
    match = _FUNCTION_ARN.fullmatch(arn)
    return match.group("name") if match else None


def _function(stack: Stack, uri: str, names: dict[str, str], where: Where) -> str:
    """The logical id of the template function an integration or authorizer URI calls."""
    invocation = _INVOCATION.search(uri)
    name = function_name_of_arn(invocation.group("arn") if invocation else uri)
    if name is None:
        raise where.error(f"URI {uri} does not invoke a Lambda function")
    if name not in names:
        raise where.error(
            f"URI {uri} invokes function {name}, which is not in this template: the local gateway runs the template's own functions"
        )
    return names[name]


def build_api(stack: Stack, api_lid: str, stage: str | None) -> ServedApi:
    """The routes, authorizers and stage of one WebSocket API.

    Args:
        stack: the resolved stack.
        api_lid: the API's logical id (from :func:`choose_api`).
        stage: the caller's stage, which chooses among the template's stages or renames
            its one stage; ``None`` takes the template's one stage.

    Raises:
        TemplateError: an integration other than AWS_PROXY to a template function, a route
            without a target, AWS_IAM authorization, an authorizer other than REQUEST, no
            stage (or several without ``stage``).
    """
    api_id = stack.name(api_lid)

    def mine(lid: str) -> bool:
        return str(stack.prop(lid, "ApiId")) == api_id

    functions = {stack.name(lid): lid for lid in stack.of_type("AWS::Lambda::Function")}
    served = ServedApi(ApiDefinition(name="", routes={}, functions={}), stage="", used={api_lid})
    integrations = {
        stack.name(lid): lid for lid in stack.of_type("AWS::ApiGatewayV2::Integration") if mine(lid)
    }
    authorizers = {
        stack.name(lid): lid for lid in stack.of_type("AWS::ApiGatewayV2::Authorizer") if mine(lid)
    }
    routes = [lid for lid in stack.of_type("AWS::ApiGatewayV2::Route") if mine(lid)]
    two_way = {
        str(stack.prop(lid, "RouteId"))
        for lid in stack.of_type("AWS::ApiGatewayV2::RouteResponse")
        if mine(lid) and stack.prop(lid, "RouteResponseKey") == DEFAULT_ROUTE
    }
    for lid in routes:
        where = stack.where(lid)
        key = str(stack.prop(lid, "RouteKey"))
        if key in served.api.routes:
            # API Gateway refuses a second route with the same key (ConflictException).
            raise where.error(f"route key {key} is taken by another route of this API")
        target = stack.prop(lid, "Target")
        match = re.fullmatch(r"integrations/(.+)", str(target)) if target else None
        if match is None or match.group(1) not in integrations:
            raise where.error(
                f"route {key} has Target {target!r}, not integrations/{{id}} of an integration of this API: "
                "give it Target: !Sub integrations/${MyIntegration}"
            )
        integration = integrations[match.group(1)]
        _check_integration(stack, integration)
        function_lid = _function(
            stack,
            str(stack.prop(integration, "IntegrationUri")),
            functions,
            stack.where(integration),
        )
        auth = str(stack.prop(lid, "AuthorizationType") or "NONE")
        authorizer = None
        if auth == "AWS_IAM":
            raise where.error(
                "AuthorizationType AWS_IAM: the local gateway does not check clients' SigV4 signatures — "
                "use a REQUEST authorizer (AuthorizationType CUSTOM) or NONE locally"
            )
        if auth == "CUSTOM":
            if key != CONNECT_ROUTE:
                raise where.error(
                    "AuthorizationType CUSTOM: WebSocket APIs authorize only the $connect route"
                )
            authorizer_id = str(stack.prop(lid, "AuthorizerId"))
            if authorizer_id not in authorizers:
                raise where.error(f"AuthorizerId {authorizer_id} is not an authorizer of this API")
            authorizer, authorizer_function = _authorizer(
                stack, authorizers[authorizer_id], functions
            )
            served.invoked.add(authorizer_function)
            served.used.add(authorizers[authorizer_id])
        elif auth != "NONE":
            raise where.error(
                f"AuthorizationType {auth}: WebSocket APIs take NONE, CUSTOM or AWS_IAM"
            )
        served.api.routes[key] = Route(
            key=key,
            function=stack.name(function_lid),
            two_way=stack.name(lid) in two_way,
            authorizer=authorizer,
        )
        served.invoked.add(function_lid)
        served.used.update({lid, integration})
    # The API's other parts are served with it (an integration no route uses changes nothing).
    served.used.update(integrations.values())
    served.used.update(authorizers.values())
    served.used.update(
        lid
        for lid in stack.of_type(
            "AWS::ApiGatewayV2::RouteResponse", "AWS::ApiGatewayV2::Deployment"
        )
        if mine(lid)
    )
    served.stage, served.stage_variables, stage_lids = _stage(
        stack, [lid for lid in stack.of_type("AWS::ApiGatewayV2::Stage") if mine(lid)], stage
    )
    served.used.update(stage_lids)
    served.api.name = str(stack.prop(api_lid, "Name") or api_lid)
    served.api.route_selection_expression = str(
        stack.prop(api_lid, "RouteSelectionExpression") or "$request.body.action"
    )
    served.api.api_id = api_id
    return served


def _check_integration(stack: Stack, lid: str) -> None:
    where = stack.where(lid)
    kind = str(stack.prop(lid, "IntegrationType"))
    if kind in _REFUSED_INTEGRATIONS:
        raise where.error(
            f"IntegrationType {kind} {_REFUSED_INTEGRATIONS[kind]}; the local gateway runs only Lambda "
            "proxy integrations (AWS_PROXY) — put a Lambda function behind this route, or test it on AWS"
        )
    if kind != "AWS_PROXY":
        raise where.error(f"IntegrationType {kind} is not one API Gateway knows for WebSocket APIs")


def _authorizer(stack: Stack, lid: str, functions: dict[str, str]) -> tuple[Authorizer, str]:
    where = stack.where(lid)
    kind = str(stack.prop(lid, "AuthorizerType"))
    if kind != "REQUEST":
        raise where.error(f"AuthorizerType {kind}: WebSocket APIs take REQUEST Lambda authorizers")
    function_lid = _function(stack, str(stack.prop(lid, "AuthorizerUri")), functions, where)
    sources = stack.prop(lid, "IdentitySource") or []
    sources = [s.strip() for s in sources.split(",")] if isinstance(sources, str) else sources
    return (
        Authorizer(
            function=stack.name(function_lid),
            identity_sources=tuple(stringify(s, where, "an IdentitySource") for s in sources),
            name=str(stack.prop(lid, "Name") or lid),
        ),
        function_lid,
    )


def _stage(
    stack: Stack, lids: list[str], chosen: str | None
) -> tuple[str, dict[str, str], list[str]]:
    by_name = {str(stack.prop(lid, "StageName")): lid for lid in lids}
    whole = stack.source.where()
    if chosen is not None and chosen in by_name:
        lid: str | None = by_name[chosen]
    elif len(lids) == 1:
        lid = lids[0]
    elif not lids:
        if chosen is None:
            raise whole.error(
                "has no AWS::ApiGatewayV2::Stage for the WebSocket API: add one, or give a stage with --stage NAME"
            )
        lid = None
    else:
        names = ", ".join(sorted(by_name))
        raise whole.error(
            f"has {len(lids)} stages ({names}) for the WebSocket API: choose one with --stage NAME"
        )
    if lid is None:
        return str(chosen), {}, []
    variables = stack.prop(lid, "StageVariables") or {}
    where = stack.where(lid)
    resolved = {str(k): stringify(v, where, f"stage variable {k}") for k, v in variables.items()}
    return (chosen or str(stack.prop(lid, "StageName"))), resolved, [lid]
