"""The AWS services behind a local gateway's functions: DynamoDB, and every other one on demand.

By default the functions' DynamoDB is moto's DynamoDB, served by the gateway's own loop
(``embedded_dynamodb``); ``dynamodb_endpoint`` points them at DynamoDB Local or AWS
instead. With ``all_services`` (on for an app served from its template) a second moto
application answers every other service a function calls — SQS, S3, SNS, … — so an app
that uses them works offline. Every function's AWS call is routed to these endpoints
whatever endpoint its code names (``lambda_runtime.aws_hooks``).

Credentials are decided once, here, for the gateway's own clients and for every function
(Lambda passes a function its execution role's credentials in its environment):
placeholders when every endpoint is on this machine (none of them checks signatures),
otherwise what boto3's own chain finds for this user. A gateway shared on a network checks
``@connections`` signatures with these credentials, so there the placeholders are replaced
by credentials made for the run (a secret no one else knows).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import boto3

from wsrelay.local.dynamodb.embedded import (
    EmbeddedDynamoDB,
    moto_all_services_app,
    moto_dynamodb_app,
)
from wsrelay.local.hosts import free_port, is_loopback
from wsrelay.local.templates.model import ServiceResource, TableSpec

__all__ = ["PLACEHOLDER_CREDENTIALS", "LocalBackends", "credentials_for"]

logger = logging.getLogger("wsrelay.local")

PLACEHOLDER_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
}


class LocalBackends:
    """The DynamoDB (and optionally every other service) a gateway's functions call.

    Args:
        region: the region tables and resources live in.
        dynamodb_endpoint: an existing DynamoDB to use instead of the embedded moto.
        all_services: also serve every other service with moto.
        services_endpoint: an existing endpoint for every other service instead.
        shared: the gateway is reachable from other machines (room mode): placeholder
            credentials become ones made for this run.
        fast_moto: the embedded DynamoDB takes ``motofast``'s paths (``moto_adapter``).
    """

    def __init__(
        self,
        region: str,
        dynamodb_endpoint: str | None,
        *,
        all_services: bool,
        services_endpoint: str | None = None,
        shared: bool = False,
        fast_moto: bool = True,
    ) -> None:
        self.region = region
        self.shared = shared
        self.fast_moto = fast_moto
        self.embedded = dynamodb_endpoint is None
        # An existing endpoint for every other service (the moto server an API was
        # deployed to) replaces the embedded one.
        self.all_services = all_services and services_endpoint is None
        self._dynamodb_port = free_port() if self.embedded else 0
        self.dynamodb_endpoint = dynamodb_endpoint or f"http://127.0.0.1:{self._dynamodb_port}"
        self._services_port = free_port() if self.all_services else 0
        self.endpoint_url = services_endpoint or (
            f"http://127.0.0.1:{self._services_port}" if self.all_services else None
        )
        self.dynamodb: EmbeddedDynamoDB | None = None
        self._services: EmbeddedDynamoDB | None = None
        #: Whether :attr:`credentials` were made for this run (nobody's real secret).
        self.made_for_run = False
        self.credentials = self._choose_credentials()
        self._tables: list[str] = []
        self._resources: list[ServiceResource] = []

    # --- credentials --------------------------------------------------------------------

    def _choose_credentials(self) -> dict[str, str]:
        """The credentials functions and the gateway's own clients use (decided once).

        The embedded moto checks none: placeholders. Otherwise :func:`credentials_for`.
        """
        if self.embedded:
            return self._placeholders()
        credentials = credentials_for(self.dynamodb_endpoint)
        if credentials == PLACEHOLDER_CREDENTIALS:
            # A local store that checks no signatures; room mode still needs a secret of its own.
            return self._placeholders()
        return credentials

    def _placeholders(self) -> dict[str, str]:
        if not self.shared:
            return dict(PLACEHOLDER_CREDENTIALS)
        # Room mode: @connections checks signatures, so the secret must not be one anyone
        # could read in this file. moto maps an unknown key to its default account.
        self.made_for_run = True
        return {
            "AWS_ACCESS_KEY_ID": "LOCAL" + secrets.token_hex(8).upper(),
            "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30),
        }

    def client(self, service: str, endpoint: str | None = None) -> Any:
        """A boto3 client for ``service`` on its local endpoint, with the chosen credentials."""
        if endpoint is None:
            endpoint = self.dynamodb_endpoint if service == "dynamodb" else self.endpoint_url
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=endpoint,
            region_name=self.region,
            aws_access_key_id=self.credentials.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=self.credentials.get("AWS_SECRET_ACCESS_KEY"),
            aws_session_token=self.credentials.get("AWS_SESSION_TOKEN"),
        )

    @property
    def services(self) -> dict[str, str]:
        """Service → endpoint, as the functions' routing takes it (``aws_hooks.Routes``)."""
        routes = {"dynamodb": self.dynamodb_endpoint}
        if self.endpoint_url:
            routes["*"] = self.endpoint_url
        return routes

    def answer_dynamodb(
        self, target: str, body: bytes, *, region: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """A function's serialized DynamoDB call, answered by the embedded moto (fast path)."""
        if self.dynamodb is None:
            raise RuntimeError("the embedded DynamoDB is not running")
        return self.dynamodb.answer(target, body, region=region)

    # --- life cycle (the servers run on the gateway's loop) ------------------------------

    async def start(self) -> None:
        if self.embedded:
            self.dynamodb = EmbeddedDynamoDB(moto_dynamodb_app(), fast=self.fast_moto)
            await self.dynamodb.start("127.0.0.1", self._dynamodb_port)
        if self.all_services:
            self._services = EmbeddedDynamoDB(moto_all_services_app())
            await self._services.start("127.0.0.1", self._services_port)

    async def stop(self) -> None:
        for server in (self._services, self.dynamodb):
            if server is not None:
                with contextlib.suppress(Exception):
                    await server.stop()
        self._services = self.dynamodb = None

    # --- what an app needs (called from the caller's thread, never the loop's) -----------

    def create_tables(self, tables: Iterable[TableSpec]) -> None:
        """Create each table (and its TTL) if it does not exist yet."""
        for table in tables:
            params = {k: v for k, v in table.create_params.items() if k != "TableName"}
            if self.dynamodb is not None:
                created = self.dynamodb.create_table(
                    table.name, region=self.region, params=params, ttl_attribute=table.ttl_attribute
                )
            else:
                created = self._create_table_with_boto3(table, params)
            if created:
                self._tables.append(table.name)

    def _create_table_with_boto3(self, table: TableSpec, params: dict[str, Any]) -> bool:
        client = self.client("dynamodb")
        try:
            client.create_table(TableName=table.name, **params)
        except client.exceptions.ResourceInUseException:
            return False
        client.get_waiter("table_exists").wait(TableName=table.name)
        if table.ttl_attribute:
            client.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )
        return True

    def create_service_resources(self, resources: Iterable[ServiceResource]) -> None:
        """Create the app's SQS queues, SNS topics and S3 buckets in the all-services moto."""
        for resource in resources:
            if resource.type == "AWS::SQS::Queue":
                attributes = {
                    k: str(v).lower() if isinstance(v, bool) else str(v)
                    for k, v in resource.properties.items()
                    if k in _QUEUE_ATTRIBUTES
                }
                self.client("sqs").create_queue(
                    QueueName=resource.physical_id, Attributes=attributes
                )
            elif resource.type == "AWS::SNS::Topic":
                self.client("sns").create_topic(Name=resource.physical_id)
            elif resource.type == "AWS::S3::Bucket":
                s3 = self.client("s3")
                if self.region == "us-east-1":
                    s3.create_bucket(Bucket=resource.physical_id)
                else:
                    s3.create_bucket(
                        Bucket=resource.physical_id,
                        CreateBucketConfiguration={"LocationConstraint": self.region},
                    )
            else:
                continue
            self._resources.append(resource)

    def remove_app(self) -> None:
        """Delete the app's tables from the embedded moto, and its other resources (best effort).

        moto's applications in one process share their data: without this, the next
        gateway of the same app in this process (the next test) would find this one's rows.
        """
        if self.dynamodb is not None:  # never delete from a DynamoDB that is not ours
            for name in self._tables:
                with contextlib.suppress(Exception):
                    self.dynamodb.delete_table(name, region=self.region)
        for resource in self._resources:
            with contextlib.suppress(Exception):
                _delete_resource(self, resource)
        self._tables.clear()
        self._resources.clear()


