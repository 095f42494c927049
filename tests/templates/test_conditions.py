"""Conditions: evaluated as CloudFormation does, and what they do to resources and outputs.

https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-conditions.html
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from wsrelay.local.templates import TemplateError

from .support import app_of, base, resolved, stack_of


def conditional(
    conditions: dict[str, Any], parameters: dict[str, Any] | None = None
) -> dict[str, Any]:
    template = base()
    template["Conditions"] = conditions
    if parameters:
        template["Parameters"] = parameters
    return template


def value_if(
    condition: Any,
    parameters: dict[str, Any] | None = None,
    overrides: dict[str, str] | None = None,
) -> Any:
    template = conditional({"C": condition}, parameters)
    return resolved({"Fn::If": ["C", "yes", "no"]}, template, overrides)


ENV = {"Env": {"Type": "String", "Default": "dev"}}


def test_equals_compares_parameter_values() -> None:
    """``Fn::Equals`` holds when the parameter has that value."""
    assert value_if({"Fn::Equals": [{"Ref": "Env"}, "prod"]}, ENV, {"Env": "prod"}) == "yes"
    assert value_if({"Fn::Equals": [{"Ref": "Env"}, "prod"]}, ENV) == "no"


def test_equals_compares_a_number_parameter_as_a_string() -> None:
    """A Number parameter's value "3" equals the template's 3."""
    parameters = {"Count": {"Type": "Number", "Default": 3}}
    assert value_if({"Fn::Equals": [{"Ref": "Count"}, 3]}, parameters) == "yes"


def test_and_or_not() -> None:
    """``Fn::And``, ``Fn::Or`` and ``Fn::Not`` combine conditions."""
    true, false = {"Fn::Equals": ["a", "a"]}, {"Fn::Equals": ["a", "b"]}
    assert value_if({"Fn::And": [true, true]}) == "yes"
    assert value_if({"Fn::And": [true, false]}) == "no"
    assert value_if({"Fn::Or": [false, true]}) == "yes"
    assert value_if({"Fn::Not": [true]}) == "no"


def test_a_condition_may_name_another() -> None:
    """``{"Condition": Name}`` inside a condition function uses that condition."""
    template = conditional(
        {
            "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
            "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        },
        ENV,
    )
    assert resolved({"Fn::If": ["NotProd", "yes", "no"]}, template) == "yes"


def test_and_takes_two_to_ten_conditions() -> None:
    """``Fn::And`` with a single condition is an error."""
    with pytest.raises(TemplateError, match="Fn::And takes a list of 2 to 10"):
        value_if({"Fn::And": [{"Fn::Equals": ["a", "a"]}]})


def test_circular_conditions_are_an_error() -> None:
    """Conditions that refer to each other in a circle are an error naming the circle."""
    template = conditional(
        {"A": {"Fn::Not": [{"Condition": "B"}]}, "B": {"Fn::Not": [{"Condition": "A"}]}}
    )
    with pytest.raises(TemplateError, match="circular conditions: A -> B -> A"):
        resolved({"Fn::If": ["A", 1, 2]}, template)


def test_unknown_condition_is_an_error() -> None:
    """``Fn::If`` on a condition the template does not declare names it."""
    with pytest.raises(TemplateError, match="condition Missing is not in the Conditions section"):
        resolved({"Fn::If": ["Missing", 1, 2]}, conditional({"Other": {"Fn::Equals": [1, 1]}}))


def test_resource_condition_false_drops_the_resource() -> None:
    """A resource whose Condition is false is not created."""
    template = conditional({"Never": {"Fn::Equals": ["a", "b"]}})
    template["Resources"]["Queue"] = {"Type": "AWS::SQS::Queue", "Condition": "Never"}
    stack = stack_of(template)
    assert "Queue" not in stack.resources
    assert stack.excluded == {"Queue": "Never"}


def test_ref_to_a_dropped_resource_is_an_error() -> None:
    """Referring to a resource that is not created says so and how to guard it."""
    template = conditional({"Never": {"Fn::Equals": ["a", "b"]}})
    template["Resources"]["Queue"] = {"Type": "AWS::SQS::Queue", "Condition": "Never"}
    with pytest.raises(
        TemplateError, match=r"not created .*Condition Never is false.*Fn::If Never"
    ):
        resolved({"Ref": "Queue"}, template)


def test_output_with_a_false_condition_is_left_out(tmp_path: Path) -> None:
    """An output whose Condition is false is not among the outputs."""
    template = conditional({"Never": {"Fn::Equals": ["a", "b"]}})
    template["Outputs"] = {"Shown": {"Value": "x"}, "Hidden": {"Value": "y", "Condition": "Never"}}
    assert app_of(tmp_path, template).outputs == {"Shown": "x"}
