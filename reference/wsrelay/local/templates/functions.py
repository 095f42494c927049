"""``AWS::Lambda::Function`` (and what SAM makes of ``AWS::Serverless::Function``) as a local function.

What Lambda would run is read from the resolved properties: ``Handler``, ``Runtime``,
``Environment.Variables`` (strings, as Lambda keeps them: CloudFormation writes ``5`` as
``"5"`` and ``true`` as ``"true"``), ``Timeout`` (Lambda's default 3 s), ``MemorySize``
(default 128 MB), ``ReservedConcurrentExecutions``, ``LoggingConfig`` and ``Layers``
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-lambda-function.html).
The code comes from a local folder or ``.zip`` (SAM's ``CodeUri``, or ``Code`` as a local
path the way ``aws cloudformation package`` takes it), inline ``Code.ZipFile``, or, for code
in S3, the caller's ``code={LogicalId: path}``.
"""

from __future__ import annotations

import re
import sys
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wsrelay.local.api import Function
from wsrelay.local.lambda_runtime.code import CodeError, code_folder, inline_code_folder
from wsrelay.local.templates.source import Where
from wsrelay.local.templates.stack import Stack
from wsrelay.local.templates.syntax import stringify

__all__ = ["build_function", "layer_folders", "runtime_warnings"]

#: Lambda's defaults when the template says nothing.
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY_SIZE = 128

_PYTHON = re.compile(r"python3\.(\d+)")
_CODE_OPTION = "--code"


def _local_code(
    stack: Stack, logical_id: str, code: Any, given: Mapping[str, Path], what: str
) -> Path:
    """The folder a function's ``Code`` (or a layer's ``Content``) is in."""
    where = stack.where(logical_id)
    try:
        if logical_id in given:
            return code_folder(given[logical_id])
        if isinstance(code, str) and not code.startswith("s3://"):
            return code_folder(stack.source.folder / code)
        if isinstance(code, dict) and isinstance(code.get("ZipFile"), str):
            return inline_code_folder(code["ZipFile"])
    except CodeError as exc:
        raise where.error(f"{what}: {exc}") from None
    if isinstance(code, dict) and "ImageUri" in code:
        raise _image(where)
    if isinstance(code, dict) and "S3Bucket" in code:
        location = f"s3://{code['S3Bucket']}/{code.get('S3Key', '')}"
    else:
        location = str(code)
    raise where.error(
        f"{what} is in S3 ({location}), which the local gateway cannot read: pass the local "
        f"code with {_CODE_OPTION} {logical_id}=PATH (a folder or .zip)"
    )


def _image(where: Where) -> Exception:
    return where.error(
        "PackageType Image runs a container image, which needs Docker; the local gateway runs "
        "zip-packaged Python functions: serve a zip-packaged version (Runtime, Handler, CodeUri)"
    )


def layer_folders(stack: Stack, code: Mapping[str, Path]) -> dict[str, Path]:
    """Each layer version of the template: its ``Ref`` (the version ARN) → its folder."""
    folders: dict[str, Path] = {}
    for logical_id in stack.of_type("AWS::Lambda::LayerVersion"):
        content = stack.prop(logical_id, "Content")
        folders[str(stack.ref(logical_id, stack.where(logical_id)))] = _local_code(
            stack, logical_id, content, code, "Content"
        )
    return folders


def _import_paths(layer: Path, minor: int | None) -> list[Path]:
    # Lambda puts a layer in /opt and adds /opt/python and
    # /opt/python/lib/python3.x/site-packages to the import path, nothing else:
    # https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html
    found = [layer / "python"]
    if minor is not None:
        found.append(layer / "python" / "lib" / f"python3.{minor}" / "site-packages")
    return [p for p in found if p.is_dir()]


def build_function(
    stack: Stack, logical_id: str, code: Mapping[str, Path], layers: Mapping[str, Path]
) -> Function:
    """The local :class:`Function` for one ``AWS::Lambda::Function``.

    Args:
        stack: the resolved stack.
        logical_id: the function's logical id.
        code: the caller's local code for functions whose code is in S3.
        layers: the template's layer versions (ARN → folder), from :func:`layer_folders`.

    Raises:
        TemplateError: an image package, a runtime that is not Python, no handler, code in
            S3 without a local path, a missing or broken code path.
    """
    where = stack.where(logical_id)
    props = stack.properties(logical_id)
    if str(props.get("PackageType", "Zip")) == "Image":
        raise _image(where)
    runtime = props.get("Runtime")
    if not isinstance(runtime, str):
        raise where.error("has no Runtime: a zip-packaged function needs one (python3.12, say)")
    match = _PYTHON.fullmatch(runtime)
    if match is None:
        raise where.error(
            f"Runtime {runtime} is not Python; the local gateway runs Python functions only — "
            "serve the Python functions of this app, or run this one on AWS"
        )
    minor = int(match.group(1))
    handler = props.get("Handler")
    if not isinstance(handler, str) or "." not in handler:
        raise where.error(f"Handler must be 'module.function', not {handler!r}")
    folder = _local_code(stack, logical_id, props.get("Code"), code, "Code")
    environment = (props.get("Environment") or {}).get("Variables") or {}
    if not isinstance(environment, dict):
        raise where.error("Environment.Variables must be a mapping")
    layer_paths: list[Path] = []
    for arn in props.get("Layers") or []:
        if str(arn) not in layers:
            stack.warnings.append(
                where.note(f"layer {arn} is not in this template: its code is not loaded locally")
            )
            continue
        paths = _import_paths(layers[str(arn)], minor)
        if not paths:
            stack.warnings.append(
                where.note(
                    f"layer {arn} has no python/ folder, the only one Lambda puts on the import path"
                )
            )
        layer_paths.extend(paths)
    requirements = folder / "requirements.txt"
    reserved = props.get("ReservedConcurrentExecutions")
    return Function(
        name=stack.name(logical_id),
        handler=handler,
        environment={
            str(k): stringify(v, where, f"environment variable {k}") for k, v in environment.items()
        },
        timeout=float(_number(props.get("Timeout", DEFAULT_TIMEOUT), where, "Timeout")),
        memory_size=int(_number(props.get("MemorySize", DEFAULT_MEMORY_SIZE), where, "MemorySize")),
        runtime=runtime,
        code_dir=folder,
        layers=tuple(layer_paths),
        reserved_concurrency=None
        if reserved is None
        else int(_number(reserved, where, "ReservedConcurrentExecutions")),
        logging={
            str(k): stringify(v, where, f"LoggingConfig.{k}")
            for k, v in (props.get("LoggingConfig") or {}).items()
        },
        logical_id=logical_id,
        requirements=requirements if requirements.is_file() else None,
    )


def runtime_warnings(stack: Stack, functions: Mapping[str, Function]) -> list[str]:
    """One line per Python runtime that is not the local one, naming its functions."""
    local = f"python3.{sys.version_info.minor}"
    by_runtime: dict[str, list[str]] = defaultdict(list)
    for logical_id, function in functions.items():
        if function.runtime and function.runtime != local:
            by_runtime[function.runtime].append(logical_id)
    return [
        stack.source.where().note(
            f"Runtime {runtime} ({', '.join(names)}), but the local gateway runs Python "
            f"3.{sys.version_info.minor}: code that needs {runtime} may behave differently here"
        )
        for runtime, names in sorted(by_runtime.items())
    ]


def _number(value: Any, where: Where, what: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise where.error(f"{what} must be a number, not {value!r}") from None
