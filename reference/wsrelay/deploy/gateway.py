"""The deploy steps of the API Gateway side: API, invoke permission, integration, routes, stage.

Each function finds before it creates, because API Gateway and moto accept duplicates that
would each cost or confuse: any number of APIs of one name (AWS and moto), and in moto also
duplicate route keys, stages and permission statement ids. The API is found by the stack's
tags, the rest inside it: the AWS_PROXY integration by its URI, routes by route key, the
stage by name, the permission by its statement id.
"""

from __future__ import annotations

from typing import Any

from wsrelay.deploy.aws import Clients, DeployError, Progress, find_apis, function_policy, step
from wsrelay.deploy.stack import (
    INVOKE_PRINCIPAL,
    ROUTE_SELECTION_EXPRESSION,
    ROUTES,
    STAGE_THROTTLING,
    StackNames,
)

__all__ = ["ensure_api", "ensure_integration", "ensure_permission", "ensure_routes", "ensure_stage"]


def ensure_api(clients: Clients, names: StackNames, progress: Progress) -> dict[str, Any]:
    """Find the stack's WebSocket API by its tags, or create it; return its description.

    Raises:
        DeployError: more than one API carries the stack's tags, or a call failed.
    """
    v2 = clients.apigatewayv2
    with step(f"look up the API tagged with stack {names.prefix}"):
        apis = find_apis(clients, names)
    if len(apis) > 1:
        raise DeployError(
            "look up the WebSocket API",
            f"{len(apis)} APIs carry this stack's tags: {', '.join(a.ident for a in apis)}",
            "run `wsrelay destroy` to remove them all, then deploy again",
            code="Ambiguous",
        )
    if apis:
        api = apis[0].details
        if api.get("RouteSelectionExpression") == ROUTE_SELECTION_EXPRESSION:
            progress.exists("API", names.api, api["ApiId"])
            return api
        with step(f"update API {names.api}"):
            v2.update_api(ApiId=api["ApiId"], RouteSelectionExpression=ROUTE_SELECTION_EXPRESSION)
        progress.updated("API", names.api, "route selection expression")
        return api
    with step(f"create API {names.api}"):
        created = v2.create_api(
            Name=names.api,
            ProtocolType="WEBSOCKET",
            RouteSelectionExpression=ROUTE_SELECTION_EXPRESSION,
            Description=f"wsrelay chat, stack {names.prefix}",
            Tags=names.tags,
        )
    progress.created("API", names.api, created["ApiId"])
    return dict(created)


def ensure_permission(
    clients: Clients, names: StackNames, source_arn: str, progress: Progress
) -> None:
    """Let API Gateway invoke the function, from ``source_arn`` only.

    Without this statement every route answers "Internal server error". A statement that
    names another API (one since deleted) is replaced.
    """
    lam = clients.lambda_
    with step(f"allow API Gateway to invoke function {names.function}"):
        statements = function_policy(clients, names.function)
        mine = next((s for s in statements if s.get("Sid") == names.statement_id), None)
        condition = (mine or {}).get("Condition", {}).get("ArnLike", {})
        if mine is not None and condition.get("AWS:SourceArn") == source_arn:
            progress.exists("permission", names.statement_id)
            return
        if mine is not None:
            lam.remove_permission(FunctionName=names.function, StatementId=names.statement_id)
        lam.add_permission(
            FunctionName=names.function,
            StatementId=names.statement_id,
            Action="lambda:InvokeFunction",
            Principal=INVOKE_PRINCIPAL,
            SourceArn=source_arn,
        )
    if mine is None:
        progress.created("permission", names.statement_id, source_arn)
    else:
        progress.updated("permission", names.statement_id, source_arn)


def ensure_integration(
    clients: Clients, names: StackNames, api_id: str, uri: str, progress: Progress
) -> str:
    """Find or create the API's Lambda proxy integration to ``uri``; return its id."""
    v2 = clients.apigatewayv2
    with step(f"create the Lambda integration of API {api_id}"):
        for page in v2.get_paginator("get_integrations").paginate(ApiId=api_id):
            for item in page.get("Items", []):
                if item.get("IntegrationType") == "AWS_PROXY" and item.get("IntegrationUri") == uri:
                    progress.exists("integration", item["IntegrationId"])
                    return item["IntegrationId"]
        created = v2.create_integration(
            ApiId=api_id, IntegrationType="AWS_PROXY", IntegrationMethod="POST", IntegrationUri=uri
        )
    progress.created("integration", created["IntegrationId"], f"AWS_PROXY to {names.function}")
    return created["IntegrationId"]


def ensure_routes(clients: Clients, api_id: str, target: str, progress: Progress) -> None:
    """Give the API every route of ``ROUTES``, each targeting ``target`` (``integrations/ID``)."""
    v2 = clients.apigatewayv2
    with step(f"create the routes of API {api_id}"):
        existing: dict[str, Any] = {}
        for page in v2.get_paginator("get_routes").paginate(ApiId=api_id):
            existing.update({r["RouteKey"]: r for r in page.get("Items", [])})
        for key in ROUTES:
            route = existing.get(key)
            if route is None:
                v2.create_route(ApiId=api_id, RouteKey=key, Target=target)
                progress.created("route", key)
            elif route.get("Target") != target:
                v2.update_route(ApiId=api_id, RouteId=route["RouteId"], Target=target)
                progress.updated("route", key, f"target {target}")
            else:
                progress.exists("route", key)


def ensure_stage(clients: Clients, names: StackNames, api_id: str, progress: Progress) -> None:
    """Find or create the auto-deploying stage, throttled by ``STAGE_THROTTLING``.

    ``AutoDeploy`` redeploys the stage on every change to the API, so no Deployment is ever
    created by hand (moto lacks ``CreateDeployment`` anyway); the stage comes after the
    routes because a deployment needs at least one route. Its ``DefaultRouteSettings``
    throttle every route of the stage, ``$connect`` included.
    """
    v2 = clients.apigatewayv2
    with step(f"create stage {names.stage} of API {api_id}"):
        for page in v2.get_paginator("get_stages").paginate(ApiId=api_id):
            for item in page.get("Items", []):
                if item["StageName"] != names.stage:
                    continue
                settings = item.get("DefaultRouteSettings", {})
                throttled = all(settings.get(k) == v for k, v in STAGE_THROTTLING.items())
                if item.get("AutoDeploy") and throttled:
                    progress.exists("stage", names.stage)
                    return
                wanted: Any = {**settings, **STAGE_THROTTLING}
                v2.update_stage(
                    ApiId=api_id,
                    StageName=names.stage,
                    AutoDeploy=True,
                    DefaultRouteSettings=wanted,
                )
                what = [] if item.get("AutoDeploy") else ["auto-deploy"]
                what += [] if throttled else [_throttling()]
                progress.updated("stage", names.stage, ", ".join(what))
                return
        v2.create_stage(
            ApiId=api_id,
            StageName=names.stage,
            AutoDeploy=True,
            DefaultRouteSettings=dict(STAGE_THROTTLING),  # type: ignore[arg-type]
            Tags=names.tags,
        )
    progress.created("stage", names.stage, f"auto-deploy, {_throttling()}")


def _throttling() -> str:
    """``STAGE_THROTTLING`` for a progress line."""
    rate = STAGE_THROTTLING["ThrottlingRateLimit"]
    burst = STAGE_THROTTLING["ThrottlingBurstLimit"]
    return f"throttled at {rate:g} requests/s, bursts of {burst}"
