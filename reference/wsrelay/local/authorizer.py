"""A Lambda ``REQUEST`` authorizer on ``$connect``, as plain functions.

https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html

- A missing identity source (``route.request.querystring.token``,
  ``route.request.header.Auth``) refuses the handshake with 401 without calling the function.
- The function gets a ``REQUEST`` event and returns an IAM policy. An error, or an answer
  that is not a policy, is 401; a ``Deny`` statement, or no ``Allow`` for this ``$connect``,
  is 403.
- An allowed handshake's ``context`` (and ``principalId``) reaches every later event of the
  connection as ``requestContext.authorizer``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["authorizer_event", "decide", "identity_sources_present", "method_arn"]

_QUERY, _HEADER = "route.request.querystring.", "route.request.header."


def method_arn(region: str, api_id: str, stage: str) -> str:
    """The ``$connect`` route's ARN, which an ``Allow`` statement must cover."""
    return f"arn:aws:execute-api:{region}:000000000000:{api_id}/{stage}/$connect"


def identity_sources_present(
    sources: Iterable[str], query: Mapping[str, str], headers: Mapping[str, str]
) -> bool:
    """Whether every identity source is present and non-empty (headers case-insensitively)."""
    lowered = {name.lower(): value for name, value in headers.items()}
    for source in sources:
        if source.startswith(_QUERY) and not query.get(source[len(_QUERY) :]):
            return False
        if source.startswith(_HEADER) and not lowered.get(source[len(_HEADER) :].lower()):
            return False
    return True


def authorizer_event(arn: str, connect_event: Mapping[str, Any]) -> dict[str, Any]:
    """The ``REQUEST`` authorizer event for a ``$connect`` event."""
    return {
        "type": "REQUEST",
        "methodArn": arn,
        "headers": connect_event["headers"],
        "multiValueHeaders": connect_event["multiValueHeaders"],
        "queryStringParameters": connect_event.get("queryStringParameters", {}),
        "multiValueQueryStringParameters": connect_event.get("multiValueQueryStringParameters", {}),
        "stageVariables": {},
        "requestContext": connect_event["requestContext"],
    }


def decide(answer: Any, arn: str) -> tuple[int | None, dict[str, Any] | None]:
    """Read the authorizer's answer: (refusal status, None) or (None, the context to pass on)."""
    if not isinstance(answer, dict):
        return 401, None
    statements = (answer.get("policyDocument") or {}).get("Statement") or []
    allowed = any(
        str(s.get("Effect", "")).lower() == "allow" and _covers(s.get("Resource"), arn)
        for s in statements
    )
    denied = any(str(s.get("Effect", "")).lower() == "deny" for s in statements)
    if denied or not allowed:
        return 403, None
    context = dict(answer.get("context") or {})
    context["principalId"] = answer.get("principalId", "")
    return None, context


def _covers(resource: Any, arn: str) -> bool:
    """Whether a statement's ``Resource`` (a string or list, ``*`` wildcards) covers ``arn``."""
    for pattern in resource if isinstance(resource, list) else [resource]:
        text = str(pattern)
        if text in ("*", arn) or (text.endswith("*") and arn.startswith(text[:-1])):
            return True
    return False
