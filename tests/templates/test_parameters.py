"""Parameters: defaults, overrides, types and constraints, each passing and failing.

https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/parameters-section-structure.html
"""

from __future__ import annotations

from typing import Any

import pytest

from wsrelay.local.templates import TemplateError
from wsrelay.local.templates.parameters import resolve_parameters
from wsrelay.local.templates.source import Where


def values(declared: dict[str, Any], overrides: dict[str, str] | None = None) -> dict[str, Any]:
    return resolve_parameters(declared, overrides, lambda name: Where("template.yaml", name))


def one(spec: dict[str, Any], value: str | None = None) -> Any:
    return values({"P": spec}, None if value is None else {"P": value})["P"]


def test_default_is_used() -> None:
    """A parameter without an override takes its Default, as a string."""
    assert values(
        {"Stage": {"Type": "String", "Default": "dev"}, "N": {"Type": "Number", "Default": 5}}
    ) == {
        "Stage": "dev",
        "N": "5",
    }


def test_override_wins() -> None:
    """An override replaces the Default."""
    assert one({"Type": "String", "Default": "dev"}, "prod") == "prod"


def test_missing_value_is_an_error_naming_it() -> None:
    """No Default and no override: one line naming the parameter and the option."""
    with pytest.raises(TemplateError) as caught:
        values({"Bucket": {"Type": "String"}})
    assert str(caught.value) == (
        "template.yaml: Parameters.Bucket: has no Default and no value was given: "
        "pass one with --parameter-overrides Bucket=VALUE"
    )


def test_override_of_an_undeclared_parameter_is_an_error() -> None:
    """A value for a parameter the template does not declare names it and the declared ones."""
    with pytest.raises(
        TemplateError,
        match=r"gives Stgae, which the template does not declare \(it declares: Stage\)",
    ):
        values({"Stage": {"Type": "String", "Default": "dev"}}, {"Stgae": "prod"})


def test_allowed_values_pass_and_fail() -> None:
    """A value among AllowedValues passes; another is an error listing them."""
    spec = {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]}
    assert one(spec, "prod") == "prod"
    with pytest.raises(
        TemplateError, match=r"'test' is not one of its AllowedValues \['dev', 'prod'\]"
    ):
        one(spec, "test")


def test_allowed_pattern_must_match_the_whole_value() -> None:
    """AllowedPattern matches the entire value: a matching prefix is not enough."""
    spec = {"Type": "String", "Default": "dev", "AllowedPattern": "[a-z]+"}
    assert one(spec, "prod") == "prod"
    with pytest.raises(
        TemplateError, match=r"'prod1' does not match its AllowedPattern '\[a-z\]\+'"
    ):
        one(spec, "prod1")


def test_failing_pattern_quotes_the_constraint_description() -> None:
    """ConstraintDescription explains a failed constraint, as CloudFormation shows it."""
    spec = {
        "Type": "String",
        "Default": "x",
        "AllowedPattern": "[a-z]+",
        "ConstraintDescription": "lower case only",
    }
    with pytest.raises(TemplateError, match=r"\(lower case only\)"):
        one(spec, "ABC")


def test_min_and_max_length() -> None:
    """MinLength and MaxLength bound a String's length."""
    spec = {"Type": "String", "Default": "ab", "MinLength": 2, "MaxLength": 3}
    assert one(spec, "abc") == "abc"
    with pytest.raises(TemplateError, match="has 1 characters, outside its MinLength 2"):
        one(spec, "a")
    with pytest.raises(TemplateError, match="has 4 characters, outside its MaxLength 3"):
        one(spec, "abcd")


def test_number_is_checked_and_given_as_a_string() -> None:
    """A Number must be a number within MinValue/MaxValue; Ref gives it as a string."""
    spec = {"Type": "Number", "Default": 5, "MinValue": 1, "MaxValue": 10}
    assert one(spec, "7.5") == "7.5"
    with pytest.raises(TemplateError, match="'five' is not a number"):
        one(spec, "five")
    with pytest.raises(TemplateError, match="outside its MinValue 1"):
        one(spec, "0")
    with pytest.raises(TemplateError, match="outside its MaxValue 10"):
        one(spec, "11")


def test_comma_delimited_list_members_are_trimmed() -> None:
    """A CommaDelimitedList is split at commas, each member trimmed of spaces."""
    assert one({"Type": "CommaDelimitedList", "Default": "a, b ,c"}) == ["a", "b", "c"]


def test_list_pattern_applies_to_each_member() -> None:
    """AllowedPattern applies to each member of a CommaDelimitedList."""
    spec = {"Type": "CommaDelimitedList", "Default": "a", "AllowedPattern": "[a-z]"}
    assert one(spec, "a,b") == ["a", "b"]
    with pytest.raises(TemplateError, match="'bb' does not match"):
        one(spec, "a,bb")


def test_list_of_numbers() -> None:
    """``List<Number>``: each member must be a number."""
    assert one({"Type": "List<Number>", "Default": "1,2"}) == ["1", "2"]
    with pytest.raises(TemplateError, match="'x' is not a number"):
        one({"Type": "List<Number>", "Default": "1,x"})


def test_ssm_parameter_type_needs_a_value_passed() -> None:
    """An SSM parameter type is refused unless its value is passed, with how to pass it."""
    spec = {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/app/table"}
    with pytest.raises(
        TemplateError,
        match=r"reads '/app/table' from SSM Parameter Store.*--parameter-overrides P=VALUE",
    ):
        one(spec)
    assert one(spec, "my-table") == "my-table"


def test_parameter_without_type_is_an_error() -> None:
    """Type is required."""
    with pytest.raises(TemplateError, match="has no Type"):
        values({"P": {"Default": "x"}})
