"""What a template describes, once resolved: the app a local gateway serves.

This is the contract between the template reader (``wsrelay.local.templates``) and the
gateway (``wsrelay.local.gateway``): the reader turns a SAM or CloudFormation template into
an :class:`App`; the gateway creates its tables and service resources, starts its
functions and serves its API. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsrelay.local.api import ApiDefinition

__all__ = ["App", "NotEmulated", "ServiceResource", "TableSpec", "TemplateError"]


class TemplateError(ValueError):
    """A template the gateway cannot serve as AWS would.

    The message is one line: the template file, the resource (logical id and type, and
    its line when known), what is wrong, and what to do about it.
    """


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table to create in the embedded DynamoDB.

    Attributes:
        logical_id: the template's logical id.
        name: its physical name (``TableName``, or the name CloudFormation would make).
        create_params: DynamoDB ``CreateTable``'s request, ``TableName`` included, as boto3
            takes it (``KeySchema``, ``AttributeDefinitions``, ``BillingMode``, indexes with
            their projections, ``StreamSpecification``, …).
        ttl_attribute: the ``TimeToLiveSpecification``'s attribute when it is enabled.
    """

    logical_id: str
    name: str
    create_params: Mapping[str, Any]
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class ServiceResource:
    """A resource of another service, created in the all-services moto server.

    Attributes:
        logical_id: the template's logical id.
        type: ``AWS::SQS::Queue``, ``AWS::SNS::Topic`` or ``AWS::S3::Bucket``.
        physical_id: its name (queue name, topic name, bucket name).
        properties: its resolved properties, as the template gives them.
    """

    logical_id: str
    type: str
    physical_id: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotEmulated:
    """A resource the gateway does not run, listed once at start, never silently dropped."""

    logical_id: str
    type: str
    note: str = ""


@dataclass
class App:
    """A WebSocket app as a template defines it, with every intrinsic resolved.

    Attributes:
        template_path: the template file.
        stack_name: the stack name the names were made with (``AWS::StackName``).
        region, account_id: ``AWS::Region`` and ``AWS::AccountId``.
        api_logical_id: the served ``AWS::ApiGatewayV2::Api``'s logical id.
        api: its routes and functions; ``api.api_id`` is the id ``Ref`` gave.
        stage: the stage's name (``AWS::ApiGatewayV2::Stage``'s ``StageName``).
        stage_variables: the stage's ``StageVariables``.
        functions_by_logical_id: every Lambda function of the template, by logical id,
            including those no route calls (invoked by other functions).
        tables: the DynamoDB tables to create.
        service_resources: the SQS queues, SNS topics and S3 buckets to create.
        resources: every resource's logical id → its physical name or id, emulated or not.
        outputs: the template's ``Outputs``, resolved, as AWS would show them.
        not_emulated: the resources the gateway does not run.
        warnings: lines to print at start (a runtime that is not the local Python, …).
    """

    template_path: Path
    stack_name: str
    region: str
    account_id: str
    api_logical_id: str
    api: ApiDefinition
    stage: str
    stage_variables: dict[str, str] = field(default_factory=dict)
    functions_by_logical_id: dict[str, str] = field(default_factory=dict)
    tables: list[TableSpec] = field(default_factory=list)
    service_resources: list[ServiceResource] = field(default_factory=list)
    resources: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    not_emulated: list[NotEmulated] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def api_host(self) -> str:
        """The API's host name on AWS: ``{api_id}.execute-api.{region}.amazonaws.com``."""
        return f"{self.api.api_id}.execute-api.{self.region}.amazonaws.com"
