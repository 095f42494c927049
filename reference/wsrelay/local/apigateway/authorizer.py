"""A Lambda ``REQUEST`` authorizer on ``$connect``, as plain functions.

https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
and https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html

- A missing or empty identity source (``route.request.querystring.token``,
  ``route.request.header.Auth``, ``stageVariables.name``, ``context.identity.sourceIp``)
  refuses the handshake with 401 without calling the function.
- The function gets a ``REQUEST`` event (with the stage's ``stageVariables``) and returns a
  ``principalId`` and an IAM ``policyDocument``, evaluated as IAM evaluates it
  (``policy.py``) for ``execute-api:Invoke`` on the ``$connect`` route's ARN, which carries
  the gateway's account id: an explicit Deny that matches, or no Allow, is 403.
- ``raise Exception("Unauthorized")`` is 401; any other error, a timeout, or an answer
  without ``principalId`` and ``policyDocument`` is 500; so is a ``context`` whose values are
  not strings, numbers or booleans ("You can't set a JSON object or array as a valid value
  of any key in the context map").
- An allowed handshake's ``context`` (and ``principalId``) reaches every later event of the
  connection as ``requestContext.authorizer``. Authorizer results are not cached (caching
  is not supported for WebSocket APIs: apigatewayv2 CreateAuthorizer).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from wsrelay import aws_facts
from wsrelay.aws_facts import CONNECT_ROUTE
from wsrelay.local.apigateway.policy import INVOKE, PolicyError, evaluate
from wsrelay.local.lambda_runtime.environments import Invocation

__all__ = [
    "Decision",
    "authorizer_event",
    "decide",
    "identity_sources_present",
    "method_arn",
]

_QUERY, _HEADER = "route.request.querystring.", "route.request.header."
_STAGE, _CONTEXT = "stageVariables.", "context."
#: What a function raises to refuse with 401 (the documented spelling).
UNAUTHORIZED = aws_facts.AUTHORIZER_UNAUTHORIZED


@dataclass(frozen=True)
class Decision:
    """The handshake's fate: refused with ``status`` and ``message``, or allowed with ``context``."""

    status: int | None = None
    message: str = ""
    context: dict[str, Any] | None = None

    @property
    def allowed(self) -> bool:
        return self.status is None


ALLOW_NOTHING = Decision(403, "Forbidden")
UNAUTHORIZED_DECISION = Decision(401, UNAUTHORIZED)
INTERNAL = Decision(500, "Internal server error")


def method_arn(region: str, account_id: str, api_id: str, stage: str) -> str:
    """The ``$connect`` route's ARN, which an ``Allow`` statement must cover."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{CONNECT_ROUTE}"


def _sources(sources: Iterable[str]) -> list[str]:
    """Each identity source, one per item (a template may give a comma-separated string)."""
    return [s.strip().removeprefix("$") for item in sources for s in item.split(",") if s.strip()]


def identity_sources_present(
    sources: Iterable[str],
    query: Mapping[str, str],
    headers: Mapping[str, str],
    *,
    stage_variables: Mapping[str, str] | None = None,
    request_context: Mapping[str, Any] | None = None,
) -> bool:
    """Whether every identity source is present and non-empty (headers case-insensitively)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for source in _sources(sources):
        if source.startswith(_QUERY):
            value: Any = query.get(source[len(_QUERY) :])
        elif source.startswith(_HEADER):
            value = lowered.get(source[len(_HEADER) :].lower())
        elif source.startswith(_STAGE):
            value = (stage_variables or {}).get(source[len(_STAGE) :])
        elif source.startswith(_CONTEXT):
            value = request_context or {}
            for step in source[len(_CONTEXT) :].split("."):
                value = value.get(step) if isinstance(value, Mapping) else None
        else:
            value = None  # a source API Gateway would not accept for a WebSocket API
        if value is None or value == "":
            return False
    return True


def authorizer_event(
    arn: str, connect_event: Mapping[str, Any], stage_variables: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The ``REQUEST`` authorizer event for a ``$connect`` event."""
    return {
        "type": "REQUEST",
        "methodArn": arn,
        "headers": connect_event["headers"],
        "multiValueHeaders": connect_event["multiValueHeaders"],
        "queryStringParameters": connect_event.get("queryStringParameters", {}),
        "multiValueQueryStringParameters": connect_event.get("multiValueQueryStringParameters", {}),
        "stageVariables": dict(stage_variables or {}),
        "requestContext": connect_event["requestContext"],
    }


def decide(result: Invocation, arn: str) -> Decision:
    """Read the authorizer's invocation: a refusal (401, 403, 500) or the context to pass on."""
    if not result.ok:
        if result.error.get("errorMessage") == UNAUTHORIZED and not result.throttled:
            return UNAUTHORIZED_DECISION
        return INTERNAL
    answer = result.value
    if not isinstance(answer, dict) or "principalId" not in answer:
        return INTERNAL
    context = answer.get("context") or {}
    if not isinstance(context, dict) or not all(
        isinstance(v, str | int | float)
        for v in context.values()  # a bool is an int
    ):
        return INTERNAL
    try:
        allowed = evaluate(answer.get("policyDocument"), INVOKE, arn)
    except PolicyError:
        return INTERNAL
    if not allowed:
        return ALLOW_NOTHING
    return Decision(context={**context, "principalId": answer["principalId"]})
