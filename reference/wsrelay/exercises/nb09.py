"""Exercise of ``09_secure-and-observe``: the authorizer's answer for one ``$connect``.

``q1``: write ``connect_policy(event, name, allowed)``: what the ``REQUEST`` authorizer returns
once it has checked the token: a policy that allows (``allowed``) or denies
``execute-api:Invoke`` on this connection's ``$connect`` (the event's ``methodArn``), and a
``context`` that passes the user's ``name`` on to the handlers.

The checker reads each answer the way API Gateway does, with the local gateway's own
evaluation (``wsrelay.local.apigateway.authorizer.decide``, IAM's rules): a missing
``principalId`` or ``policyDocument``, or a ``context`` value that is an object, is 500; no
Allow that matches, or a matching Deny, is 403. It asks for three connections, on two APIs
and stages, so an ARN written by hand for one of them shows.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from wsrelay import aws_facts
from wsrelay.exercises.core import Exercise, Incorrect, call

__all__ = ["ASKED", "connect_policy", "q1"]

#: (region, account, api id, stage) of the connections the checker asks about.
ASKED = (
    ("eu-west-1", "111122223333", "a1b2c3d4e5", "dev"),
    ("us-east-2", "444455556666", "z9y8x7w6v5", "prod"),
)


def connect_policy(event: dict[str, Any], name: str, allowed: bool) -> dict[str, Any]:
    """Model answer: allow (or deny) exactly this $connect, and pass the name on."""
    return {
        "principalId": name,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Action": "execute-api:Invoke",
                    "Effect": "Allow" if allowed else "Deny",
                    "Resource": event["methodArn"],  # …:{api-id}/{stage}/$connect
                }
            ],
        },
        "context": {"name": name},  # strings, numbers, booleans: no objects
    }


def _event(region: str, account: str, api_id: str, stage: str) -> dict[str, Any]:
    """A REQUEST authorizer event for ``$connect``, as API Gateway sends it (the parts that
    matter here; ``wsrelay.local.apigateway.authorizer.authorizer_event`` makes whole ones)."""
    from wsrelay.aws_facts import CONNECT_ROUTE
    from wsrelay.local.apigateway.authorizer import method_arn

    return {
        "type": "REQUEST",
        "methodArn": method_arn(region, account, api_id, stage),
        "queryStringParameters": {"room": "lobby", "token": "t"},
        "requestContext": {
            "routeKey": CONNECT_ROUTE,
            "eventType": "CONNECT",
            "apiId": api_id,
            "stage": stage,
            "accountId": account,
        },
    }


def _decide(answer: object, arn: str) -> Any:
    from wsrelay.local.apigateway.authorizer import decide
    from wsrelay.local.lambda_runtime.environments import Invocation

    return decide(Invocation(ok=True, value=answer), arn)


def _why_500(answer: object) -> str:
    """Why API Gateway would answer 500 to this authorizer output."""
    if not isinstance(answer, dict):
        return f"it returned {type(answer).__name__} {answer!r:.60}: return a dict"
    missing = [k for k in ("principalId", "policyDocument") if k not in answer]
    if missing:
        return f"the answer has no {' and no '.join(missing)}: API Gateway needs both"
    context = answer.get("context")
    if context is not None and (
        not isinstance(context, dict)
        or not all(isinstance(v, str | int | float) for v in context.values())
    ):
        return (
            f"its context is {json.dumps(context, default=repr)[:80]}: each value must be a "
            "string, a number or a boolean (an object or a list there makes the authorization "
            'fail), so pass the name as {"name": name}'
        )
    return (
        "API Gateway could not read its policyDocument: it is "
        '{"Version": "2012-10-17", "Statement": [{"Action": …, "Effect": …, "Resource": …}]}'
    )


def _check(answer: Callable[[dict[str, Any], str, bool], object]) -> None:
    for (region, account, api_id, stage), name in zip(ASKED, ("ada", "grace"), strict=True):
        event = _event(region, account, api_id, stage)
        arn = event["methodArn"]
        shown = f"connect_policy(event, {name!r}, True) for {arn}"
        got = call(answer, event, name, True, what=shown)
        decision = _decide(got, arn)
        if decision.status == 500:
            raise Incorrect(f"{shown}: API Gateway would answer 500, because {_why_500(got)}")
        if decision.status == 403:
            raise Incorrect(
                f"{shown}: {name} is refused with 403. The policy must allow "
                f"execute-api:Invoke on {arn}; that ARN is the event's methodArn, "
                "different for every API and stage, so take it from the event"
            )
        context = decision.context or {}
        if context.get("name") != name:
            raise Incorrect(
                f"{shown}: the handlers would read requestContext.authorizer.name = "
                f"{context.get('name')!r}, not {name!r}: put the name in the answer's "
                '"context", as {"name": name}'
            )
        others = {
            "the same API's other stage": arn.replace(f"/{stage}/", "/other/"),
            "another API": arn.replace(f":{api_id}/", ":zzzzzzzzzz/"),
        }
        for what, other in others.items():
            if _decide(got, other).allowed:
                raise Incorrect(
                    f"{shown}: the policy also allows $connect on {what} ({other}). Name "
                    "exactly this route of this stage, the event's methodArn: a policy "
                    "should say what it allows, even though WebSocket authorizers are not "
                    "cached and this one is used for this one request"
                )
    event = _event(*ASKED[0])
    shown = "connect_policy(event, 'mallory', False)"
    try:
        got = call(answer, event, "mallory", False, what=shown)
    except Incorrect as exc:
        if aws_facts.AUTHORIZER_UNAUTHORIZED not in str(exc):
            raise
        raise Incorrect(
            f'{exc}. That is a 401, "who are you?", for a token that cannot be trusted; '
            "mallory's token is good but does not grant this room, which is a 403: return a "
            'policy whose Effect is "Deny"'
        ) from exc
    decision = _decide(got, event["methodArn"])
    if decision.allowed:
        raise Incorrect(
            f"{shown} lets mallory in: with allowed=False the statement's Effect must be "
            '"Deny" (API Gateway then refuses the handshake with 403)'
        )
    if decision.status == 500:
        raise Incorrect(f"{shown}: API Gateway would answer 500, because {_why_500(got)}")


q1 = Exercise(
    title="connect_policy(event, name, allowed)",
    checker=_check,
    hints=(
        "API Gateway reads the authorizer's answer as an IAM policy and evaluates it for one "
        "request: `execute-api:Invoke` on this connection's `$connect` route. An Allow that "
        "matches lets the handshake through (and the answer's context with it); a Deny, or no "
        "Allow at all, refuses it with 403.",
        "The answer is a dict with `principalId`, `policyDocument` "
        '(`{"Version": "2012-10-17", "Statement": [...]}`) and `context`. The route\'s ARN '
        "is in the event, `event['methodArn']`: `arn:aws:execute-api:{region}:{account}:"
        "{api-id}/{stage}/$connect`. Context values may only be strings, numbers or booleans.",
        "Shape: one statement, `Action` `execute-api:Invoke`, `Effect` `Allow` or `Deny` "
        "depending on `allowed`, `Resource` the method ARN; `principalId` and the context's "
        "`name` are the name.",
    ),
    reference=connect_policy,
)
