"""``Ref`` and ``Fn::GetAtt`` per resource type, as each type's "Return values" section documents."""

from __future__ import annotations

from typing import Any

import pytest

from wsrelay.local.templates import TemplateError

from .support import base, resolved, stack_of


def with_resource(logical_id: str, type_: str, **properties: Any) -> dict[str, Any]:
    return base(**{logical_id: {"Type": type_, "Properties": properties}})


def test_queue_ref_is_its_url_and_attributes() -> None:
    """SQS: Ref is the queue URL; Arn, QueueName and QueueUrl attributes."""
    template = with_resource("Queue", "AWS::SQS::Queue", QueueName="jobs")
    assert (
        resolved({"Ref": "Queue"}, template)
        == "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
    )
    assert (
        resolved({"Fn::GetAtt": "Queue.QueueUrl"}, template)
        == "https://sqs.us-east-1.amazonaws.com/123456789012/jobs"
    )
    assert (
        resolved({"Fn::GetAtt": "Queue.Arn"}, template) == "arn:aws:sqs:us-east-1:123456789012:jobs"
    )
    assert resolved({"Fn::GetAtt": "Queue.QueueName"}, template) == "jobs"


def test_topic_ref_is_its_arn() -> None:
    """SNS: Ref is the topic ARN; TopicArn and TopicName attributes."""
    template = with_resource("Topic", "AWS::SNS::Topic", TopicName="news")
    assert resolved({"Ref": "Topic"}, template) == "arn:aws:sns:us-east-1:123456789012:news"
    assert (
        resolved({"Fn::GetAtt": "Topic.TopicArn"}, template)
        == "arn:aws:sns:us-east-1:123456789012:news"
    )
    assert resolved({"Fn::GetAtt": "Topic.TopicName"}, template) == "news"


def test_bucket_ref_is_its_name_and_arn_has_no_region() -> None:
    """S3: Ref is the bucket name; its ARN has neither region nor account."""
    template = with_resource("Bucket", "AWS::S3::Bucket", BucketName="uploads")
    assert resolved({"Ref": "Bucket"}, template) == "uploads"
    assert resolved({"Fn::GetAtt": "Bucket.Arn"}, template) == "arn:aws:s3:::uploads"
    assert (
        resolved({"Fn::GetAtt": "Bucket.RegionalDomainName"}, template)
        == "uploads.s3.us-east-1.amazonaws.com"
    )


def test_websocket_api_ref_is_its_id_and_endpoint_is_wss() -> None:
    """ApiGatewayV2 Api: Ref is the id; ApiEndpoint is wss:// for WEBSOCKET, https:// for HTTP."""
    template = with_resource("Http", "AWS::ApiGatewayV2::Api", Name="h", ProtocolType="HTTP")
    stack = stack_of(template)
    api_id = stack.name("Api")
    assert resolved({"Ref": "Api"}, template) == api_id
    assert resolved({"Fn::GetAtt": "Api.ApiId"}, template) == api_id
    assert (
        resolved({"Fn::GetAtt": "Api.ApiEndpoint"}, template)
        == f"wss://{api_id}.execute-api.us-east-1.amazonaws.com"
    )
    assert resolved({"Fn::GetAtt": "Http.ApiEndpoint"}, template).startswith("https://")


def test_stage_ref_is_its_name() -> None:
    """ApiGatewayV2 Stage: Ref is the stage name."""
    assert resolved({"Ref": "Stage"}) == "dev"


def test_function_arn() -> None:
    """Lambda: Arn is ``arn:aws:lambda:{region}:{account}:function:{name}``."""
    template = with_resource("Named", "AWS::Lambda::Function", FunctionName="my-fn")
    assert (
        resolved({"Fn::GetAtt": "Named.Arn"}, template)
        == "arn:aws:lambda:us-east-1:123456789012:function:my-fn"
    )


def test_table_arn_and_stream_arn() -> None:
    """DynamoDB: Arn is the table's; StreamArn is under it when the table has a stream."""
    template = with_resource(
        "Table",
        "AWS::DynamoDB::Table",
        TableName="t",
        StreamSpecification={"StreamViewType": "NEW_IMAGE"},
    )
    assert (
        resolved({"Fn::GetAtt": "Table.Arn"}, template)
        == "arn:aws:dynamodb:us-east-1:123456789012:table/t"
    )
    assert resolved({"Fn::GetAtt": "Table.StreamArn"}, template).startswith(
        "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/"
    )


def test_stream_arn_of_a_table_without_a_stream_is_an_error() -> None:
    """A table without StreamSpecification has no StreamArn."""
    template = with_resource("Table", "AWS::DynamoDB::Table", TableName="t")
    with pytest.raises(TemplateError, match="has no StreamSpecification"):
        resolved({"Fn::GetAtt": "Table.StreamArn"}, template)


def test_role_arn_includes_its_path_and_role_id_is_stable() -> None:
    """IAM Role: the ARN has its Path; RoleId is AROA and 17 more characters, the same each time."""
    template = with_resource("Role", "AWS::IAM::Role", RoleName="r", Path="/service/")
    assert (
        resolved({"Fn::GetAtt": "Role.Arn"}, template) == "arn:aws:iam::123456789012:role/service/r"
    )
    role_id = resolved({"Fn::GetAtt": "Role.RoleId"}, template)
    assert role_id.startswith("AROA") and len(role_id) == 21
    assert role_id == resolved({"Fn::GetAtt": "Role.RoleId"}, template)


def test_log_group_arn_ends_with_a_star() -> None:
    """Logs: a log group's Arn attribute ends in ``:*``."""
    template = with_resource("Logs", "AWS::Logs::LogGroup", LogGroupName="/aws/lambda/x")
    assert (
        resolved({"Fn::GetAtt": "Logs.Arn"}, template)
        == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x:*"
    )


def test_unknown_type_gives_a_placeholder_and_a_warning() -> None:
    """A type the reader does not know: Ref gives a stable placeholder name and warns once."""
    template = with_resource("Thing", "AWS::Made::Up")
    stack = stack_of(template)
    stack.resources["Probe"] = {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Value": {"Ref": "Thing"}},
    }
    stack.declared["Probe"] = stack.resources["Probe"]
    assert stack.prop("Probe", "Value") == stack.name("Thing")
    assert any("AWS::Made::Up is not one the local gateway knows" in w for w in stack.warnings)


def test_unknown_attribute_of_a_resource_not_emulated_is_a_placeholder() -> None:
    """An attribute the reader does not know on an IAM role gives a placeholder and a warning."""
    template = with_resource("Role", "AWS::IAM::Role")
    stack = stack_of(template)
    value = stack.get_att("Role", "Future", stack.where("Role"))
    assert value == "wsrelay-placeholder-Role-Future"
    assert len(stack.warnings) == 1 and "Fn::GetAtt Role.Future" in stack.warnings[0]


def test_unknown_attribute_of_an_emulated_resource_is_an_error() -> None:
    """A function has no attribute Url: an error listing the ones it has."""
    with pytest.raises(
        TemplateError,
        match=r"Fn::GetAtt Fn\.Url: AWS::Lambda::Function has no attribute Url \(it has: Arn\)",
    ):
        resolved({"Fn::GetAtt": "Fn.Url"})
