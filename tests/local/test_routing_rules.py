"""Route selection expressions and API Gateway's own frames, as plain functions.

Expected values are the table of "Route selection expressions" in AWS's routes page
(https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html)
for the payload ``{"service": "chat", "action": "join", "data": {"room": "room1234"}}``, and
the raw frames of aws-samples/simple-websockets-chat-app#42 and nearst/laconia#41.
"""

from __future__ import annotations

import json

import pytest

from wsrelay.local.apigateway.routing import (
    SelectionExpression,
    gateway_error_frame,
    select_route,
    stringify,
)
from wsrelay.local.routing import select_route as notebook_select_route

PAYLOAD = json.dumps({"service": "chat", "action": "join", "data": {"room": "room1234"}})


@pytest.mark.parametrize(
    ("expression", "key"),
    [
        ("$request.body.action", "join"),  # an unwrapped variable
        ("${request.body.action}", "join"),  # a wrapped variable
        ("${request.body.service}/${request.body.action}", "chat/join"),  # with static text
        ("${request.body.action}-${request.body.invalidPath}", "join-"),  # not found: ""
        ("action", "action"),  # a static value
        ("\\$default", "$default"),  # an escaped dollar
        ("$request.body.data.room", "room1234"),  # a JSONPath
        ("${request.body['data']['room']}", "room1234"),
    ],
)
def test_the_documented_expressions(expression: str, key: str) -> None:
    """Each form in AWS's table evaluates to the key the table gives."""
    assert SelectionExpression.compile(expression).evaluate(PAYLOAD) == key


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (42, "42"),
        (1.5, "1.5"),
        (True, "true"),
        ("text", "text"),
        (["item1", "item2"], "[item1, item2]"),  # the documented array form
        ([1, [2, 3]], "[1, [2, 3]]"),
        ({"a": 1}, "{a=1}"),
    ],
)
def test_values_are_stringified(value: object, text: str) -> None:
    """ "The result will be stringified": an array of two reads "[item1, item2]"."""
    assert stringify(value) == text
    assert SelectionExpression.compile("$request.body.v").evaluate(json.dumps({"v": value})) == text


def test_a_frame_that_is_not_json_evaluates_variables_to_nothing() -> None:
    expression = SelectionExpression.compile("${request.body.service}/${request.body.action}")
    assert expression.evaluate("hello") == "/"


@pytest.mark.parametrize(
    ("body", "route"),
    [
        ('{"action": "join"}', "join"),
        ('{"action": "nosuch"}', "$default"),
        ('{"action": "$connect"}', "$default"),  # never a message's route
        ('{"action": "$disconnect"}', "$default"),
        ("not json", "$default"),
        ('{"action": ["a", "b"]}', "[a, b]"),
        ('{"action": null}', "$default"),
    ],
)
def test_select_route(body: str, route: str) -> None:
    keys = {"$connect", "$disconnect", "$default", "join", "[a, b]"}
    assert select_route("$request.body.action", body, keys) == route


def test_no_match_and_no_default_is_none() -> None:
    """Then the client gets the Forbidden frame."""
    assert select_route("$request.body.action", '{"action": "x"}', {"join"}) is None


def test_the_escaped_default_expression_sends_everything_to_default() -> None:
    assert select_route("\\$default", '{"action": "join"}', {"join", "$default"}) == "$default"


def test_the_notebooks_import_still_works() -> None:
    """Notebook 01 imports ``wsrelay.local.routing.select_route``."""
    assert notebook_select_route is select_route


@pytest.mark.parametrize("message", ["Internal server error", "Forbidden"])
def test_gateway_error_frames_byte_for_byte(message: str) -> None:
    """A space after the first colon only, as the raw captures show."""
    assert gateway_error_frame(message, "L0SM9cOFvHcCIhw=", "L0SM9FpWPHcFfhw=") == (
        f'{{"message": "{message}", "connectionId":"L0SM9cOFvHcCIhw=", '
        '"requestId":"L0SM9FpWPHcFfhw="}'
    )
