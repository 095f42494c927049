"""Exercise of ``01_websocket-api``: add a route to the WebSocket API with boto3.

Write ``add_route(apigw, api_id, route_key, integration_id)``: give the API a route with the
key ``route_key`` whose target is the integration, and return the route's id. Call it twice
and there is still one route: API Gateway refuses a second route with the same key
(``ConflictException``), and moto would quietly make a duplicate, so look before you create.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wsrelay.exercises.core import Exercise, Incorrect, call

__all__ = ["ROUTE_KEY", "add_route", "q1"]

#: The route the checker asks for: a "typing…" indicator a chat might add.
ROUTE_KEY = "typing"

Answer = Callable[[Any, str, str, str], object]


def add_route(apigw: Any, api_id: str, route_key: str, integration_id: str) -> Any:
    """Model answer: the route to the integration, created once (found the second time)."""
    for page in apigw.get_paginator("get_routes").paginate(ApiId=api_id):
        for route in page["Items"]:
            if route["RouteKey"] == route_key:
                return route["RouteId"]  # there already: AWS refuses a duplicate key
    route = apigw.create_route(
        ApiId=api_id, RouteKey=route_key, Target=f"integrations/{integration_id}"
    )
    return route["RouteId"]


def _routes(apigw: Any, api_id: str) -> list[dict[str, Any]]:
    return [r for p in apigw.get_paginator("get_routes").paginate(ApiId=api_id) for r in p["Items"]]


def _check(answer: Answer) -> None:
    from wsrelay.workbook import LocalAws

    with LocalAws() as aws:  # a server of its own: the notebook's API is not touched
        apigw = aws.client("apigatewayv2")
        api_id = apigw.create_api(
            Name="exercise-01",
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression="$request.body.action",
        )["ApiId"]
        uri = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:chat/invocations"
        integration = apigw.create_integration(
            ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationUri=uri
        )["IntegrationId"]
        for key in ("$connect", "$disconnect", "$default", "sendmessage"):
            apigw.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integration}")
        shown = f'add_route(apigw, api_id, "{ROUTE_KEY}", "{integration}")'
        first = call(answer, apigw, api_id, ROUTE_KEY, integration, what=shown)
        after_first = _routes(apigw, api_id)
        second = call(answer, apigw, api_id, ROUTE_KEY, integration, what=f"{shown}, again,")
        after_second = _routes(apigw, api_id)
    mine = [r for r in after_first if r["RouteKey"] == ROUTE_KEY]
    if not mine:
        keys = sorted(r["RouteKey"] for r in after_first)
        raise Incorrect(
            f"after {shown} the API's routes are {keys}: create the route with "
            f"apigw.create_route(ApiId=…, RouteKey=…, Target=…)"
        )
    (route,) = mine[:1]
    target = route.get("Target")
    if not target:
        raise Incorrect(
            f"the route {ROUTE_KEY!r} has no Target, so API Gateway has nowhere to send its "
            f'frames: set Target="integrations/{integration}"'
        )
    if target != f"integrations/{integration}":
        raise Incorrect(
            f"the route's Target is {target!r}: a route names its integration as "
            f'"integrations/{{IntegrationId}}", here "integrations/{integration}"'
        )
    if first != route["RouteId"]:
        raise Incorrect(f"{shown} returned {first!r}: return the new route's RouteId")
    if sum(r["RouteKey"] == ROUTE_KEY for r in after_second) > 1:
        raise Incorrect(
            f"called twice, it made two {ROUTE_KEY!r} routes. moto allows that; AWS answers "
            "ConflictException. Look first (get_routes) and return the route that exists"
        )
    if second != first:
        raise Incorrect(f"called again it returned {second!r}: return the existing {first!r}")


q1 = Exercise(
    title="add_route(apigw, api_id, route_key, integration_id)",
    checker=_check,
    hints=(
        "A route is a key and a target: the key is what a frame's `action` must say, the "
        "target is the integration that calls Lambda. Look before you create: API Gateway "
        "refuses a second route with the same key.",
        "`apigw.get_routes(ApiId=…)` lists the routes (`Items`, each with `RouteKey` and "
        "`RouteId`); `apigw.create_route(ApiId=…, RouteKey=…, Target=…)` makes one and "
        "returns its `RouteId`. A target names an integration as `integrations/{id}`.",
        "Shape: for each route the API has, if its key is `route_key`, return its id; after "
        "the loop, create the route and return the new id.",
    ),
    reference=add_route,
)
