"""Intrinsic functions, each resolved as the CloudFormation template reference says.

https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsrelay.local.templates import TemplateError

from .support import BASE, base, resolved, stack_of

FN_ARN = "arn:aws:lambda:us-east-1:123456789012:function:{name}"


def _fn_name() -> str:
    return stack_of(BASE).name("Fn")


def with_parameters(**parameters: dict[str, Any]) -> dict[str, Any]:
    template = base()
    template["Parameters"] = parameters
    return template


def test_ref_gives_a_parameter_value() -> None:
    """``Ref`` to a parameter gives its value (its default here)."""
    template = with_parameters(Env={"Type": "String", "Default": "prod"})
    assert resolved({"Ref": "Env"}, template) == "prod"


def test_ref_gives_pseudo_parameters() -> None:
    """``AWS::Region``, ``AWS::AccountId``, ``AWS::StackName``, ``AWS::Partition``, ``AWS::URLSuffix``."""
    names = ["AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::Partition", "AWS::URLSuffix"]
    values = [resolved({"Ref": name}) for name in names]
    assert values == ["us-east-1", "123456789012", "test", "aws", "amazonaws.com"]


def test_stack_id_is_a_cloudformation_stack_arn() -> None:
    """``AWS::StackId`` is ``arn:aws:cloudformation:{region}:{account}:stack/{name}/{uuid}``."""
    value = resolved({"Ref": "AWS::StackId"})
    assert value.startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/test/")
    assert len(value.rsplit("/", 1)[1]) == 36
    assert value == resolved({"Ref": "AWS::StackId"})


def test_ref_of_a_lambda_function_is_its_name() -> None:
    """``Ref`` of an ``AWS::Lambda::Function`` is its name (Return values)."""
    assert resolved({"Ref": "Fn"}) == _fn_name()


def test_get_att_list_and_dotted_forms_agree() -> None:
    """``Fn::GetAtt: [Fn, Arn]`` and ``Fn.Arn`` give the function's ARN."""
    arn = FN_ARN.format(name=_fn_name())
    assert resolved({"Fn::GetAtt": ["Fn", "Arn"]}) == arn
    assert resolved({"Fn::GetAtt": "Fn.Arn"}) == arn


def test_get_att_attribute_name_may_come_from_a_ref() -> None:
    """The list form takes its attribute name from a ``Ref`` (the logical id never)."""
    template = with_parameters(Attr={"Type": "String", "Default": "ApiEndpoint"})
    value = resolved({"Fn::GetAtt": ["Api", {"Ref": "Attr"}]}, template)
    assert value == f"wss://{stack_of(BASE).name('Api')}.execute-api.us-east-1.amazonaws.com"


def test_sub_replaces_refs_attributes_and_pseudo_parameters() -> None:
    """``${Name}`` is a Ref, ``${Res.Attr}`` a GetAtt, ``${AWS::Region}`` a pseudo parameter."""
    value = resolved({"Fn::Sub": "${Fn}|${Fn.Arn}|${AWS::Region}"})
    assert value == f"{_fn_name()}|{FN_ARN.format(name=_fn_name())}|us-east-1"


def test_sub_with_a_variable_map() -> None:
    """The map's variables win over names, and their values may be functions themselves."""
    value = resolved(
        {"Fn::Sub": ["${Fn}-${Region}", {"Fn": "mine", "Region": {"Ref": "AWS::Region"}}]}
    )
    assert value == "mine-us-east-1"


def test_sub_writes_literals_out() -> None:
    """``${!Literal}`` resolves to ``${Literal}`` (and is not a reference)."""
    assert (
        resolved({"Fn::Sub": "${!NotAResource} and ${!AWS::Region}"})
        == "${NotAResource} and ${AWS::Region}"
    )


def test_sub_refuses_a_list_variable() -> None:
    """A list parameter in ``Fn::Sub`` is an error: it substitutes strings only."""
    template = with_parameters(Names={"Type": "CommaDelimitedList", "Default": "a,b"})
    with pytest.raises(TemplateError, match=r"Fn::Sub variable \$\{Names\} must be a string"):
        resolved({"Fn::Sub": "${Names}"}, template)


