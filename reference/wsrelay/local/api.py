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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsrelay.aws_facts import (
    CONNECT_ROUTE,
    DEFAULT_ROUTE,
    DISCONNECT_ROUTE,
    INTEGRATION_TIMEOUT_SECONDS,
)

__all__ = ["DEFAULT_HANDLER", "ApiDefinition", "Authorizer", "Function", "Route"]

DEFAULT_HANDLER = "wsrelay.handlers.lambda_handler"
CHAT_ROUTES = (CONNECT_ROUTE, DISCONNECT_ROUTE, DEFAULT_ROUTE, "sendmessage", "joinroom")


@dataclass(frozen=True)
class Function:
    """A Lambda function: what runs, with which environment, for how long at most.

    Attributes:
        name: the function's name (``AWS_LAMBDA_FUNCTION_NAME``).
        handler: its ``Handler`` setting, ``module.function``.
        environment: its own environment variables (``Environment.Variables``).
        timeout: its own timeout in seconds (Lambda's ``Timeout``). API Gateway stops
            waiting after 29 s whatever this is; the function runs on to its own timeout.
        memory_size: ``MemorySize`` in MB, reported by the context and the environment.
        runtime: ``Runtime`` (``python3.12``); ``None`` means the local Python.
        code_dir: the folder its code is in (``LAMBDA_TASK_ROOT``), first on its import
            path; ``None`` runs it on the gateway's own import path (handlers of this
            package, or of a test's or notebook's folder).
        layers: folders added to the import path after ``code_dir`` (a layer's ``python/``).
        reserved_concurrency: ``ReservedConcurrentExecutions``: at most this many
            environments, and throttling past them, as Lambda does; ``None``: the
            gateway's own limit.
        logging: ``LoggingConfig`` (``ApplicationLogLevel``, ``LogFormat``, …).
        logical_id: the template's logical id, when it came from a template.
        requirements: the requirements file beside its code, named when an import fails.
    """

    name: str
    handler: str
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout: float = INTEGRATION_TIMEOUT_SECONDS
    memory_size: int = 128
    runtime: str | None = None
    code_dir: Path | None = None
    layers: tuple[Path, ...] = ()
    reserved_concurrency: int | None = None
    logging: Mapping[str, str] = field(default_factory=dict)
    logical_id: str | None = None
    requirements: Path | None = None


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
    def from_apigatewayv2(
        cls,
        apigatewayv2: Any,
        lambda_client: Any,
        api_id: str,
        *,
        code: Callable[[str, Mapping[str, Any]], Path | None] | None = None,
    ) -> ApiDefinition:
        """Read a WebSocket API back from API Gateway v2 and Lambda (moto or AWS).

        Follows each route's ``Target`` (``integrations/{id}``) to its integration, the
        integration's ``IntegrationUri`` to a Lambda function, and the function
        (``GetFunction``) to its handler, environment, timeout, memory size, runtime,
        reserved concurrency and logging configuration. A route is two-way when it has a
        ``$default`` route response (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-response.html);
        where the route responses cannot be listed (moto does not implement it), a
        ``RouteResponseSelectionExpression`` is taken as the sign instead.

        Args:
            code: (function name, ``GetFunction``'s answer) → the folder of the function's
                deployed code; ``None`` runs handlers from the gateway's own import path.

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
            found = lambda_client.get_function(FunctionName=arn)
            config = found["Configuration"]
            name = str(config["FunctionName"])
            if name not in functions:
                concurrency = found.get("Concurrency", {}).get("ReservedConcurrentExecutions")
                functions[name] = Function(
                    name=name,
                    handler=config["Handler"],
                    environment=config.get("Environment", {}).get("Variables", {}),
                    timeout=float(config.get("Timeout", 3)),
                    memory_size=int(config.get("MemorySize", 128)),
                    runtime=config.get("Runtime"),
                    code_dir=code(name, found) if code is not None else None,
                    reserved_concurrency=concurrency,
                    logging=config.get("LoggingConfig", {}),
                )
            return name

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
                two_way=_two_way(apigatewayv2, api_id, item),
                authorizer=authorizer,
            )
        return cls(
            name=api["Name"],
            routes=routes,
            functions=functions,
            route_selection_expression=api.get("RouteSelectionExpression", "$request.body.action"),
            api_id=api_id,
        )


def _two_way(apigatewayv2: Any, api_id: str, route: Mapping[str, Any]) -> bool:
    """Whether the route has a ``$default`` route response (see ``from_apigatewayv2``).

    AWS's two-way setup sets the route's ``RouteResponseSelectionExpression`` and creates
    the ``$default`` route response, so only such a route is asked for its responses.
    """
    if not route.get("RouteResponseSelectionExpression"):
        return False
    try:
        responses = _all(apigatewayv2.get_route_responses, ApiId=api_id, RouteId=route["RouteId"])
    except Exception:  # moto: "The get_route_responses action has not been implemented"
        return True
    return any(r.get("RouteResponseKey") == DEFAULT_ROUTE for r in responses)


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
