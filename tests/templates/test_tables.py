"""DynamoDB tables as CreateTable requests, checked against CloudFormation's table reference.

https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html
"""

from __future__ import annotations

from typing import Any

import pytest

from wsrelay.local.templates import TemplateError
from wsrelay.local.templates.tables import build_table

from .support import base, stack_of

KEYS: dict[str, Any] = {
    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
}


def table(type_: str = "AWS::DynamoDB::Table", **properties: Any) -> Any:
    stack = stack_of(
        base(Table={"Type": type_, "Properties": {"TableName": "t", **KEYS, **properties}})
    )
    return build_table(stack, "Table")


def test_billing_mode_defaults_to_provisioned_and_keeps_throughput() -> None:
    """No BillingMode is CloudFormation's PROVISIONED, with its ProvisionedThroughput (as integers)."""
    spec = table(ProvisionedThroughput={"ReadCapacityUnits": "5", "WriteCapacityUnits": 2})
    assert spec.create_params == {
        "TableName": "t",
        **KEYS,
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 2},
    }


def test_provisioned_without_throughput_is_an_error() -> None:
    """PROVISIONED (even by default) needs ProvisionedThroughput."""
    with pytest.raises(TemplateError, match="needs ProvisionedThroughput"):
        table()


def test_indexes_keep_their_projections() -> None:
    """GSIs and LSIs go to CreateTable with their key schemas and projections."""
    gsi = {
        "IndexName": "byEmail",
        "KeySchema": [{"AttributeName": "email", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": ["name"]},
    }
    lsi = {
        "IndexName": "byTime",
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "KEYS_ONLY"},
    }
    spec = table(
        BillingMode="PAY_PER_REQUEST", GlobalSecondaryIndexes=[gsi], LocalSecondaryIndexes=[lsi]
    )
    assert spec.create_params["GlobalSecondaryIndexes"] == [gsi]
    assert spec.create_params["LocalSecondaryIndexes"] == [lsi]


def test_index_without_projection_is_an_error() -> None:
    """CloudFormation requires each index's Projection."""
    with pytest.raises(TemplateError, match="index byEmail has no Projection"):
        table(
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[{"IndexName": "byEmail", "KeySchema": []}],
        )


def test_stream_specification_enables_the_stream() -> None:
    """CloudFormation's StreamSpecification has only the view type; CreateTable also needs StreamEnabled."""
    spec = table(
        BillingMode="PAY_PER_REQUEST", StreamSpecification={"StreamViewType": "NEW_AND_OLD_IMAGES"}
    )
    assert spec.create_params["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }


def test_time_to_live_gives_the_ttl_attribute() -> None:
    """An enabled TimeToLiveSpecification becomes ttl_attribute (UpdateTimeToLive is another call)."""
    assert (
        table(
            BillingMode="PAY_PER_REQUEST",
            TimeToLiveSpecification={"AttributeName": "exp", "Enabled": True},
        ).ttl_attribute
        == "exp"
    )
    assert (
        table(
            BillingMode="PAY_PER_REQUEST",
            TimeToLiveSpecification={"AttributeName": "exp", "Enabled": False},
        ).ttl_attribute
        is None
    )


def test_properties_create_table_has_no_place_for_are_dropped() -> None:
    """SSE, point-in-time recovery, tags, deletion protection, contributor insights: checked, dropped."""
    spec = table(
        BillingMode="PAY_PER_REQUEST",
        SSESpecification={"SSEEnabled": True},
        PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        Tags=[{"Key": "a", "Value": "b"}],
        DeletionProtectionEnabled=True,
        ContributorInsightsSpecification={"Enabled": True},
    )
    assert spec.create_params == {"TableName": "t", **KEYS, "BillingMode": "PAY_PER_REQUEST"}


def test_a_dropped_property_of_the_wrong_shape_is_an_error() -> None:
    """Tags must be a list even though they are dropped."""
    with pytest.raises(TemplateError, match="Tags must be a list"):
        table(BillingMode="PAY_PER_REQUEST", Tags={"a": "b"})


def test_unknown_property_is_an_error() -> None:
    """A property AWS::DynamoDB::Table has not got (a typo) is an error."""
    with pytest.raises(TemplateError, match="AWS::DynamoDB::Table has no property BilingMode"):
        table(BilingMode="PAY_PER_REQUEST")


def test_simple_global_table() -> None:
    """A PAY_PER_REQUEST global table with a replica in the stack's region is a table here."""
    spec = table(
        "AWS::DynamoDB::GlobalTable",
        BillingMode="PAY_PER_REQUEST",
        Replicas=[{"Region": "us-east-1"}, {"Region": "eu-west-1"}],
        StreamSpecification={"StreamViewType": "NEW_IMAGE"},
    )
    assert spec.create_params["BillingMode"] == "PAY_PER_REQUEST"
    assert spec.create_params["StreamSpecification"]["StreamEnabled"] is True
    assert "Replicas" not in spec.create_params


def test_provisioned_global_table_is_refused() -> None:
    """A provisioned global table (capacity auto scaling) is not simple: refused."""
    with pytest.raises(TemplateError, match="PROVISIONED global table"):
        table(
            "AWS::DynamoDB::GlobalTable",
            Replicas=[{"Region": "us-east-1"}],
            WriteProvisionedThroughputSettings={},
        )