def credentials_for(endpoint: str) -> dict[str, str]:
    """Credentials (as environment variables) for calls to ``endpoint``.

    An endpoint on this machine (a moto server, DynamoDB Local): this user's credentials if
    boto3 finds any, else placeholders (none of them checks signatures). One elsewhere
    (AWS): this user's credentials, or nothing and a warning.
    """
    found = boto3.Session().get_credentials()
    if found is None:
        if is_loopback(urlsplit(endpoint).hostname or ""):
            return dict(PLACEHOLDER_CREDENTIALS)
        logger.warning(
            "no AWS credentials found for %s: calls to it will fail (configure credentials, "
            "e.g. aws configure, or use the embedded DynamoDB)",
            endpoint,
        )
        return {}
    frozen = found.get_frozen_credentials()
    credentials = {
        "AWS_ACCESS_KEY_ID": str(frozen.access_key),
        "AWS_SECRET_ACCESS_KEY": str(frozen.secret_key),
    }
    if frozen.token:
        credentials["AWS_SESSION_TOKEN"] = frozen.token
    return credentials


#: SQS queue properties that are also CreateQueue attributes.
_QUEUE_ATTRIBUTES = frozenset(
    {
        "DelaySeconds",
        "FifoQueue",
        "ContentBasedDeduplication",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
    }
)


def _delete_resource(backends: LocalBackends, resource: ServiceResource) -> None:
    if resource.type == "AWS::SQS::Queue":
        sqs = backends.client("sqs")
        url = sqs.get_queue_url(QueueName=resource.physical_id)["QueueUrl"]
        sqs.delete_queue(QueueUrl=url)
    elif resource.type == "AWS::SNS::Topic":
        sns = backends.client("sns")
        for topic in sns.list_topics().get("Topics", []):
            if topic["TopicArn"].endswith(f":{resource.physical_id}"):
                sns.delete_topic(TopicArn=topic["TopicArn"])
    elif resource.type == "AWS::S3::Bucket":
        s3 = backends.client("s3")
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=resource.physical_id):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=resource.physical_id, Key=item["Key"])
        s3.delete_bucket(Bucket=resource.physical_id)
