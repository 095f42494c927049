"""``wsrelay.exercises.nb06``: the checkers of ``resources_left`` and of the broadcaster's IAM
statement, each proven three ways.

The untouched stub reads as "not attempted", the reference passes, and known-wrong answers
fail with a message that names the mistake. The checker runs its own moto server, so these
tests need no fixture.
"""

from __future__ import annotations

from typing import Any

import pytest

from wsrelay.deploy.aws import Clients
from wsrelay.deploy.stack import StackNames
from wsrelay.exercises import nb06

pytestmark = pytest.mark.integration


def resources_left(clients, names):
    """Return the resources of the stack `names` that exist, as "kind name" strings."""
    raise NotImplementedError("replace this line with your code")


def by_name_only(clients: Clients, names: StackNames) -> list[str]:
    """Wrong: finds each resource by its name and never looks at the tags."""
    left = []
    if names.table in clients.dynamodb.list_tables()["TableNames"]:
        left.append(f"table {names.table}")
    groups = clients.logs.describe_log_groups(logGroupNamePrefix=names.log_group)["logGroups"]
    if any(g["logGroupName"] == names.log_group for g in groups):
        left.append(f"log group {names.log_group}")
    if any(r["RoleName"] == names.role for r in clients.iam.list_roles()["Roles"]):
        left.append(f"role {names.role}")
    functions = clients.lambda_.list_functions()["Functions"]
    if any(f["FunctionName"] == names.function for f in functions):
        left.append(f"function {names.function}")
    apis = clients.apigatewayv2.get_apis()["Items"]
    left += [f"API {a['Name']}" for a in apis if a["Name"] == names.api]
    return left


def without_apis(clients: Clients, names: StackNames) -> list[str]:
    """Wrong: the reference without the APIs."""
    return [item for item in nb06.resources_left(clients, names) if not item.startswith("API ")]


def names_only(clients: Clients, names: StackNames) -> list[str]:
    """Wrong: the names without their kinds."""
    return [item.split(" ")[-1] for item in nb06.resources_left(clients, names)]


def always_everything(clients: Clients, names: StackNames) -> list[str]:
    """Wrong: assumes the stack is deployed."""
    return nb06.everything(names)


def listed_twice(clients: Clients, names: StackNames) -> list[str]:
    """Wrong: lists the table twice."""
    left = nb06.resources_left(clients, names)
    return left + [item for item in left if item.startswith("table ")]


def crashes(clients: Clients, names: StackNames) -> list[str]:
    """Wrong: asks for a table by a name the stack does not use."""
    clients.dynamodb.describe_table(TableName=f"{names.stack}-connections")
    return []


def test_untouched_stub_is_not_attempted() -> None:
    """The notebook's stub, word for word, reads as "not attempted"."""
    result = nb06.q1.result(resources_left)
    assert result.status == "not attempted"
    assert "edit the function" in result.message


def test_an_attempt_that_still_raises_not_implemented_is_not_attempted() -> None:
    """An edited answer that still raises ``NotImplementedError`` reads as "not attempted"."""

    def started(clients: Clients, names: StackNames) -> list[str]:
        clients.dynamodb.list_tables()
        raise NotImplementedError

    assert nb06.q1.result(started).status == "not attempted"


def test_reference_is_correct() -> None:
    """The reference passes every scenario, and leaves nothing behind in the checker's region."""
    from wsrelay.exercises.nb06 import _checker_aws

    assert nb06.q1.result(nb06.q1.reference).correct
    with _checker_aws() as clients:
        assert nb06.resources_left(clients, nb06.CHECKED) == []
        assert clients.dynamodb.list_tables()["TableNames"] == []
        assert clients.apigatewayv2.get_apis()["Items"] == []


