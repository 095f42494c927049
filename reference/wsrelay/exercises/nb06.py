"""Exercises of ``06_deploy-to-aws``: what is left of a stack, and one least-privilege statement.

``q2``: ``manage_connections_statement(region, account, api_id, stage)``: the IAM statement
that lets the broadcaster POST to the connections of one API's one stage, and nothing else.

``q1``: write ``resources_left(clients, names)``: the resources of the stack ``names`` that exist, one
``"kind name"`` string each, in any order::

    ["table wsrelay-dev-connections", "log group /aws/lambda/wsrelay-dev-handler",
     "role wsrelay-dev-handler-role", "function wsrelay-dev-handler", "API wsrelay-dev"]

Those five can exist on their own; the role's policy, the function's permission and the API's
routes, integration and stage live inside them and go with them. A resource is the stack's
only if it carries the stack's tags (``names.owns(tags)``), and an API is found by its tags
alone, because API Gateway lets any number of APIs share a name.

The checker deploys a stack of its own to a moto server, in ``eu-west-1`` (the notebook works
in ``us-east-1``), and asks the answer four questions: nothing deployed, all deployed, a destroy
that stopped halfway, and look-alikes with the stack's names but not its tags.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from wsrelay.deploy.aws import Clients
from wsrelay.deploy.stack import ROUTE_SELECTION_EXPRESSION, TABLE_SCHEMA, StackNames
from wsrelay.exercises.core import Exercise, Incorrect, call

__all__ = [
    "CHECKED",
    "LOOKALIKE",
    "REGION",
    "everything",
    "manage_connections_statement",
    "q1",
    "q2",
    "resources_left",
]

#: Where the checker deploys: a region of its own, so it never meets the notebook's stack.
REGION = "eu-west-1"
#: The stack the checker deploys, and one whose names someone else has taken.
CHECKED = StackNames("quiz", "dev")
LOOKALIKE = StackNames("quiz", "ops")

Answer = Callable[[Clients, StackNames], object]


def resources_left(clients: Clients, names: StackNames) -> list[str]:
    """Reference: the stack's table, log group, role, function and APIs that exist.

    The ``find_*`` functions of ``wsrelay.deploy.aws`` are what ``status`` and ``destroy``
    use: each looks its resource up by name and reports whether it carries the stack's tags.
    """
    from wsrelay.deploy.aws import find_apis, find_function, find_log_group, find_role, find_table

    finds = (find_table, find_log_group, find_role, find_function)
    found = [find(clients, names) for find in finds]
    left = [f"{f.kind} {f.name}" for f in found if f is not None and f.owned]
    left += [f"API {api.name}" for api in find_apis(clients, names)]  # by tags: names repeat
    return left


def everything(names: StackNames) -> list[str]:
    """What ``resources_left`` returns for a stack that is fully deployed."""
    return [
        f"table {names.table}",
        f"log group {names.log_group}",
        f"role {names.role}",
        f"function {names.function}",
        f"API {names.api}",
    ]


#: Why a listed resource should not be there, by scenario.
_WHY_NOT: dict[str, str] = {
    "empty": "nothing of the stack is deployed yet",
    "full": (
        "list only the five resources that stand alone (table, log group, role, function, "
        "API), as 'kind name'"
    ),
    "halfway": (
        "that resource was deleted (a destroy that stopped halfway): look every resource up "
        "each time, and list only what AWS still returns"
    ),
    "lookalike": (
        "it has the stack's name but not its tags (wsrelay:stack, wsrelay:stage), so this "
        "stack did not create it: check `names.owns(tags)`, and find APIs by their tags, "
        "since API names need not be unique"
    ),
}

#: How to find each kind of resource, for a message about one the answer missed.
_HOW: dict[str, str] = {
    "table": "dynamodb describe_table(TableName=names.table), then its tags",
    "log group": "logs describe_log_groups(logGroupNamePrefix=names.log_group), then its tags",
    "role": "iam get_role(RoleName=names.role), then list_role_tags",
    "function": "lambda get_function(FunctionName=names.function): its Tags come with it",
    "API": "apigatewayv2 get_apis(): keep the APIs whose Tags pass names.owns (never by name)",
}

#: Error codes of a look-up that found nothing.
_NOT_FOUND = ("ResourceNotFoundException", "NoSuchEntity")

_EXPECTED: dict[str, Callable[[StackNames], list[str]]] = {
    "empty": lambda names: [],
    "full": lambda names: everything(names),
    "halfway": lambda names: everything(names)[:3],
    "lookalike": lambda names: [],
}


def _judge(answer: Answer, clients: Clients, names: StackNames, scenario: str, when: str) -> None:
    """Call the answer in one scenario; raise ``Incorrect`` saying what differs and why."""
    expected = _EXPECTED[scenario](names)
    shown = f"resources_left(clients, StackNames({names.stack!r}, {names.stage!r}))"
    example = f"table {names.table}"
    try:
        got = call(answer, clients, names, what=f"{when}, {shown}")
    except Incorrect as exc:
        if any(code in str(exc) for code in _NOT_FOUND):
            raise Incorrect(
                f"{exc}. A resource that does not exist is not an error here: catch the "
                "service's not-found exception (such as "
                "`clients.dynamodb.exceptions.ResourceNotFoundException`) and leave it out"
            ) from exc
        raise
    if not isinstance(got, list | tuple | set):
        raise Incorrect(
            f"{when}, {shown} returned {got!r}: return a list of strings such as {example!r}"
        )
    listed = list(got)
    strange = [item for item in listed if not isinstance(item, str)]
    if strange:
        raise Incorrect(
            f"{when}, {shown} listed {strange[0]!r}: list strings of the form 'kind name', "
            f"such as {example!r}"
        )
    missing = list((Counter(expected) - Counter(listed)).elements())
    extra = list((Counter(listed) - Counter(expected)).elements())
    bare = [(item, m) for item in extra for m in missing if m.endswith(f" {item}")]
    if bare:
        item, meant = bare[0]
        raise Incorrect(
            f"{when}, {shown} listed {item!r}: name the kind too, {meant!r}, "
            f"so that the list reads like {sorted(expected)!r}"
        )
    if missing:
        kind, how = next((k, h) for k, h in _HOW.items() if missing[0].startswith(f"{k} "))
        raise Incorrect(
            f"{when}, {shown} returned {sorted(listed)!r}, but the stack has "
            f"{sorted(expected)!r} (in any order): {missing[0]!r} is missing. "
            f"Find the {kind} with {how}"
        )
    if extra and extra[0] in expected:
        raise Incorrect(f"{when}, {shown} listed {extra[0]!r} twice: list each resource once")
    if extra:
        raise Incorrect(
            f"{when}, {shown} listed {extra[0]!r}, which should not be there: {_WHY_NOT[scenario]}"
        )


@cache
def _code() -> bytes:
    from wsrelay.deploy import package

    return package.build_zip()


def _quiet(line: str) -> None:
    """Progress lines of the checker's own deploys are not the learner's business."""


def _clean(clients: Clients) -> None:
    """Remove what a check made, the stack's and the look-alikes (leaves nothing behind)."""
    from wsrelay.deploy.teardown import destroy

    destroy(clients, CHECKED, report=_quiet)
    destroy(clients, LOOKALIKE, report=_quiet)
    for api in clients.apigatewayv2.get_apis().get("Items", []):
        if api["Name"] == LOOKALIKE.api:
            clients.apigatewayv2.delete_api(ApiId=api["ApiId"])
    if LOOKALIKE.table in clients.dynamodb.list_tables()["TableNames"]:
        clients.dynamodb.delete_table(TableName=LOOKALIKE.table)


