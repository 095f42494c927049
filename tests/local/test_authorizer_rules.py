"""``wsrelay.local.authorizer``: identity sources, the REQUEST event, reading the policy."""

from __future__ import annotations

from typing import Any

import pytest

from wsrelay import events
from wsrelay.local.authorizer import (
    authorizer_event,
    decide,
    identity_sources_present,
    method_arn,
)

ARN = method_arn("us-east-1", "abc123", "dev")


def policy(effect: str, resource: Any = ARN, **extra: Any) -> dict[str, Any]:
    """An authorizer's answer with one statement."""
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
    return {"principalId": "ada", "policyDocument": {"Statement": [statement]}, **extra}


def test_method_arn_names_the_connect_route() -> None:
    """The ARN an Allow must cover ends with the stage and $connect."""
    assert ARN == "arn:aws:execute-api:us-east-1:000000000000:abc123/dev/$connect"


@pytest.mark.parametrize(
    ("query", "headers", "present"),
    [
        ({"token": "t"}, {"Auth": "x"}, True),
        ({"token": "t"}, {"auth": "x"}, True),  # header names are case-insensitive
        ({}, {"Auth": "x"}, False),
        ({"token": ""}, {"Auth": "x"}, False),  # empty counts as missing
        ({"token": "t"}, {}, False),
    ],
)
def test_identity_sources(query: dict[str, str], headers: dict[str, str], present: bool) -> None:
    """Every identity source must be present and non-empty."""
    sources = ["route.request.querystring.token", "route.request.header.Auth"]
    assert identity_sources_present(sources, query, headers) is present


def test_authorizer_event_carries_the_handshake() -> None:
    """The REQUEST event has the method ARN, the headers, the query and the request context."""
    connect = events.build_connect_event(
        connection_id="c=",
        request_id="r=",
        connected_at=1,
        domain_name="h",
        stage="dev",
        api_id="abc123",
        headers=[("Host", "h")],
        query=[("token", "t")],
    )
    event = authorizer_event(ARN, connect)
    assert event["type"] == "REQUEST" and event["methodArn"] == ARN
    assert event["queryStringParameters"] == {"token": "t"}
    assert event["requestContext"]["routeKey"] == "$connect"


@pytest.mark.parametrize(
    ("answer", "refusal"),
    [
        (policy("Allow"), None),
        (policy("Allow", resource="*"), None),
        (policy("Allow", resource="arn:aws:execute-api:us-east-1:000000000000:abc123/*"), None),
        (policy("Allow", resource=["arn:other", ARN]), None),
        (policy("Deny"), 403),
        (policy("Allow", resource="arn:aws:execute-api:us-east-1:000000000000:other/*"), 403),
        ({"principalId": "ada"}, 403),  # no statement allows it
        (None, 401),  # the function failed
        ("yes", 401),  # not a policy at all
    ],
)
def test_decide(answer: Any, refusal: int | None) -> None:
    """Allow covering $connect passes; Deny or no Allow is 403; an error or non-policy is 401."""
    assert decide(answer, ARN)[0] == refusal


def test_decide_passes_the_context_and_principal_on() -> None:
    """An allowed answer's context, plus principalId, becomes requestContext.authorizer."""
    refusal, context = decide(policy("Allow", context={"room": "vip"}), ARN)
    assert refusal is None
    assert context == {"room": "vip", "principalId": "ada"}
