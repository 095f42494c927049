"""The App as a whole: service resources, outputs, physical ids, the not-emulated list, load_app's options."""

from __future__ import annotations

from pathlib import Path

import pytest

from wsrelay.local.templates import TemplateError, load_app

from .support import app_of, base


def test_queues_topics_and_buckets_are_service_resources(tmp_path: Path) -> None:
    """SQS, SNS and S3 resources go to the all-services moto, by physical name, with their properties."""
    template = base(
        Queue={
            "Type": "AWS::SQS::Queue",
            "Properties": {"QueueName": "jobs", "VisibilityTimeout": 5},
        },
        Topic={"Type": "AWS::SNS::Topic"},
        Bucket={"Type": "AWS::S3::Bucket"},
    )
    app = app_of(tmp_path, template, stack_name="svc")
    by_id = {s.logical_id: s for s in app.service_resources}
    assert (by_id["Queue"].physical_id, dict(by_id["Queue"].properties)) == (
        "jobs",
        {"QueueName": "jobs", "VisibilityTimeout": 5},
    )
    assert by_id["Topic"].type == "AWS::SNS::Topic" and by_id["Topic"].physical_id.startswith(
        "svc-Topic-"
    )
    assert by_id["Bucket"].physical_id == by_id["Bucket"].physical_id.lower()
    assert app.resources["Queue"] == "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"


def test_everything_else_is_listed_not_emulated_once(tmp_path: Path) -> None:
    """Each resource the gateway does not run appears once, with a note where it matters."""
    template = base(
        Role={"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {}}},
        Rule={"Type": "AWS::Events::Rule", "Properties": {"ScheduleExpression": "rate(1 minute)"}},
        Mapping={
            "Type": "AWS::Lambda::EventSourceMapping",
            "Properties": {"FunctionName": {"Ref": "Fn"}},
        },
        Custom={"Type": "Custom::Thing", "Properties": {"ServiceToken": "x"}},
    )
    listed = {n.logical_id: (n.type, n.note) for n in app_of(tmp_path, template).not_emulated}
    assert set(listed) == {"Permission", "Role", "Rule", "Mapping", "Custom"}
    assert "IAM is not enforced" in listed["Role"][1]
    assert "do not fire" in listed["Rule"][1]
    assert listed["Custom"] == ("Custom::Thing", "")


def test_outputs_are_resolved_strings(tmp_path: Path) -> None:
    """Outputs resolve to strings; a list is comma-separated."""
    template = base()
    template["Outputs"] = {
        "Url": {"Value": {"Fn::Sub": "${Api.ApiEndpoint}/${Stage}"}},
        "Zones": {"Value": {"Fn::GetAZs": ""}},
        "Number": {"Value": 5},
    }
    app = app_of(tmp_path, template)
    assert app.outputs["Url"] == f"wss://{app.api.api_id}.execute-api.us-east-1.amazonaws.com/dev"
    assert app.outputs["Zones"] == "us-east-1a,us-east-1b,us-east-1c"
    assert app.outputs["Number"] == "5"


def test_every_resource_has_a_physical_id(tmp_path: Path) -> None:
    """``resources`` maps every created logical id to its physical id (Ref's value)."""
    app = app_of(tmp_path, base(), stack_name="ids")
    assert set(app.resources) == {"Api", "Fn", "Integration", "Route", "Permission", "Stage"}
    assert app.resources["Stage"] == "dev"
    assert app.resources["Fn"] == app.functions_by_logical_id["Fn"]


def test_same_template_and_stack_give_the_same_app(tmp_path: Path) -> None:
    """Names and ids are deterministic: notebooks can store their outputs."""
    first = app_of(tmp_path, base(), stack_name="same")
    second = app_of(tmp_path, base(), stack_name="same")
    assert first.resources == second.resources and first.api == second.api


def test_region_and_account_reach_arns(tmp_path: Path) -> None:
    """``region=`` and ``account_id=`` are AWS::Region and AWS::AccountId everywhere."""
    template = base()
    template["Outputs"] = {"Arn": {"Value": {"Fn::GetAtt": "Fn.Arn"}}}
    app = app_of(tmp_path, template, region="eu-west-1", account_id="111122223333")
    assert app.outputs["Arn"].startswith("arn:aws:lambda:eu-west-1:111122223333:function:")
    assert app.api_host == f"{app.api.api_id}.execute-api.eu-west-1.amazonaws.com"


def test_invalid_stack_name_is_an_error(tmp_path: Path) -> None:
    """Stack names are a letter, then letters, digits and hyphens."""
    with pytest.raises(TemplateError, match="stack name '1bad'"):
        app_of(tmp_path, base(), stack_name="1bad")


def test_a_name_both_parameter_and_resource_is_refused(tmp_path: Path) -> None:
    """Logical ids are unique across Parameters and Resources (CloudFormation's format check)."""
    template = tmp_path / "template.yaml"
    template.write_text(
        "Parameters:\n  Stage:\n    Type: String\n    Default: dev\n"
        "Resources:\n  Stage:\n    Type: AWS::SNS::Topic\n"
    )
    with pytest.raises(TemplateError, match=r"Stage is both a parameter and a resource.*rename"):
        load_app(template)