@contextmanager
def _checker_aws() -> Iterator[Clients]:
    """Clients of a moto server in the checker's region, cleaned before and after."""
    from wsrelay.workbook import LocalAws

    with LocalAws(region=REGION) as aws:  # moto servers in one process share their data
        clients = aws.deploy_clients()
        _clean(clients)
        try:
            yield clients
        finally:
            _clean(clients)


def _make_lookalikes(clients: Clients) -> None:
    """A table and an API with ``LOOKALIKE``'s names, made without its tags."""
    clients.dynamodb.create_table(TableName=LOOKALIKE.table, **TABLE_SCHEMA)
    clients.apigatewayv2.create_api(
        Name=LOOKALIKE.api,
        ProtocolType="WEBSOCKET",
        RouteSelectionExpression=ROUTE_SELECTION_EXPRESSION,
    )


def _check(answer: Answer) -> None:
    from wsrelay.deploy.deployer import deploy

    with _checker_aws() as clients:
        _judge(answer, clients, CHECKED, "empty", "with nothing deployed")
        deployment = deploy(clients, CHECKED, code=_code(), report=_quiet)
        _judge(answer, clients, CHECKED, "full", "after deploy")
        clients.apigatewayv2.delete_api(ApiId=deployment.api_id)
        clients.lambda_.delete_function(FunctionName=CHECKED.function)
        _judge(answer, clients, CHECKED, "halfway", "with the API and function deleted")
        _make_lookalikes(clients)
        _judge(
            answer,
            clients,
            LOOKALIKE,
            "lookalike",
            f"with an untagged table {LOOKALIKE.table} and API {LOOKALIKE.api} made by someone else",
        )


