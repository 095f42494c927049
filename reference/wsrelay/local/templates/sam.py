"""The SAM transform, by AWS's own ``aws-sam-translator``, offline.

A template with ``Transform: AWS::Serverless-2016-10-31`` is expanded into plain
CloudFormation the way CloudFormation expands it: ``Globals`` merged into each function,
``AWS::Serverless::Function`` into a function, a role and whatever its events need,
``AWS::Serverless::SimpleTable`` into a table, ``AWS::Serverless::LayerVersion`` into a
layer version. Two things keep the translator offline:

- it refuses a local ``CodeUri`` / ``ContentUri`` ("not a valid S3 Uri"), so each local path
  is swapped for a placeholder ``s3://`` URI before translating and mapped back after
  (cfn-lint's SAM transform did the same before it stopped calling the translator);
- managed policy names (``Policies: [AWSLambdaBasicExecutionRole]``) are looked up in the
  map bundled with the translator; a name it has not got is given the ARN AWS gives managed
  policies, ``arn:{partition}:iam::aws:policy/{name}``, instead of asking IAM.

This module is the one place that touches the translator.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from wsrelay.local.templates.naming import partition_of
from wsrelay.local.templates.source import Source

__all__ = ["SAM_TRANSFORM", "expand_sam", "transforms_of"]

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

#: The placeholder bucket local code paths stand in as while the translator runs.
PLACEHOLDER_BUCKET = "wsrelay-local-code"

# (type, property) pairs that may hold a local path.
_CODE_PROPERTIES = (
    ("AWS::Serverless::Function", "CodeUri"),
    ("AWS::Serverless::LayerVersion", "ContentUri"),
)


def transforms_of(template: dict[str, Any]) -> list[str]:
    """The template's ``Transform`` as a list (it may be one name or several)."""
    declared = template.get("Transform", [])
    return [
        str(t) if isinstance(t, str) else repr(t)
        for t in (declared if isinstance(declared, list) else [declared])
    ]


class _ManagedPolicies(dict[str, str]):
    """Managed policy name → ARN, for names the translator's bundled map lacks."""

    def __init__(self, partition: str) -> None:
        super().__init__()
        self.partition = partition

    def __bool__(self) -> bool:
        # The translator skips an empty map; this one answers for every name.
        return True

    def get(self, name: str, default: Any = None) -> Any:
        return f"arn:{self.partition}:iam::aws:policy/{name}"


def _swap_local_paths(template: dict[str, Any], folder: Path, paths: dict[str, Path]) -> None:
    """Replace each local code path with ``s3://wsrelay-local-code/{n}``; remember it in ``paths``."""

    def swap(holder: dict[str, Any], key: str) -> None:
        value = holder.get(key)
        if isinstance(value, str) and not value.startswith("s3://"):
            token = str(len(paths))
            paths[token] = (folder / value).resolve()
            holder[key] = f"s3://{PLACEHOLDER_BUCKET}/{token}"

    function_globals = (template.get("Globals") or {}).get("Function")
    if isinstance(function_globals, dict):
        swap(function_globals, "CodeUri")
    layer_globals = (template.get("Globals") or {}).get("LayerVersion")
    if isinstance(layer_globals, dict):
        swap(layer_globals, "ContentUri")
    for resource in (template.get("Resources") or {}).values():
        properties = resource.get("Properties") if isinstance(resource, dict) else None
        if not isinstance(properties, dict):
            continue
        for type_, key in _CODE_PROPERTIES:
            if resource.get("Type") == type_:
                swap(properties, key)


def _map_back(template: dict[str, Any], paths: dict[str, Path]) -> None:
    """Put each local path back where the translator wrote its placeholder S3 location.

    A function's ``Code`` and a layer's ``Content`` become the path string, the form
    ``aws cloudformation package`` accepts for local code.
    """
    for resource in (template.get("Resources") or {}).values():
        properties = resource.get("Properties") if isinstance(resource, dict) else None
        if not isinstance(properties, dict):
            continue
        for key in ("Code", "Content"):
            location = properties.get(key)
            if isinstance(location, dict) and location.get("S3Bucket") == PLACEHOLDER_BUCKET:
                properties[key] = str(paths[str(location.get("S3Key"))])


def expand_sam(
    source: Source, template: dict[str, Any], *, region: str, parameters: dict[str, Any]
) -> dict[str, Any]:
    """The template with the SAM transform applied (a copy; ``template`` is not changed).

    Args:
        source: the template as read (its folder: where relative ``CodeUri``s start).
        template: the SAM template.
        region: the region the translator builds ARNs for.
        parameters: the parameters' values (the translator resolves a few, such as
            ``AutoPublishAlias: !Ref Alias``).

    Raises:
        TemplateError: the translator refused the template; the message is its own.
    """
    import boto3  # the translator reads its region from a boto3 session
    from samtranslator.metrics.metrics import DummyMetricsPublisher, Metrics
    from samtranslator.parser.parser import Parser
    from samtranslator.public.exceptions import InvalidDocumentException
    from samtranslator.translator.translator import Translator

    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict) and resource.get("Type") == "AWS::Serverless::Application":
            # The translator would ask the Serverless Application Repository (over the network)
            # for the application's template: nothing may leave the machine.
            raise source.where(str(logical_id)).error(
                "a nested application is fetched from the Serverless Application Repository and "
                "deployed as its own stack, which the local gateway cannot do: serve its template "
                "on its own, or remove it locally"
            )
    # The translator logs every resource it makes at INFO; its errors come as exceptions.
    logging.getLogger("samtranslator").setLevel(logging.WARNING)
    sam = copy.deepcopy(template)
    paths: dict[str, Path] = {}
    _swap_local_paths(sam, source.folder, paths)
    # A session of our own, so the translator neither reads nor changes the environment.
    session = boto3.session.Session(
        region_name=region, aws_access_key_id="local", aws_secret_access_key="local"
    )
    # Metrics of our own, published (to nowhere) when done: the translator's default ones
    # complain at exit that nobody published them.
    metrics = Metrics("ServerlessTransform", DummyMetricsPublisher())
    translator = Translator(
        managed_policy_map=None, sam_parser=Parser(), boto_session=session, metrics=metrics
    )
    policies = _ManagedPolicies(partition_of(region))
    try:
        expanded: dict[str, Any] = translator.translate(
            sam_template=sam,
            parameter_values=dict(parameters),
            passthrough_metadata=True,
            get_managed_policy_map=lambda: policies,
        )
    except InvalidDocumentException as exc:
        causes = "; ".join(" ".join(str(c.message).split()) for c in exc.causes) or str(exc)
        raise source.where().error(f"the SAM transform refused the template: {causes}") from None
    finally:
        metrics.publish()
    _map_back(expanded, paths)
    return expanded
