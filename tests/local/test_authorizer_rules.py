"""The ``$connect`` authorizer's rules as plain functions: identity sources, the policy, the answer.

Expected values are from AWS's documentation: "Output from an API Gateway Lambda authorizer"
(api-gateway-lambda-authorizer-output), IAM's policy evaluation logic and Resource element
(reference_policies_evaluation-logic, reference_policies_elements_resource), and the
WebSocket Lambda authorizer page (apigateway-websocket-api-lambda-auth).
"""

from __future__ import annotations

from typing import Any

import pytest

from wsrelay import events
from wsrelay.local.apigateway.authorizer import (
    authorizer_event,
    decide,
    identity_sources_present,
    method_arn,
)
from wsrelay.local.apigateway.policy import INVOKE, PolicyError, evaluate
from wsrelay.local.lambda_runtime.environments import Invocation

ACCOUNT = "123456789012"
ARN = method_arn("us-east-1", ACCOUNT, "abc123", "dev")


def statement(
    effect: str, resource: Any = ARN, action: Any = INVOKE, **extra: Any
) -> dict[str, Any]:
    return {"Action": action, "Effect": effect, "Resource": resource, **extra}


def policy(*statements: dict[str, Any], **extra: Any) -> Invocation:
    """An authorizer's successful answer with these statements."""
    answer = {
        "principalId": "ada",
        "policyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
        **extra,
    }
    return Invocation(ok=True, value=answer)


def test_method_arn_carries_the_account_id() -> None:
    """The ARN an Allow must cover: region, the gateway's account id, API, stage, $connect."""
    assert ARN == "arn:aws:execute-api:us-east-1:123456789012:abc123/dev/$connect"


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
    """Every identity source must be present and non-empty ("not null, and non-empty")."""
    sources = ["route.request.querystring.token", "route.request.header.Auth"]
    assert identity_sources_present(sources, query, headers) is present


@pytest.mark.parametrize(
    ("sources", "present"),
    [
        (["stageVariables.tier"], True),
        (["stageVariables.missing"], False),
        (["context.identity.sourceIp"], True),
        (["context.identity.nothing"], False),
        (["route.request.querystring.token, stageVariables.tier"], True),  # one string, two
        (["$stageVariables.tier"], True),  # HTTP APIs' spelling is taken too
        (["route.request.querystring.token, stageVariables.empty"], False),
    ],
)
def test_stage_variables_and_context_as_identity_sources(sources: list[str], present: bool) -> None:
    """``stageVariables.x`` and ``context.x`` are identity sources too (CreateAuthorizer)."""
    found = identity_sources_present(
        sources,
        {"token": "t"},
        {},
        stage_variables={"tier": "gold", "empty": ""},
        request_context={"identity": {"sourceIp": "10.0.0.1"}},
    )
    assert found is present


def test_authorizer_event_carries_the_handshake_and_stage_variables() -> None:
    """The REQUEST event has the method ARN, headers, query, stage variables and request context."""
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
    event = authorizer_event(ARN, connect, {"tier": "gold"})
    assert event["type"] == "REQUEST" and event["methodArn"] == ARN
    assert event["queryStringParameters"] == {"token": "t"}
    assert event["stageVariables"] == {"tier": "gold"}
    assert event["requestContext"]["routeKey"] == "$connect"


@pytest.mark.parametrize(
    ("resource", "allowed"),
    [
        (ARN, True),
        ("*", True),
        ("arn:aws:execute-api:us-east-1:123456789012:abc123/*", True),
        ("arn:aws:execute-api:us-east-1:*:abc123/dev/$connect", True),  # wildcard mid-ARN
        ("arn:aws:execute-api:*:123456789012:abc123/*/$connect", True),
        ("arn:aws:execute-api:us-east-1:123456789012:abc123/d?v/$connect", True),
        ("arn:aws:execute-api:us-east-1:123456789012:*", True),  # a final * spans the rest
        ("arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*", False),
        ("arn:aws:execute-api:us-east-1:000000000000:abc123/*", False),  # another account
        ("arn:aws:execute-api:us-east-1:123456789012:ABC123/*", False),  # case-sensitive
        ("arn:aws:execute-api:us-east-1:123456789012:other/*", False),
        (["arn:other", ARN], True),
    ],
)
def test_allow_resource_wildcards(resource: Any, allowed: bool) -> None:
    """``*`` and ``?`` may appear anywhere in the Resource; resources compare case-sensitively."""
    assert decide(policy(statement("Allow", resource)), ARN).allowed is allowed


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        (INVOKE, True),
        ("execute-api:invoke", True),  # actions compare case-insensitively
        ("execute-api:*", True),
        ("*", True),
        (["s3:GetObject", "execute-api:Invoke"], True),
        ("execute-api:ManageConnections", False),
        ("s3:*", False),
    ],
)
def test_the_action_is_checked(action: Any, allowed: bool) -> None:
    """The Allow must be for ``execute-api:Invoke``."""
    assert decide(policy(statement("Allow", action=action)), ARN).allowed is allowed