def test_ignoring_tags_is_incorrect_and_says_why() -> None:
    """Finding resources by name alone lists the look-alikes, and the message names tags."""
    result = nb06.q1.result(by_name_only)
    assert result.status == "incorrect"
    assert "'table quiz-ops-connections'" in result.message
    assert "not its tags" in result.message
    assert "names.owns(tags)" in result.message


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (without_apis, ["after deploy", "'API quiz-dev' is missing", "get_apis()"]),
        (names_only, ["after deploy", "name the kind too, 'table quiz-dev-connections'"]),
        (always_everything, ["with nothing deployed", "nothing of the stack is deployed"]),
        (listed_twice, ["'table quiz-dev-connections' twice"]),
        (crashes, ["raised ResourceNotFoundException", "not-found exception"]),
    ],
)
def test_known_wrong_answers_are_incorrect_with_a_useful_message(
    answer: nb06.Answer, expected: list[str]
) -> None:
    """Each known-wrong answer fails, and the message says where and what to fix."""
    result = nb06.q1.result(answer)
    assert result.status == "incorrect"
    for part in expected:
        assert part in result.message


def test_a_value_that_is_not_a_list_is_incorrect() -> None:
    """Returning text instead of a list is named as such."""

    def text(clients: Clients, names: StackNames) -> str:
        return ", ".join(nb06.resources_left(clients, names))

    result = nb06.q1.result(text)
    assert result.status == "incorrect"
    assert "return a list of strings" in result.message


def test_solution_shows_the_model_answer_as_the_learner_writes_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``solution()`` prints the model answer, with the stub's def line (no type hints)."""
    nb06.q1.solution()
    out = capsys.readouterr().out
    assert "def resources_left(clients, names):" in out
    assert "find_apis(clients, names)" in out


# --- q2: the broadcaster's one statement ---------------------------------------------------


def manage_connections_statement(region, account, api_id, stage):
    """The IAM statement that lets the broadcaster POST to this API stage's connections."""
    raise NotImplementedError("replace this line with your code")


def test_statement_stub_is_not_attempted() -> None:
    """The notebook's stub reads as "not attempted"."""
    assert nb06.q2.result(manage_connections_statement).status == "not attempted"


def test_statement_model_answer_is_correct() -> None:
    """The model answer allows the broadcaster's call and nothing the check tries beside it."""
    assert nb06.q2.result(nb06.q2.reference).correct


def _statement(action: object, resource: object) -> object:
    def answer(region, account, api_id, stage):
        return {"Effect": "Allow", "Action": action, "Resource": resource}

    return answer


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (_statement("execute-api:ManageConnections", "*"), ["another stage's connections"]),
        (
            _statement(
                "execute-api:ManageConnections",
                "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/*",
            ),
            ["another stage's connections", "Name the stage and the method"],
        ),
        (
            _statement(
                "execute-api:ManageConnections",
                "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/dev/*/@connections/*",
            ),
            ["closing a connection (DELETE)"],
        ),
        (
            _statement(
                "execute-api:Invoke",
                "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/dev/POST/@connections/*",
            ),
            ["exactly execute-api:ManageConnections"],
        ),
        (
            _statement(
                "execute-api:ManageConnections",
                "arn:aws:apigateway:eu-west-1::/apis/a1b2c3d4e5",
            ),
            ["it does not allow the one call the broadcaster makes"],
        ),
    ],
    ids=["star", "whole-api", "any-method", "invoke", "apigateway-arn"],
)
def test_statement_known_wrong_answers_are_incorrect(answer: Any, expected: list[str]) -> None:
    """Too wide a resource, the wrong action or the wrong kind of ARN fails, saying which."""
    result = nb06.q2.result(answer)
    print(result)
    assert result.status == "incorrect"
    for part in expected:
        assert part in result.message


def test_iam_arn_matching() -> None:
    """``*`` matches any run of characters, slashes included; other characters match themselves."""
    assert nb06._matches("arn:aws:execute-api:*:*:abc/*", "arn:aws:execute-api:r:1:abc/dev/POST/x")
    assert not nb06._matches(
        "arn:aws:execute-api:r:1:abc/dev/*", "arn:aws:execute-api:r:1:abc/prod/x"
    )
    assert nb06._matches("a?c", "abc") and not nb06._matches("a.c", "abc")
