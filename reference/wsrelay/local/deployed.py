"""Serve what was deployed: an API read back from API Gateway v2, with each function's deployed code.

``wsrelay serve --api-id ID --endpoint-url URL`` (``LocalGateway.from_deployed``) reads the
API's routes, integrations and authorizer (``ApiDefinition.from_apigatewayv2``) and runs
each function's *deployed* package, not whatever is installed here. The package is found by
the ``CodeSha256`` Lambda reports for the function (the SHA-256 of its zip), in this order:

1. ``code={name: path}``: a folder or zip given for the function (a zip must be the
   deployed one: its SHA-256 is checked);
2. the local code cache, where ``wsrelay deploy`` keeps a copy of every package it uploads
   (``lambda_runtime.code.zip_bytes_folder``);
3. ``GetFunction``'s ``Code.Location``, downloaded and checked, when the endpoint is AWS's
   (a presigned S3 URL). moto answers a ``Location`` that cannot be downloaded, and no call
   may leave this machine for a local endpoint, so there it is never fetched.

When none applies the function is refused with what to do.
"""

from __future__ import annotations

import base64
import hashlib
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

from wsrelay.local.api import ApiDefinition
from wsrelay.local.backends import credentials_for
from wsrelay.local.hosts import is_loopback
from wsrelay.local.lambda_runtime.code import (
    CodeError,
    code_folder,
    folder_for_code_sha256,
    zip_bytes_folder,
)

__all__ = ["DeployedCodeError", "deployed_api", "stage_of"]


class DeployedCodeError(ValueError):
    """A deployed function whose code cannot be found here; the message says what to do."""


def _clients(endpoint_url: str, region: str) -> tuple[Any, Any]:
    """API Gateway v2 and Lambda clients on ``endpoint_url`` (placeholders for a local one)."""
    credentials = credentials_for(endpoint_url)
    key, secret = credentials.get("AWS_ACCESS_KEY_ID"), credentials.get("AWS_SECRET_ACCESS_KEY")
    token = credentials.get("AWS_SESSION_TOKEN")
    apigatewayv2 = boto3.client(
        "apigatewayv2",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )
    lambda_client = boto3.client(
        "lambda",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )
    return apigatewayv2, lambda_client


def deployed_api(
    api_id: str,
    endpoint_url: str,
    *,
    region: str,
    code: Mapping[str, str | Path] | None = None,
) -> ApiDefinition:
    """The API ``api_id`` at ``endpoint_url``, its functions running their deployed code.

    Raises:
        DeployedCodeError: a function's deployed code cannot be found (see the module doc).
    """
    apigatewayv2, lambda_client = _clients(endpoint_url, region)
    overrides = {name: Path(path) for name, path in (code or {}).items()}
    local = is_loopback(urlsplit(endpoint_url).hostname or "")

    def code_of(name: str, found: Mapping[str, Any]) -> Path:
        return _code_folder(name, found, overrides.get(name), fetch=not local)

    return ApiDefinition.from_apigatewayv2(apigatewayv2, lambda_client, api_id, code=code_of)


def stage_of(api_id: str, endpoint_url: str, *, region: str, stage: str | None) -> str:
    """The stage to serve: ``stage`` if the API has it, else its only (or first) stage."""
    apigatewayv2, _ = _clients(endpoint_url, region)
    names = [s["StageName"] for s in apigatewayv2.get_stages(ApiId=api_id).get("Items", [])]
    if stage is not None:
        if names and stage not in names:
            raise ValueError(
                f"API {api_id} has no stage {stage!r} (it has {', '.join(names)}): "
                "pass one of those with --stage"
            )
        return stage
    if not names:
        raise ValueError(f"API {api_id} has no stage: create one, or pass --stage")
    return str(names[0])


def _code_folder(
    name: str, found: Mapping[str, Any], override: Path | None, *, fetch: bool
) -> Path:
    sha = str(found["Configuration"].get("CodeSha256", ""))
    if override is not None:
        try:
            if override.is_file() and _sha256_b64(override.read_bytes()) != sha:
                raise DeployedCodeError(
                    f"function {name}: {override} is not its deployed package (CodeSha256 "
                    f"{sha}); pass the zip that was deployed, or redeploy"
                )
            return code_folder(override)
        except CodeError as exc:
            raise DeployedCodeError(f"function {name}: {exc}") from None
    cached = folder_for_code_sha256(sha)
    if cached is not None:
        return cached
    location = found.get("Code", {}).get("Location")
    if fetch and location:
        with urllib.request.urlopen(location, timeout=60) as response:
            data = response.read()
        if _sha256_b64(data) != sha:
            raise DeployedCodeError(
                f"function {name}: the package downloaded from its Code.Location does not "
                f"match its CodeSha256 {sha}"
            )
        return zip_bytes_folder(data)
    raise DeployedCodeError(
        f"function {name}: its deployed package (CodeSha256 {sha}) is not on this machine, and "
        "a local Lambda API does not serve function code: deploy it with wsrelay deploy (which "
        f"keeps a copy), or pass --code {name}=PATH with the deployed zip"
    )


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()
