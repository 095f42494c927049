"""Lambda's ``Invoke`` API for the functions a gateway serves, on the gateway's own port.

A function that invokes another function of its app (``boto3.client("lambda").invoke``,
by name or ARN, ``RequestResponse`` or ``Event``) reaches this endpoint (``aws_hooks``
routes AWS's Lambda host here), and so can a test: ``boto3.client("lambda",
endpoint_url=gw.endpoint_url_lambda)``. Answers follow the API reference
(https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html):

- ``RequestResponse``: 200 and the function's result as the payload; a function error is
  still 200, with ``X-Amz-Function-Error: Unhandled`` and the error as the payload;
- ``Event``: 202 at once; the invocation runs when an environment is free;
- ``DryRun``: 204;
- an unknown function: 404 ``ResourceNotFoundException``; a body that is not JSON: 400
  ``InvalidRequestContentException``; a payload over 6 MB (1 MB for ``Event``): 413
  ``RequestTooLargeException``; past ``ReservedConcurrentExecutions``: 429
  ``TooManyRequestsException``.

Every other Lambda operation answers 400 naming the one operation served here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web

from wsrelay.local.lambda_runtime.runtime import FunctionRuntime

__all__ = ["INVOKE_PATH", "LambdaInvokeApi", "function_name_of"]

INVOKE_PATH = "/2015-03-31/functions/{function}/invocations"
MAX_SYNC_PAYLOAD = 6 * 2**20
MAX_ASYNC_PAYLOAD = 1 * 2**20

# name | partial ARN (account:function:name) | full ARN, each with an optional :qualifier
_NAME = re.compile(
    r"^(?:arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:)?(?:\d{12}:)?(?:function:)?"
    r"(?P<name>[a-zA-Z0-9_.-]+)(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?$"
)


def function_name_of(identifier: str) -> str | None:
    """The function name in a name, partial ARN or ARN (with or without a qualifier)."""
    match = _NAME.match(identifier)
    return match.group("name") if match else None


class LambdaInvokeApi:
    """The ``Invoke`` operation over the gateway's functions.

    Args:
        runtimes: function name → its runtime.
        arn_of: function name → its ARN, for error messages as Lambda words them.
        new_id: makes request ids.
    """

    def __init__(
        self,
        runtimes: dict[str, FunctionRuntime],
        arn_of: Callable[[str], str],
        new_id: Callable[[], str],
    ) -> None:
        self.runtimes = runtimes
        self.arn_of = arn_of
        self.new_id = new_id

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post(INVOKE_PATH, self.invoke)
        app.router.add_route("*", "/2015-03-31/{tail:.*}", self.unsupported)

    async def unsupported(self, request: web.Request) -> web.Response:
        await request.read()
        return _error(
            400,
            "InvalidRequestContentException",
            f"the local Lambda answers Invoke only (POST {INVOKE_PATH}); "
            f"{request.method} {request.path} is not served",
        )

    async def invoke(self, request: web.Request) -> web.Response:
        # Read the body before any answer, so the client's connection stays usable.
        body = await request.read()
        identifier = unquote(request.match_info["function"])
        name = function_name_of(identifier)
        runtime = self.runtimes.get(name or "")
        if runtime is None:
            return _error(
                404,
                "ResourceNotFoundException",
                f"Function not found: {self.arn_of(name or identifier)}",
            )
        kind = request.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        if kind not in ("RequestResponse", "Event", "DryRun"):
            return _error(
                400,
                "InvalidParameterValueException",
                f"InvocationType {kind!r}: use RequestResponse, Event or DryRun",
            )
        limit = MAX_ASYNC_PAYLOAD if kind == "Event" else MAX_SYNC_PAYLOAD
        if len(body) > limit:
            return _error(
                413,
                "RequestTooLargeException",
                f"Request must be smaller than {limit} bytes for the {kind} invocation type",
            )
        try:
            event: Any = json.loads(body) if body.strip() else {}
        except ValueError:
            return _error(
                400, "InvalidRequestContentException", "Could not parse request body into json"
            )
        headers = {"X-Amz-Executed-Version": "$LATEST", "x-amzn-RequestId": self.new_id()}
        if kind == "DryRun":
            return web.Response(status=204, headers=headers)
        request_id = headers["x-amzn-RequestId"]
        if kind == "Event":
            runtime.invoke_later(event, request_id=request_id)
            return web.Response(status=202, headers=headers)
        result = await runtime.invoke(event, request_id=request_id)
        if result.throttled:
            return _error(
                429,
                "TooManyRequestsException",
                "Rate Exceeded.",
                Reason="ReservedFunctionConcurrentInvocationLimitExceeded",
            )
        if result.ok:
            payload = json.dumps(result.value).encode("utf-8")
        else:
            headers["X-Amz-Function-Error"] = "Unhandled"
            error: dict[str, Any] = {
                k: result.error[k] for k in ("errorMessage", "errorType") if k in result.error
            }
            error["requestId"] = request_id
            error["stackTrace"] = result.error.get("stackTrace", [])
            payload = json.dumps(error).encode("utf-8")
        return web.Response(
            status=200, body=payload, headers=headers, content_type="application/json"
        )


def _error(status: int, error_type: str, message: str, **extra: str) -> web.Response:
    return web.json_response(
        {"Type": "User", "message": message, **extra},
        status=status,
        headers={"x-amzn-ErrorType": error_type},
    )