q1 = Exercise(
    title="resources_left(clients, names)",
    checker=_check,
    hints=(
        "A resource is the stack's only if it carries the stack's tags; a name alone proves "
        "nothing, and API names need not even be unique. Look each of the five up every time: "
        "a destroy may have stopped halfway.",
        "The names are `names.table`, `names.log_group`, `names.role`, `names.function`; "
        "`names.owns(tags)` tests a resource's tags. `wsrelay.deploy.aws` has a `find_*` "
        "function for each (`find_table(clients, names)` …), returning a `Found` (`.kind`, "
        "`.name`, `.owned`) or None, and `find_apis(clients, names)` for the APIs, by tags.",
        'Shape: for the four found by name, keep `f"{f.kind} {f.name}"` when `f` is not None '
        'and `f.owned`; add `f"API {api.name}"` for each API `find_apis` returns.',
    ),
    reference=resources_left,
)


# --- q2: the broadcaster's one statement -------------------------------------------------

#: Where the checker asks for the statement (not this notebook's stack).
STATEMENT_ARGS = ("eu-west-1", "111122223333", "a1b2c3d4e5", "dev")


def manage_connections_statement(region: str, account: str, api_id: str, stage: str) -> Any:
    """Model answer: POST to the connections of one API's one stage, and nothing else."""
    return {
        "Effect": "Allow",
        "Action": "execute-api:ManageConnections",
        "Resource": f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/POST/@connections/*",
    }


def _matches(pattern: str, arn: str) -> bool:
    """IAM's ARN matching: ``*`` matches any run of characters (``/`` too), ``?`` one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, arn) is not None


def _listed(value: object) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    return None


def _check_statement(answer: Callable[[str, str, str, str], object]) -> None:
    region, account, api_id, stage = STATEMENT_ARGS
    shown = f"manage_connections_statement{STATEMENT_ARGS!r}"
    got = call(answer, *STATEMENT_ARGS, what=shown)
    if not isinstance(got, dict):
        raise Incorrect(f"{shown} returned {got!r}: return a statement, a dict")
    if got.get("Effect") != "Allow":
        raise Incorrect(f'the statement\'s Effect is {got.get("Effect")!r}: "Allow"')
    actions = _listed(got.get("Action"))
    if actions is None:
        raise Incorrect("Action must be a string, or a list of strings")
    if actions != ["execute-api:ManageConnections"]:
        raise Incorrect(
            f"Action is {got.get('Action')!r}: the @connections API needs exactly "
            "execute-api:ManageConnections (execute-api:Invoke is for calling the API itself)"
        )
    resources = _listed(got.get("Resource"))
    if resources is None:
        raise Incorrect("Resource must be a string, or a list of strings")
    base = f"arn:aws:execute-api:{region}:{account}:{api_id}"
    post = f"{base}/{stage}/POST/@connections/Mg_ugfpqPHcCIVA="
    if not any(_matches(r, post) for r in resources):
        raise Incorrect(
            f"it does not allow the one call the broadcaster makes, {post}: the resource is "
            "arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{method}/@connections/{id}"
        )
    too_much = {
        "another stage's connections": f"{base}/prod/POST/@connections/Mg_ugfpqPHcCIVA=",
        "closing a connection (DELETE)": f"{base}/{stage}/DELETE/@connections/Mg_ugfpqPHcCIVA=",
        "reading a connection (GET)": f"{base}/{stage}/GET/@connections/Mg_ugfpqPHcCIVA=",
        "another API's connections": f"arn:aws:execute-api:{region}:{account}:zzzzzzzzzz/"
        f"{stage}/POST/@connections/Mg_ugfpqPHcCIVA=",
    }
    for what, arn in too_much.items():
        if any(_matches(r, arn) for r in resources):
            raise Incorrect(
                f"it also allows {what} ({arn}): the handlers only POST, to this API's "
                f"{stage} stage. Name the stage and the method; keep * for the connection id"
            )


q2 = Exercise(
    title="manage_connections_statement(region, account, api_id, stage)",
    checker=_check_statement,
    hints=(
        "The broadcaster does one thing with API Gateway: it POSTs to connections of this "
        "API's stage. Allow exactly that: one action, one resource pattern, no more.",
        "The action is `execute-api:ManageConnections`. Its resource is an ARN, "
        "`arn:aws:execute-api:{region}:{account}:{api-id}/{stage}/{METHOD}/@connections/{id}`; "
        "in a policy, `*` in it matches anything (slashes too).",
        "Shape: return a dict with `Effect`, `Action` and `Resource`, the resource naming the "
        "region, account, API and stage, then `/POST/@connections/*`.",
    ),
    reference=manage_connections_statement,
)