def test_explicit_deny_applies_only_where_it_matches() -> None:
    """A Deny for another stage leaves the Allow standing; a Deny that matches wins over it."""
    other = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/*"
    assert decide(policy(statement("Allow", "*"), statement("Deny", other)), ARN).allowed
    refused = decide(policy(statement("Allow", "*"), statement("Deny", ARN)), ARN)
    assert (refused.status, refused.message) == (403, "Forbidden")
    assert decide(policy(statement("Deny", "*")), ARN).status == 403


def test_not_resource_and_not_action() -> None:
    """``NotResource``/``NotAction`` match everything they do not list."""
    deny_others = {"Effect": "Deny", "Action": INVOKE, "NotResource": ARN}
    assert decide(policy(statement("Allow", "*"), deny_others), ARN).allowed
    deny_all_but_s3 = {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}
    assert decide(policy(statement("Allow", "*"), deny_all_but_s3), ARN).status == 403


def test_a_statement_with_a_condition_does_not_apply() -> None:
    """Conditions are not evaluated: such a statement neither allows nor denies."""
    conditional = statement("Allow", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    assert decide(policy(conditional), ARN).status == 403


@pytest.mark.parametrize(
    "document",
    [
        None,
        {},
        {"Statement": []},
        {"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]},
    ],
    ids=["none", "empty", "no-statements", "bad-effect"],
)
def test_malformed_policy_documents_raise(document: Any) -> None:
    """A document IAM would refuse is an error, not a silent deny."""
    with pytest.raises(PolicyError):
        evaluate(document, INVOKE, ARN)


def test_a_single_statement_object_is_accepted() -> None:
    """``Statement`` may be one object instead of a list (IAM's grammar)."""
    answer = {"principalId": "ada", "policyDocument": {"Statement": statement("Allow")}}
    assert decide(Invocation(ok=True, value=answer), ARN).allowed


@pytest.mark.parametrize(
    ("result", "status"),
    [
        (
            Invocation(ok=False, error={"errorType": "Exception", "errorMessage": "Unauthorized"}),
            401,
        ),
        (Invocation(ok=False, error={"errorType": "ValueError", "errorMessage": "boom"}), 500),
        (Invocation(ok=False, error={"errorType": "IntegrationTimeout", "errorMessage": "x"}), 500),
        (Invocation(ok=True, value="yes"), 500),  # not an object
        (Invocation(ok=True, value={"policyDocument": {}}), 500),  # no principalId
        (Invocation(ok=True, value={"principalId": "ada"}), 500),  # no policyDocument
    ],
    ids=["unauthorized", "error", "timeout", "not-an-object", "no-principal", "no-policy"],
)
def test_errors_and_malformed_answers(result: Invocation, status: int) -> None:
    """``Unauthorized`` is 401; any other error or malformed output is 500."""
    assert decide(result, ARN).status == status


@pytest.mark.parametrize(
    ("context", "status"),
    [
        ({"room": "vip", "quota": 7, "ratio": 0.5, "admin": True}, None),
        ({"nested": {"a": 1}}, 500),
        ({"list": [1, 2]}, 500),
        ({"nothing": None}, 500),
    ],
    ids=["scalars", "object", "array", "null"],
)
def test_context_values_must_be_strings_numbers_or_booleans(
    context: dict[str, Any], status: int | None
) -> None:
    """ "You can't set a JSON object or array as a valid value of any key in the context map"."""
    assert decide(policy(statement("Allow"), context=context), ARN).status == status


def test_decide_passes_the_context_and_principal_on() -> None:
    """An allowed answer's context, plus principalId, becomes requestContext.authorizer."""
    decision = decide(policy(statement("Allow"), context={"room": "vip"}), ARN)
    assert decision.allowed
    assert decision.context == {"room": "vip", "principalId": "ada"}
