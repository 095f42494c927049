"""Physical names and ids: explicit names win, generated ones are deterministic and fit.

CloudFormation generates ``{stack}-{LogicalId}-{SUFFIX}`` when a resource has no explicit name
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html).
"""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from wsrelay.local.templates.naming import generated_name, partition_of, short_id, url_suffix_of
from wsrelay.local.templates.return_values import physical_name

from .support import base, stack_of


def name_of(type_: str, logical_id: str = "Thing", stack: str = "test", **props: object) -> str:
    return physical_name(stack, logical_id, type_, props.get)


def test_explicit_names_win() -> None:
    """TableName, FunctionName, QueueName, TopicName, BucketName and RoleName are used as given."""
    for type_, key in [
        ("AWS::DynamoDB::Table", "TableName"),
        ("AWS::Lambda::Function", "FunctionName"),
        ("AWS::SQS::Queue", "QueueName"),
        ("AWS::SNS::Topic", "TopicName"),
        ("AWS::S3::Bucket", "BucketName"),
        ("AWS::IAM::Role", "RoleName"),
    ]:
        assert name_of(type_, **{key: "Given-Name"}) == "Given-Name", type_


def test_generated_name_is_stack_logical_id_suffix() -> None:
    """Without a name: ``{stack}-{LogicalId}-`` and 12 upper-case letters or digits."""
    assert re.fullmatch(
        r"chat-ConnectionsTable-[A-Z0-9]{12}",
        name_of("AWS::DynamoDB::Table", "ConnectionsTable", "chat"),
    )


def test_generated_names_are_deterministic_per_stack() -> None:
    """The same stack and logical id give the same name; another stack another one."""
    first = name_of("AWS::Lambda::Function", "Fn", "a")
    assert first == name_of("AWS::Lambda::Function", "Fn", "a")
    assert first.rsplit("-", 1)[1] != name_of("AWS::Lambda::Function", "Fn", "b").rsplit("-", 1)[1]


def test_generated_function_name_fits_lambdas_limit() -> None:
    """Function names are at most 64 characters, even for long stack names and ids."""
    name = name_of("AWS::Lambda::Function", "A" * 80, "s" * 100)
    assert len(name) == 64
    assert re.fullmatch(r"s+-A*-[A-Z0-9]{12}", name)


def test_generated_bucket_name_is_lower_case_and_fits() -> None:
    """Bucket names are lower case and at most 63 characters."""
    name = name_of("AWS::S3::Bucket", "UploadsBucket", "My-Stack" * 10)
    assert name == name.lower() and len(name) <= 63


def test_generated_fifo_queue_name_ends_in_fifo() -> None:
    """A FIFO queue's generated name ends in .fifo, within SQS's 80 characters."""
    name = name_of("AWS::SQS::Queue", "Orders", "x" * 90, FifoQueue=True)
    assert name.endswith(".fifo") and len(name) == 80


def test_api_id_is_ten_lower_case_characters() -> None:
    """An API's id is 10 lower-case letters and digits, from the same hash."""
    api_id = name_of("AWS::ApiGatewayV2::Api", "ChatApi")
    assert re.fullmatch(r"[a-z0-9]{10}", api_id)
    assert api_id == short_id("test", "ChatApi", 10)


@given(
    st.from_regex(r"[A-Za-z][A-Za-z0-9-]{0,40}", fullmatch=True),
    st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,60}", fullmatch=True),
)
def test_generated_names_always_fit(stack: str, logical_id: str) -> None:
    """Any stack name and logical id give a name within the limit."""
    assert len(generated_name(stack, logical_id, 64)) <= 64


def test_partition_and_url_suffix_follow_the_region() -> None:
    """China and GovCloud regions have their own partition (and China its URL suffix)."""
    assert (partition_of("cn-north-1"), url_suffix_of("cn-north-1")) == (
        "aws-cn",
        "amazonaws.com.cn",
    )
    assert (partition_of("us-gov-west-1"), url_suffix_of("us-gov-west-1")) == (
        "aws-us-gov",
        "amazonaws.com",
    )
    assert (partition_of("eu-west-1"), url_suffix_of("eu-west-1")) == ("aws", "amazonaws.com")


def test_stack_uses_the_resolved_explicit_name() -> None:
    """An explicit name built by Fn::Sub is resolved before it is used."""
    template = base(
        Table={
            "Type": "AWS::DynamoDB::Table",
            "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-rooms"}},
        }
    )
    assert stack_of(template, stack_name="chat").name("Table") == "chat-rooms"
