"""An IAM policy document evaluated as IAM evaluates it, for a Lambda authorizer's answer.

API Gateway evaluates the policy an authorizer returns against the route's method ARN
(``arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/$connect``) and the action
``execute-api:Invoke``:

- an explicit ``Deny`` whose action and resource match wins over any ``Allow``; a ``Deny``
  for another resource changes nothing;
- otherwise a matching ``Allow`` allows; with none, the request is denied (implicitly);
- ``*`` and ``?`` may appear anywhere in a resource ARN: within one colon-separated segment
  they match any run of characters / any one character, and a ``*`` that ends a segment
  may match past its colons; resources compare case-sensitively, actions do not;
- ``NotAction`` and ``NotResource`` match everything they do not list.

Sources: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html,
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html

Not evaluated: ``Condition`` (a statement that has one never matches, so it can neither allow
nor deny here; AWS's authorizer examples use none).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

from wsrelay import aws_facts

__all__ = ["INVOKE", "PolicyError", "evaluate"]

#: The action an authorizer's policy must allow for a route.
INVOKE = aws_facts.INVOKE_ACTION


class PolicyError(ValueError):
    """The policy document is not one IAM would accept (the authorizer's answer is malformed)."""


def evaluate(document: Any, action: str, resource: str) -> bool:
    """Whether ``document`` allows ``action`` on ``resource`` (explicit Deny beats Allow).

    Raises:
        PolicyError: the document has no statements, or a statement lacks Effect, Action
            or Resource.
    """
    if not isinstance(document, dict):
        raise PolicyError("policyDocument is not an object")
    statements = document.get("Statement")
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyError("policyDocument has no Statement")
    allowed = False
    for statement in statements:
        effect = _effect(statement)
        if not _applies(statement, action, resource):
            continue
        if effect == "Deny":
            return False
        allowed = True
    return allowed


def _effect(statement: Any) -> str:
    if not isinstance(statement, dict):
        raise PolicyError("a Statement is not an object")
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicyError(f"a Statement's Effect is {effect!r}, not Allow or Deny")
    return str(effect)


def _applies(statement: dict[str, Any], action: str, resource: str) -> bool:
    if "Condition" in statement:
        return False
    return _element(statement, "Action", action, case=False) and _element(
        statement, "Resource", resource, case=True
    )


def _element(statement: dict[str, Any], name: str, value: str, *, case: bool) -> bool:
    """Whether ``Action``/``Resource`` (or ``NotAction``/``NotResource``) matches ``value``."""
    if name in statement:
        return any(_matches(p, value, case=case) for p in _patterns(statement[name], name))
    negated = f"Not{name}"
    if negated in statement:
        return not any(_matches(p, value, case=case) for p in _patterns(statement[negated], name))
    raise PolicyError(f"a Statement has neither {name} nor Not{name}")


def _patterns(value: Any, name: str) -> Iterable[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise PolicyError(f"a Statement's {name} is not a string or a list of strings")
    return items


def _matches(pattern: str, value: str, *, case: bool) -> bool:
    return _regex(pattern, case).fullmatch(value) is not None


@functools.cache
def _regex(pattern: str, case: bool) -> re.Pattern[str]:
    out: list[str] = []
    for i, char in enumerate(pattern):
        if char == "*":
            # A "*" that ends a segment may match past colons; inside one it may not.
            ends_segment = i + 1 == len(pattern) or pattern[i + 1] == ":"
            out.append(".*" if ends_segment else "[^:]*")
        elif char == "?":
            out.append("[^:]")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), 0 if case else re.IGNORECASE)
