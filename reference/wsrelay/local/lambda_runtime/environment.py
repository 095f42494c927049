"""What a function's execution environment contains: its variables and its configuration.

Lambda gives a function a clean environment: the function's own variables plus the ones
Lambda reserves (docs: configuration-envvars, "Defined runtime environment variables",
https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime),
never the variables of whoever deployed it. So here: a variable exported in the shell that
starts the gateway is invisible to handlers. Only what a process needs to start on this
platform is passed through (``PATH``, and on Windows ``SYSTEMROOT`` and its companions);
``AWS_CONFIG_FILE`` and ``AWS_SHARED_CREDENTIALS_FILE`` point at a file that does not
exist, so the host's ``~/.aws`` profiles cannot leak into a function (Lambda has none).
"""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wsrelay.local.api import Function

__all__ = ["RESERVED", "lambda_environment", "local_runtime_version", "log_stream_name"]

#: Variables Lambda sets and a function may not set itself.
RESERVED = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)

#: What a Python process needs from the host to start at all, per platform.
_PLATFORM_VARIABLES = ("PATH",) + (
    ("SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP", "USERPROFILE")
    if os.name == "nt"
    else ()
)

#: A file that never exists: botocore then reads no shared config or credentials file.
_NO_AWS_FILES = str(Path(tempfile.gettempdir()) / "wsrelay-no-aws-config" / "none")


def local_runtime_version() -> str:
    """The Lambda runtime name of this interpreter, e.g. ``python3.11``."""
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def log_stream_name(now: float | None = None) -> str:
    """A log stream name as Lambda makes them: ``2026/12/01/[$LATEST]<32 hex digits>``."""
    day = time.strftime("%Y/%m/%d", time.gmtime(time.time() if now is None else now))
    return f"{day}/[$LATEST]{secrets.token_hex(16)}"


def lambda_environment(
    function: Function,
    *,
    region: str,
    credentials: Mapping[str, str],
    runtime_api: str,
    runtime_dir: Path,
    log_stream: str,
    host: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment variables of one execution environment of ``function``.

    Args:
        function: the function (its variables, name, handler, memory, code folder).
        region: ``AWS_REGION`` / ``AWS_DEFAULT_REGION``.
        credentials: ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY`` and
            ``AWS_SESSION_TOKEN``, as Lambda passes the execution role's.
        runtime_api: ``host:port`` of the gateway's channel (``AWS_LAMBDA_RUNTIME_API``).
        runtime_dir: the folder of the runtime's own code (``LAMBDA_RUNTIME_DIR``).
        log_stream: ``AWS_LAMBDA_LOG_STREAM_NAME``.
        host: the host's environment, for the few variables a process needs (default
            ``os.environ``).
    """
    source = os.environ if host is None else host
    environment = {name: source[name] for name in _PLATFORM_VARIABLES if name in source}
    environment.update(
        {
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_CONFIG_FILE": _NO_AWS_FILES,
            "AWS_SHARED_CREDENTIALS_FILE": _NO_AWS_FILES,
        }
    )
    environment.update({str(k): str(v) for k, v in function.environment.items()})
    runtime = function.runtime or local_runtime_version()
    reserved: dict[str, Any] = {
        "_HANDLER": function.handler,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{runtime}",
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "AWS_LAMBDA_RUNTIME_API": runtime_api,
        "LAMBDA_TASK_ROOT": str(function.code_dir or Path.cwd()),
        "LAMBDA_RUNTIME_DIR": str(runtime_dir),
    }
    reserved.update(credentials)
    if "AWS_ACCESS_KEY_ID" in credentials:
        reserved["AWS_ACCESS_KEY"] = credentials["AWS_ACCESS_KEY_ID"]
    environment.update(reserved)
    return environment
