"""References are checked before anything is resolved, as CloudFormation validates a template."""

from __future__ import annotations

import pytest

from wsrelay.local.templates import TemplateError

from .support import base, stack_of


def probe(value: object, **extra: object) -> dict[str, object]:
    return base(Probe={"Type": "AWS::SSM::Parameter", "Properties": {"Value": value}, **extra})


def test_unknown_ref_target_is_an_error_with_a_suggestion() -> None:
    """A Ref to a name the template has not got names the resource and the closest name."""
    with pytest.raises(TemplateError) as caught:
        stack_of(probe({"Ref": "Stgae"}))
    assert str(caught.value) == (
        "template.json: Probe (AWS::SSM::Parameter): Ref Stgae: the template has no parameter "
        "or resource of that name: did you mean Stage?"
    )


def test_unknown_get_att_target_is_an_error() -> None:
    """Fn::GetAtt of a resource the template has not got."""
    with pytest.raises(
        TemplateError, match="Fn::GetAtt Table: the template has no resource of that name"
    ):
        stack_of(probe({"Fn::GetAtt": ["Table", "Arn"]}))


def test_unknown_sub_variable_is_an_error() -> None:
    """An Fn::Sub variable that is neither in its map nor a name."""
    with pytest.raises(
        TemplateError, match="Ref Missing: the template has no parameter or resource"
    ):
        stack_of(probe({"Fn::Sub": ["${Known}-${Missing}", {"Known": "k"}]}))


def test_unknown_reference_in_a_branch_not_taken_is_still_an_error() -> None:
    """CloudFormation checks every branch of an Fn::If."""
    template = probe({"Fn::If": ["Never", {"Ref": "Ghost"}, "x"]})
    template["Conditions"] = {"Never": {"Fn::Equals": ["a", "b"]}}
    with pytest.raises(TemplateError, match="Ref Ghost"):
        stack_of(template)


def test_unknown_depends_on_is_an_error() -> None:
    """DependsOn a resource the template has not got."""
    with pytest.raises(TemplateError, match="DependsOn Nowhere"):
        stack_of(probe("x", DependsOn=["Nowhere"]))


def test_unknown_reference_in_outputs_is_an_error() -> None:
    """Outputs are checked too."""
    template = base()
    template["Outputs"] = {"Url": {"Value": {"Fn::GetAtt": "Apii.ApiEndpoint"}}}
    with pytest.raises(TemplateError, match=r"Outputs\.Url: Fn::GetAtt Apii: .*did you mean Api\?"):
        stack_of(template)


def test_circular_dependency_is_an_error_naming_the_circle() -> None:
    """Two resources referring to each other (here through DependsOn and a Ref)."""
    template = base(
        A={
            "Type": "AWS::SQS::Queue",
            "Properties": {"Tags": [{"Key": "b", "Value": {"Ref": "B"}}]},
        },
        B={"Type": "AWS::SQS::Queue", "DependsOn": "A"},
    )
    with pytest.raises(TemplateError, match="circular dependency between resources: A -> B -> A"):
        stack_of(template)


def test_references_to_parameters_and_pseudo_parameters_are_fine() -> None:
    """Parameters, pseudo parameters and AWS::NoValue are known names."""
    template = probe({"Fn::Sub": "${AWS::Region}-${Env}"})
    template["Parameters"] = {"Env": {"Type": "String", "Default": "dev"}}
    assert stack_of(template).prop("Probe", "Value") == "us-east-1-dev"
