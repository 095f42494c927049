"""Physical names, ids, ``Ref`` values and attributes, deterministic, as CloudFormation makes them.

An explicit name (``TableName``, ``FunctionName``, ``QueueName`` …) wins. Otherwise
CloudFormation makes ``{stack}-{LogicalId}-{SUFFIX}`` with a random suffix
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-name.html);
here the suffix is 12 upper-case letters and digits from a hash of the stack name and the
logical id, so the same template and stack name always give the same names (the notebooks
store their outputs). Ids (an API's ``abc123defg``) come from the same hash.
"""

from __future__ import annotations

import base64
import hashlib

__all__ = [
    "EMULATED_TYPES",
    "digest",
    "generated_name",
    "partition_of",
    "short_id",
    "url_suffix_of",
]

#: The types the local gateway runs: an unknown attribute on one is an error, not a guess.
EMULATED_TYPES = frozenset(
    {
        "AWS::ApiGatewayV2::Api",
        "AWS::ApiGatewayV2::Authorizer",
        "AWS::ApiGatewayV2::Deployment",
        "AWS::ApiGatewayV2::Integration",
        "AWS::ApiGatewayV2::Route",
        "AWS::ApiGatewayV2::RouteResponse",
        "AWS::ApiGatewayV2::Stage",
        "AWS::DynamoDB::GlobalTable",
        "AWS::DynamoDB::Table",
        "AWS::Lambda::Function",
        "AWS::S3::Bucket",
        "AWS::SNS::Topic",
        "AWS::SQS::Queue",
    }
)


def digest(*parts: str) -> bytes:
    """SHA-256 of the parts: the seed of every generated name and id."""
    return hashlib.sha256("\0".join(parts).encode()).digest()


def short_id(stack: str, logical_id: str, length: int = 10) -> str:
    """An id of lower-case letters and digits, like API Gateway's (``a1b2c3d4e5``)."""
    return base64.b32encode(digest("id", stack, logical_id)).decode().lower()[:length]


def generated_name(
    stack: str, logical_id: str, limit: int, *, lowercase: bool = False, ending: str = ""
) -> str:
    """``{stack}-{LogicalId}-{SUFFIX}``, cut to fit ``limit`` characters (``ending`` included).

    The suffix keeps its 12 characters; the stack name and logical id are shortened
    instead, as CloudFormation shortens them: each keeps at least half the room left, so a
    long stack name never hides the logical id.
    """
    suffix = base64.b32encode(digest("name", stack, logical_id)).decode()[:12]
    room = max(limit - len(suffix) - 2 - len(ending), 2)
    stack_part = stack[: max(room - len(logical_id), room // 2)]
    name = f"{stack_part}-{logical_id[: room - len(stack_part)]}-{suffix}{ending}"
    return name.lower() if lowercase else name


def partition_of(region: str) -> str:
    """``AWS::Partition`` for a region (``aws``, ``aws-cn``, ``aws-us-gov``)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def url_suffix_of(region: str) -> str:
    """``AWS::URLSuffix``: ``amazonaws.com``, or ``amazonaws.com.cn`` in China."""
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
