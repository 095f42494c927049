"""``AWS::DynamoDB::Table`` (and a simple ``AWS::DynamoDB::GlobalTable``) as DynamoDB's CreateTable request.

CloudFormation's table properties mostly are CreateTable's parameters
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-dynamodb-table.html):
keys, attribute definitions, ``BillingMode`` (CloudFormation's default is ``PROVISIONED``,
so ``ProvisionedThroughput`` is kept), indexes with their projections, streams. A few differ
in shape: ``StreamSpecification`` has no ``StreamEnabled`` (a stream exists when the
property does), ``TimeToLiveSpecification`` is a separate call (UpdateTimeToLive).
Properties that change nothing a handler can see locally (encryption, backups, tags,
deletion protection, contributor insights …) are checked for shape and dropped.
"""

from __future__ import annotations

from typing import Any

from wsrelay.local.templates.model import TableSpec
from wsrelay.local.templates.source import Where
from wsrelay.local.templates.stack import Stack

__all__ = ["build_table"]

#: CreateTable parameters that CloudFormation's properties give as they are.
_KEPT = (
    "AttributeDefinitions",
    "KeySchema",
    "BillingMode",
    "ProvisionedThroughput",
    "LocalSecondaryIndexes",
    "GlobalSecondaryIndexes",
    "TableClass",
)

#: Dropped after a shape check: property → the type its value must have.
_DROPPED: dict[str, type] = {
    "SSESpecification": dict,
    "PointInTimeRecoverySpecification": dict,
    "Tags": list,
    "DeletionProtectionEnabled": bool,
    "ContributorInsightsSpecification": dict,
    "KinesisStreamSpecification": dict,
    "ResourcePolicy": dict,
    "OnDemandThroughput": dict,
    "WarmThroughput": dict,
    "ImportSourceSpecification": dict,
}

_GLOBAL_TABLE_ONLY: dict[str, type] = {
    "Replicas": list,
    "WriteProvisionedThroughputSettings": dict,
    "WriteOnDemandThroughputSettings": dict,
    "GlobalTableWitnesses": list,
    "MultiRegionConsistency": str,
    "SSESpecification": dict,
    "Tags": list,
    "WarmThroughput": dict,
}


def _index(index: Any, where: Where, kind: str) -> dict[str, Any]:
    if not isinstance(index, dict) or "IndexName" not in index or "KeySchema" not in index:
        raise where.error(f"each of {kind} needs an IndexName and a KeySchema")
    if "Projection" not in index:
        raise where.error(f"{kind} index {index['IndexName']} has no Projection")
    # Per-index settings DynamoDB Local and moto ignore are dropped; the rest is CreateTable's.
    kept = {k: index[k] for k in ("IndexName", "KeySchema", "Projection") if k in index}
    if "ProvisionedThroughput" in index:
        kept["ProvisionedThroughput"] = _throughput(index["ProvisionedThroughput"], where)
    return kept


def _throughput(value: Any, where: Where) -> dict[str, int]:
    # A capacity from a Number parameter arrives as a string; CreateTable takes integers.
    try:
        return {str(k): int(v) for k, v in value.items()}
    except (AttributeError, TypeError, ValueError):
        raise where.error(
            f"ProvisionedThroughput must map capacities to numbers, not {value!r}"
        ) from None


def build_table(stack: Stack, logical_id: str) -> TableSpec:
    """The :class:`TableSpec` of one table resource.

    Raises:
        TemplateError: a property a table does not have, one of the wrong shape, or a
            table that is not simple enough to make locally (a provisioned global table).
    """
    where = stack.where(logical_id)
    props = stack.properties(logical_id)
    is_global = stack.type_of(logical_id) == "AWS::DynamoDB::GlobalTable"
    known = {*_KEPT, "TableName", "StreamSpecification", "TimeToLiveSpecification", *_DROPPED}
    shapes = dict(_DROPPED)
    if is_global:
        known |= set(_GLOBAL_TABLE_ONLY)
        shapes.update(_GLOBAL_TABLE_ONLY)
    for key, value in props.items():
        if key not in known:
            raise where.error(f"{stack.type_of(logical_id)} has no property {key}")
        if key in shapes and not isinstance(value, shapes[key]):
            raise where.error(
                f"{key} must be a {'list' if shapes[key] is list else shapes[key].__name__.replace('dict', 'mapping')}"
            )
    for key in ("KeySchema", "AttributeDefinitions"):
        if not isinstance(props.get(key), list) or not props[key]:
            raise where.error(f"a table needs {key}")
    name = stack.name(logical_id)
    params: dict[str, Any] = {"TableName": name}
    params.update({k: props[k] for k in _KEPT if k in props})
    if "ProvisionedThroughput" in params:
        params["ProvisionedThroughput"] = _throughput(params["ProvisionedThroughput"], where)
    # CloudFormation's default billing mode is PROVISIONED, which needs a throughput.
    params.setdefault("BillingMode", "PROVISIONED")
    if is_global:
        if params["BillingMode"] != "PAY_PER_REQUEST":
            raise where.error(
                "a PROVISIONED global table scales its replicas' capacity automatically, which the "
                "local gateway does not emulate: use BillingMode PAY_PER_REQUEST locally"
            )
        regions = [r.get("Region") for r in props.get("Replicas", []) if isinstance(r, dict)]
        if stack.region not in regions:
            raise where.error(
                f"a global table must have a replica in the stack's region {stack.region}"
            )
    elif params["BillingMode"] == "PROVISIONED" and "ProvisionedThroughput" not in params:
        raise where.error(
            "BillingMode is PROVISIONED (CloudFormation's default), so it needs ProvisionedThroughput"
        )
    for key, kind in (
        ("GlobalSecondaryIndexes", "GlobalSecondaryIndexes"),
        ("LocalSecondaryIndexes", "LocalSecondaryIndexes"),
    ):
        if key in params:
            if not isinstance(params[key], list):
                raise where.error(f"{key} must be a list")
            params[key] = [_index(index, where, kind) for index in params[key]]
    stream = props.get("StreamSpecification")
    if stream is not None:
        if not isinstance(stream, dict) or "StreamViewType" not in stream:
            raise where.error("StreamSpecification needs a StreamViewType")
        params["StreamSpecification"] = {
            "StreamEnabled": True,
            "StreamViewType": stream["StreamViewType"],
        }
    ttl = props.get("TimeToLiveSpecification")
    ttl_attribute = None
    if ttl is not None:
        if not isinstance(ttl, dict) or "Enabled" not in ttl:
            raise where.error(
                "TimeToLiveSpecification needs Enabled (and AttributeName when enabled)"
            )
        if str(ttl["Enabled"]).lower() == "true":
            if not ttl.get("AttributeName"):
                raise where.error("TimeToLiveSpecification is enabled but names no AttributeName")
            ttl_attribute = str(ttl["AttributeName"])
    return TableSpec(
        logical_id=logical_id, name=name, create_params=params, ttl_attribute=ttl_attribute
    )