def test_join_of_values_and_nested_functions() -> None:
    """``Fn::Join`` joins values, some of them functions."""
    value = resolved(
        {"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}, {"Fn::Select": [1, ["x", "y"]]}]]}
    )
    assert value == "a-us-east-1-y"


def test_join_of_a_list_parameter() -> None:
    """The list may be a function giving a list (a CommaDelimitedList parameter)."""
    template = with_parameters(Names={"Type": "CommaDelimitedList", "Default": "a, b ,c"})
    assert resolved({"Fn::Join": ["+", {"Ref": "Names"}]}, template) == "a+b+c"


def test_select_takes_an_index_as_a_string() -> None:
    """``Fn::Select``'s index may be a string holding a number."""
    assert resolved({"Fn::Select": ["2", ["a", "b", "c"]]}) == "c"


def test_select_out_of_range_is_an_error() -> None:
    """An index past the list is an error naming both."""
    with pytest.raises(TemplateError, match="index 3 is out of range for a list of 3"):
        resolved({"Fn::Select": [3, ["a", "b", "c"]]})


def test_split_then_select() -> None:
    """``Fn::Split`` gives a list ``Fn::Select`` picks from (empty members kept)."""
    assert resolved({"Fn::Split": [",", "a,,b"]}) == ["a", "", "b"]
    assert (
        resolved({"Fn::Select": [1, {"Fn::Split": ["/", {"Fn::Sub": "x/${AWS::Region}"}]}]})
        == "us-east-1"
    )


def test_base64() -> None:
    """``Fn::Base64`` encodes the resolved string."""
    value = resolved({"Fn::Base64": {"Fn::Sub": "hi ${AWS::Region}"}})
    assert base64.b64decode(value) == b"hi us-east-1"


def test_get_azs_of_the_stack_region() -> None:
    """``Fn::GetAZs: ""`` lists zones of the stack's region."""
    zones = resolved({"Fn::GetAZs": ""})
    assert zones and all(zone.startswith("us-east-1") for zone in zones)
    assert resolved({"Fn::Select": [0, {"Fn::GetAZs": {"Ref": "AWS::Region"}}]}) == zones[0]


def test_find_in_map() -> None:
    """``Fn::FindInMap`` reads Mappings with keys that may be functions."""
    template = base()
    template["Mappings"] = {"Sizes": {"us-east-1": {"Memory": 512}}}
    assert resolved({"Fn::FindInMap": ["Sizes", {"Ref": "AWS::Region"}, "Memory"]}, template) == 512


def test_find_in_map_missing_key_is_an_error() -> None:
    """A key the map has not got names the path."""
    template = base()
    template["Mappings"] = {"Sizes": {"us-east-1": {"Memory": 512}}}
    with pytest.raises(TemplateError, match=r"Mappings has no Sizes\.eu-west-1"):
        resolved({"Fn::FindInMap": ["Sizes", "eu-west-1", "Memory"]}, template)


def test_no_value_removes_keys_and_list_items() -> None:
    """``Ref: AWS::NoValue`` removes the key or the list item holding it, at any depth."""
    value = resolved(
        {
            "keep": 1,
            "drop": {"Ref": "AWS::NoValue"},
            "list": ["a", {"Ref": "AWS::NoValue"}, "b"],
            "deep": {"drop": {"Fn::If": ["Never", "x", {"Ref": "AWS::NoValue"}]}},
        },
        {**base(), "Conditions": {"Never": {"Fn::Equals": ["a", "b"]}}},
    )
    assert value == {"keep": 1, "list": ["a", "b"], "deep": {}}


def test_no_value_as_a_whole_property_removes_it() -> None:
    """A property that resolves to AWS::NoValue is not there at all."""
    assert resolved({"Ref": "AWS::NoValue"}) is None


def test_if_picks_a_branch() -> None:
    """``Fn::If`` resolves only the chosen branch (the other may be anything)."""
    template = {**base(), "Conditions": {"Yes": {"Fn::Equals": ["a", "a"]}}}
    assert resolved({"Fn::If": ["Yes", "chosen", {"Fn::Select": [9, []]}]}, template) == "chosen"


def test_nested_functions_three_deep() -> None:
    """Functions nest: Sub inside Join inside Select inside Split."""
    value = resolved(
        {
            "Fn::Select": [
                1,
                {"Fn::Split": ["|", {"Fn::Join": ["|", ["a", {"Fn::Sub": "${AWS::AccountId}"}]]}]},
            ]
        }
    )
    assert value == "123456789012"


@pytest.mark.parametrize(
    ("function", "why"),
    [
        ({"Fn::ImportValue": "SharedTable"}, "export of another stack"),
        ({"Fn::Cidr": ["10.0.0.0/16", 2, 8]}, "VPC networking"),
        ({"Fn::Transform": {"Name": "AWS::Include"}}, "macro"),
    ],
)
def test_refused_functions_say_why_and_what_to_do(function: dict[str, Any], why: str) -> None:
    """ImportValue, Cidr and Transform refuse with one line naming the resource."""
    with pytest.raises(TemplateError) as caught:
        resolved(function)
    message = str(caught.value)
    assert message.startswith("template.json: Probe (AWS::SSM::Parameter")
    assert why in message and "\n" not in message


def test_import_value_names_the_parameter_way() -> None:
    """Fn::ImportValue tells the user to pass the value as a parameter."""
    with pytest.raises(TemplateError, match="--parameter-overrides"):
        resolved({"Fn::ImportValue": "SharedTable"})


def test_condition_functions_outside_conditions_are_an_error() -> None:
    """``Fn::Equals`` in a property is not CloudFormation: an error, not a boolean."""
    with pytest.raises(TemplateError, match="only in the Conditions section"):
        resolved({"Fn::Equals": ["a", "a"]})


def test_unknown_function_is_an_error() -> None:
    """A made-up ``Fn::`` name is an error."""
    with pytest.raises(TemplateError, match="Fn::Reverse is not a CloudFormation intrinsic"):
        resolved({"Fn::Reverse": "abc"})


def test_values_that_are_not_functions_stay() -> None:
    """A mapping with two keys is data, even if one is named Ref."""
    assert resolved({"Ref": "Fn", "Other": 1}) == {"Ref": "Fn", "Other": 1}


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(st.lists(_TEXT.filter(lambda t: "," not in t), min_size=1, max_size=6))
def test_split_undoes_join(items: list[str]) -> None:
    """``Fn::Split`` by the delimiter undoes ``Fn::Join`` of strings without it."""
    assert resolved({"Fn::Split": [",", {"Fn::Join": [",", items]}]}) == items


@given(_TEXT.filter(lambda t: "}" not in t))
def test_sub_literal_is_written_out_verbatim(name: str) -> None:
    """``${!anything}`` comes out as ``${anything}``, never looked up."""
    assert resolved({"Fn::Sub": "<${!" + name + "}>"}) == "<${" + name + "}>"


@given(_TEXT.filter(lambda t: "$" not in t))
def test_sub_leaves_text_without_variables_alone(text: str) -> None:
    """A string without ``${`` is its own ``Fn::Sub``."""
    assert resolved({"Fn::Sub": text}) == text
