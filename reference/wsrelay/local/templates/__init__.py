"""Reading a SAM or CloudFormation template into the :class:`App` a local gateway serves.

:func:`load_app` reads the template, decides its parameters, expands the SAM transform,
resolves every intrinsic function for one stack, and builds the app. The steps, one module
each::

    source        the file, read by cfn-lint's decoder (YAML or JSON, short-form tags, lines)
    parameters    each parameter's value, checked against its constraints
    sam           Transform: AWS::Serverless-2016-10-31, by aws-sam-translator, offline
    stack         resources named and resolved on demand, by
      dependencies    references checked, circles refused
      intrinsics      Ref, Fn::GetAtt, Fn::Sub ... (syntax: the shapes they share)
      conditions      the Conditions section
      naming          generated names and ids; return_values: Ref and Fn::GetAtt per type
    app           the App, from apigateway (the API), functions (+ code), tables

Errors are :class:`TemplateError` (a ``ValueError``), one line each: the file, the resource
(logical id, type, line), what is wrong, what to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from wsrelay.local.templates.app import build_app
from wsrelay.local.templates.model import (
    App,
    NotEmulated,
    ServiceResource,
    TableSpec,
    TemplateError,
)
from wsrelay.local.templates.parameters import resolve_parameters
from wsrelay.local.templates.sam import SAM_TRANSFORM, expand_sam, transforms_of
from wsrelay.local.templates.source import read_template
from wsrelay.local.templates.stack import Stack

__all__ = [
    "App",
    "NotEmulated",
    "ServiceResource",
    "TableSpec",
    "TemplateError",
    "load_app",
    "load_stack",
]

#: A CloudFormation stack name: a letter, then letters, digits and hyphens, 128 at most.
_STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")


def load_stack(
    path: str | Path,
    *,
    parameters: Mapping[str, str] | None = None,
    stack_name: str = "local",
    region: str = "us-east-1",
    account_id: str = "123456789012",
) -> Stack:
    """Read a template into a :class:`Stack`: parameters decided, SAM expanded, references checked.

    Args:
        path: the template file (YAML or JSON).
        parameters: parameter values, as ``--parameter-overrides`` gives them.
        stack_name, region, account_id: ``AWS::StackName``, ``AWS::Region``, ``AWS::AccountId``.

    Raises:
        TemplateError: see :func:`load_app`.
    """
    source = read_template(path)
    if not _STACK_NAME.fullmatch(stack_name):
        raise source.where().error(
            f"stack name {stack_name!r}: use a letter, then letters, digits or '-'"
        )
    template = source.template
    for transform in transforms_of(template):
        if transform != SAM_TRANSFORM:
            raise source.where().error(
                f"Transform {transform} is a macro only CloudFormation can run; the local gateway "
                f"expands {SAM_TRANSFORM} only — expand it first, or write its result out"
            )
    shared = sorted(set(template.get("Parameters") or {}) & set(template.get("Resources") or {}))
    if shared:
        # "Template format error": a logical id names one thing in Parameters and Resources.
        raise source.where(shared[0]).error(
            f"{shared[0]} is both a parameter and a resource; CloudFormation refuses a "
            "template whose logical ids are not unique: rename one of them"
        )
    values = resolve_parameters(template.get("Parameters") or {}, parameters, source.where)
    if SAM_TRANSFORM in transforms_of(template):
        template = expand_sam(source, template, region=region, parameters=dict(values))
    return Stack(
        source, template, values, stack_name=stack_name, region=region, account_id=account_id
    )


def load_app(
    path: str | Path,
    *,
    parameters: Mapping[str, str] | None = None,
    stack_name: str = "local",
    region: str = "us-east-1",
    account_id: str = "123456789012",
    stage: str | None = None,
    code: Mapping[str, str | Path] | None = None,
    api: str | None = None,
) -> App:
    """Read a SAM or CloudFormation template into the app a local gateway serves.

    Args:
        path: the template file (YAML or JSON).
        parameters: parameter values (``--parameter-overrides Key=Value``).
        stack_name: ``AWS::StackName``: names CloudFormation would generate include it.
        region, account_id: ``AWS::Region`` and ``AWS::AccountId``.
        stage: the stage to serve: one of the template's stages, a new name for its only
            stage, or the stage of a template that has none.
        code: logical id → local folder or ``.zip``, for functions (or layers) whose code is
            in S3 (``--code LOGICAL_ID=PATH``); relative paths start in the current folder.
        api: the WebSocket API's logical id, when the template has several.

    Returns:
        The app: API, functions, tables, other resources, outputs, warnings.

    Raises:
        TemplateError: one line naming the resource, why the local gateway cannot serve it
            as AWS would, and what to do.
    """
    stack = load_stack(
        path, parameters=parameters, stack_name=stack_name, region=region, account_id=account_id
    )
    local = {str(lid): Path(p).resolve() for lid, p in (code or {}).items()}
    return build_app(stack, api=api, stage=stage, code=local)
