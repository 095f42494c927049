"""``wsrelay.deploy.permissions``: the deployer's own least-privilege policy.

Every call ``deploy``, ``status`` and ``destroy`` make, recorded against moto over a stack's
whole life (create, redeploy, drift, new code, status, destroy, destroy again), needs only
actions the policy allows; and the policy allows nothing else but the few actions that AWS
asks for beside the calls themselves (tags on create, ``iam:PassRole``), each named here.
"""

from __future__ import annotations

import fnmatch
from typing import Any

import pytest

from wsrelay.deploy.deployer import deploy, destroy, status
from wsrelay.deploy.permissions import (
    DEPLOYER_ACTIONS,
    deployer_policy_document,
    iam_actions_for,
)
from wsrelay.deploy.stack import Location, StackNames
from wsrelay.workbook import LocalAws

pytestmark = pytest.mark.integration

#: Allowed although no API call is named after them, and why.
BESIDE_THE_CALLS = {
    "dynamodb:TagResource": "CreateTable with Tags",
    "iam:TagRole": "CreateRole with Tags",
    "lambda:TagResource": "CreateFunction with Tags",
    "logs:TagResource": "CreateLogGroup with tags",
    "iam:PassRole": "CreateFunction with the stack's role",
    "lambda:ListTags": "GetFunction returns the function's Tags",
    "iam:DetachRolePolicy": "destroy detaches managed policies someone attached by hand",
}


def _record(clients: Any) -> set[tuple[str, str, str]]:
    """(service, operation, HTTP method) of every call the clients make, in a set it fills."""
    calls: set[tuple[str, str, str]] = set()
    for client in (
        clients.dynamodb,
        clients.iam,
        clients.lambda_,
        clients.apigatewayv2,
        clients.logs,
        clients.sts,
    ):
        model = client.meta.service_model

        def record(params: Any, model: Any, _service: Any = model, **_: Any) -> None:
            operation = _service.operation_model(model.name)
            calls.add((_service.service_name, model.name, operation.http["method"]))

        client.meta.events.register(f"provide-client-params.{model.service_id.hyphenize()}", record)
    return calls


@pytest.fixture(scope="module")
def recorded() -> set[tuple[str, str, str]]:
    """The calls of a stack's whole life, against a moto server."""
    quiet = lambda _line: None  # noqa: E731
    with LocalAws() as aws:
        clients = aws.deploy_clients()
        calls = _record(clients)
        hand = aws.deploy_clients()  # someone's changes by hand, not recorded
        names = StackNames("perm", "dev")
        deploy(clients, names, report=quiet)
        deploy(clients, names, report=quiet)
        clients.lambda_.update_function_configuration(FunctionName=names.function, MemorySize=512)
        hand.lambda_.delete_function_concurrency(FunctionName=names.function)
        api_id = deploy(clients, names, code=b"PK\x05\x06" + b"\0" * 18, report=quiet).api_id
        # Drift that deploy puts back with PATCH calls (UpdateApi, UpdateRoute).
        hand.apigatewayv2.update_api(ApiId=api_id, RouteSelectionExpression="$request.body.x")
        routes = hand.apigatewayv2.get_routes(ApiId=api_id)["Items"]
        hand.apigatewayv2.update_route(ApiId=api_id, RouteId=routes[0]["RouteId"], Target="x")
        deploy(clients, names, report=quiet)
        status(clients, names, report=quiet)
        destroy(clients, names, report=quiet)
        destroy(clients, names, report=quiet)
        status(clients, names, report=quiet)
    return calls


def _policy() -> dict[str, Any]:
    return deployer_policy_document(Location("aws", "eu-west-1", "111122223333"), StackNames())


def test_every_call_is_allowed(recorded: set[tuple[str, str, str]]) -> None:
    """Each recorded call's IAM actions are in the policy."""
    allowed = {a for s in _policy()["Statement"] for a in s["Action"]}
    needed = {a for call in recorded for a in iam_actions_for(*call)}
    assert needed - allowed == set()
    assert len(recorded) > 30  # the recorder saw the deployer work


def test_nothing_else_is_allowed(recorded: set[tuple[str, str, str]]) -> None:
    """Every allowed action is needed by a call, or listed with its reason above."""
    allowed = {a for s in _policy()["Statement"] for a in s["Action"]}
    needed = {a for call in recorded for a in iam_actions_for(*call)}
    assert allowed - needed == set(BESIDE_THE_CALLS)
    assert not any(a.endswith("*") for a in allowed)


def test_resources_are_the_stacks_own() -> None:
    """Name-scoped statements name the stack's resources; only API Gateway's paths and the
    log-group listing cover more, and PassRole goes only to Lambda."""
    statements = {s["Sid"]: s for s in _policy()["Statement"]}
    assert set(statements) == set(DEPLOYER_ACTIONS)
    assert statements["Table"]["Resource"] == (
        "arn:aws:dynamodb:eu-west-1:111122223333:table/wsrelay-dev-connections"
    )
    assert statements["Role"]["Resource"] == (
        "arn:aws:iam::111122223333:role/wsrelay-dev-handler-role"
    )
    assert statements["Function"]["Resource"] == [
        "arn:aws:lambda:eu-west-1:111122223333:function:wsrelay-dev-handler",
        "arn:aws:lambda:eu-west-1:111122223333:function:wsrelay-dev-fanout",
    ]
    for function in ("handler", "fanout"):
        stream = f"arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/wsrelay-dev-{function}:log-stream:x"
        assert any(fnmatch.fnmatchcase(stream, r) for r in statements["LogGroup"]["Resource"])
    assert statements["PassRoleToLambda"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "lambda.amazonaws.com"}
    }
    assert statements["WebSocketApis"]["Resource"] == [
        "arn:aws:apigateway:eu-west-1::/apis",
        "arn:aws:apigateway:eu-west-1::/apis/*",
        "arn:aws:apigateway:eu-west-1::/tags/*",
    ]
    assert all(s["Resource"] != "*" for s in statements.values())


def test_unknown_services_are_an_error() -> None:
    """A call of a service the mapping does not know fails loudly instead of being allowed."""
    assert iam_actions_for("sts", "GetCallerIdentity", "POST") == []
    assert iam_actions_for("apigatewayv2", "CreateApi", "POST") == ["apigateway:POST"]
    with pytest.raises(ValueError, match="no IAM mapping for s3:PutObject"):
        iam_actions_for("s3", "PutObject", "PUT")
