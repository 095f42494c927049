"""The API a local gateway serves: routes, the functions behind them, an authorizer.

An :class:`ApiDefinition` is what the gateway needs from an API Gateway v2 WebSocket API:
the route selection expression, each route's function (its ``Handler`` setting, environment
and timeout), whether the route is two-way, and a ``$connect`` authorizer. It comes from
:meth:`ApiDefinition.default` (the workbook's chat API), or is read back from an API created
in API Gateway v2 (moto or AWS) with :meth:`ApiDefinition.from_apigatewayv2`: routes →
integrations → Lambda functions → their ``Handler`` strings.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_HANDLER", "ApiDefinition", "Authorizer", "Function", "Route"]

DEFAULT_HANDLER = "wsrelay.handlers.lambda_handler"
CHAT_ROUTES = ("$connect", "$disconnect", "$default", "sendmessage", "joinroom")


@dataclass(frozen=True)
class Function:
    """A Lambda function: what runs, with which environment, for how long at most."""

    name: str
    handler: str
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 29.0


@dataclass(frozen=True)
class Authorizer:
    """A Lambda ``REQUEST`` authorizer on ``$connect``.

    ``identity_sources`` such as ``route.request.querystring.token`` or
    ``route.request.header.Auth``: when one is missing, the handshake gets 401 without
    calling the function.
    """

    function: str
    identity_sources: tuple[str, ...] = ()
    name: str = "authorizer"


@dataclass(frozen=True)
class Route:
    """A route key, the function its integration calls, and its options."""

    key: str
    function: str
    two_way: bool = False
    authorizer: Authorizer | None = None


@dataclass
class ApiDefinition:
    """A WebSocket API: its routes and the functions behind them."""

    name: str
    routes: dict[str, Route]
    functions: dict[str, Function]
    route_selection_expression: str = "$request.body.action"
    api_id: str = "local"

    @classmethod
    def default(cls, table_name: str, *, handler: str = DEFAULT_HANDLER) -> ApiDefinition:
        """The workbook's chat API: five routes, one function, ``CONNECTIONS_TABLE`` set."""
        function = Function(
            name="wsrelay-chat", handler=handler, environment={"CONNECTIONS_TABLE": table_name}
        )
        routes = {key: Route(key=key, function=function.name) for key in CHAT_ROUTES}
        return cls(name="wsrelay-chat", routes=routes, functions={function.name: function})

    @classmethod
    def from_apigatewayv2(cls, apigatewayv2: Any, lambda_client: Any, api_id: str) -> ApiDefinition:
        """Read a WebSocket API back from API Gateway v2 and Lambda (moto or AWS).

        Follows each route's ``Target`` (``integrations/{id}``) to its integration, the
        integration's ``IntegrationUri`` to a Lambda function, and the function's
        configuration to its ``Handler``, environment and timeout.

        Raises:
            ValueError: a route has no target, or its integration does not call Lambda.
        """
        api = apigatewayv2.get_api(ApiId=api_id)
        integrations = {
            i["IntegrationId"]: i for i in _all(apigatewayv2.get_integrations, ApiId=api_id)
        }
        functions: dict[str, Function] = {}

        def function_for(uri: str) -> str:
            arn = _function_arn(uri)
            config = lambda_client.get_function_configuration(FunctionName=arn)
            name = config["FunctionName"]
            if name not in functions:
                functions[name] = Function(
                    name=name,
                    handler=config["Handler"],
                    environment=config.get("Environment", {}).get("Variables", {}),
                    # API Gateway gives up after 29 s whatever the function's own timeout.
                    timeout=min(float(config.get("Timeout", 3)), 29.0),
                )
            return str(name)

        routes: dict[str, Route] = {}
        for item in _all(apigatewayv2.get_routes, ApiId=api_id):
            key = item["RouteKey"]
            target = item.get("Target", "")
            integration = integrations.get(target.removeprefix("integrations/"))
            if integration is None:
                raise ValueError(
                    f"route {key} has no integration (Target={target!r}): add one before serving"
                )
            authorizer = None
            if item.get("AuthorizerId"):
                spec = apigatewayv2.get_authorizer(ApiId=api_id, AuthorizerId=item["AuthorizerId"])
                authorizer = Authorizer(
                    function=function_for(spec["AuthorizerUri"]),
                    identity_sources=tuple(spec.get("IdentitySource", [])),
                    name=spec.get("Name", "authorizer"),
                )
            routes[key] = Route(
                key=key,
                function=function_for(integration["IntegrationUri"]),
                two_way=bool(item.get("RouteResponseSelectionExpression")),
                authorizer=authorizer,
            )
        return cls(
            name=api["Name"],
            routes=routes,
            functions=functions,
            route_selection_expression=api.get("RouteSelectionExpression", "$request.body.action"),
            api_id=api_id,
        )


_LAMBDA_URI = re.compile(r"functions/(?P<arn>arn:[^/]+)/invocations")


def _function_arn(uri: str) -> str:
    """The function ARN inside an integration URI (or the URI itself if it is an ARN)."""
    match = _LAMBDA_URI.search(uri)
    if match:
        return match.group("arn")
    if uri.startswith("arn:aws:lambda:"):
        return uri
    raise ValueError(f"integration URI {uri!r} does not call a Lambda function")


def _all(operation: Any, **kwargs: Any) -> list[dict[str, Any]]:
    """Every item of a paginated apigatewayv2 list call (``NextToken``)."""
    items: list[dict[str, Any]] = []
    while True:
        page = operation(**kwargs)
        items.extend(page.get("Items", []))
        token = page.get("NextToken")
        if not token:
            return items
        kwargs["NextToken"] = token
