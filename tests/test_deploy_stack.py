"""``wsrelay.deploy.stack``: names, tags and least-privilege policies, with no AWS at all."""

from __future__ import annotations

import pytest

from wsrelay import handlers
from wsrelay.deploy.stack import (
    POLICY_ACTIONS,
    ROUTES,
    TAG_STACK,
    TAG_STAGE,
    Location,
    StackNames,
)

WHERE = Location(partition="aws", region="eu-west-1", account="111122223333")


def test_names_derive_from_stack_and_stage() -> None:
    """Every name starts with ``{stack}-{stage}``; the log group is the one Lambda writes to."""
    names = StackNames("wsrelay", "dev")
    assert (names.table, names.function, names.role, names.api) == (
        "wsrelay-dev-connections",
        "wsrelay-dev-handler",
        "wsrelay-dev-handler-role",
        "wsrelay-dev",
    )
    assert names.log_group == "/aws/lambda/wsrelay-dev-handler"
    assert names.tags == {TAG_STACK: "wsrelay", TAG_STAGE: "dev"}


@pytest.mark.parametrize(
    ("stack", "stage"),
    [("", "dev"), ("9lives", "dev"), ("a_b", "dev"), ("x" * 33, "dev"), ("ok", ""), ("ok", "a.b")],
)
def test_invalid_names_are_refused(stack: str, stage: str) -> None:
    """Names that could break an AWS naming rule are refused with the rule to follow."""
    with pytest.raises(ValueError, match=r"invalid (stack name|stage)"):
        StackNames(stack, stage)


def test_longest_names_fit_aws_limits() -> None:
    """At the longest stack and stage, the role and function names fit in 64 characters."""
    names = StackNames("s" * 32, "d" * 16)
    assert max(len(names.role), len(names.function), len(names.table)) <= 64


def test_ownership_needs_both_tags() -> None:
    """A resource belongs to a stack only if both its stack and stage tags match."""
    names = StackNames("wsrelay", "dev")
    assert names.owns({TAG_STACK: "wsrelay", TAG_STAGE: "dev", "other": "x"})
    assert not names.owns({TAG_STACK: "wsrelay", TAG_STAGE: "prod"})
    assert not names.owns({})


def test_routes_are_the_handlers_routes() -> None:
    """The deployed routes are exactly those the handler dispatches."""
    assert set(ROUTES) == set(handlers.ROUTES)
    assert {"$connect", "$disconnect", "$default", "sendmessage", "joinroom"} == set(ROUTES)


def test_policy_is_least_privilege() -> None:
    """Each statement grants its own actions on one named resource; no bare wildcards."""
    names = StackNames("wsrelay", "dev")
    document = WHERE.policy_document(names, "abc123")
    statements = {s["Sid"]: s for s in document["Statement"]}
    assert {sid: tuple(s["Action"]) for sid, s in statements.items()} == POLICY_ACTIONS
    assert statements["ManageConnections"]["Resource"] == (
        "arn:aws:execute-api:eu-west-1:111122223333:abc123/dev/POST/@connections/*"
    )
    assert statements["RoomIndex"]["Resource"] == (
        "arn:aws:dynamodb:eu-west-1:111122223333:table/wsrelay-dev-connections/index/byRoom"
    )
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "*" not in statement["Action"] and statement["Resource"] != "*"
        assert not any(action.endswith("*") for action in statement["Action"])
    assert "dynamodb:Scan" not in str(document)  # broadcasts query the index, never scan


def test_arns_follow_the_partition() -> None:
    """ARNs use the caller's partition, so the stack deploys in China or GovCloud too."""
    china = Location(partition="aws-cn", region="cn-north-1", account="111122223333")
    assert china.source_arn("abc") == "arn:aws-cn:execute-api:cn-north-1:111122223333:abc/*"
    assert china.integration_uri("F") == (
        "arn:aws-cn:apigateway:cn-north-1:lambda:path/2015-03-31/functions/F/invocations"
    )
