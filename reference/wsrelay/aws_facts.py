"""What AWS documents about WebSocket APIs, stated once: limits, timeouts, errors, route keys.

Every module that needs one of these imports it from here (``tests/test_aws_facts.py`` fails
on a second copy of a number). Standard library only: the Lambda package ships this module
with the handlers.

Sources:

- Limits and timeouts: "Amazon API Gateway quotas for configuring and running a WebSocket
  API", https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
- ``@connections``: the botocore model ``apigatewaymanagementapi/2018-11-29/service-2.json``
  and https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-how-to-call-websocket-api-connections.html
- Route keys: https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html
- Lambda's timeout: https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CONNECT_ROUTE",
    "DEFAULT_ROUTE",
    "DISCONNECT_ROUTE",
    "FORBIDDEN",
    "GONE",
    "IDLE_TIMEOUT_SECONDS",
    "INTEGRATION_TIMEOUT_SECONDS",
    "LAMBDA_MAX_TIMEOUT_SECONDS",
    "LIMIT_EXCEEDED",
    "MAX_CONNECTION_SECONDS",
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "PAYLOAD_TOO_LARGE",
    "PREDEFINED_ROUTES",
    "ApiError",
]

# --- limits (the quotas table) -------------------------------------------------------------

#: "WebSocket frame size: 32 KB". Binary kilobytes: 32,768 bytes. Messages posted through
#: ``@connections`` over this size reach the client split into frames of this size.
MAX_FRAME_BYTES = 32_768
#: "Message payload size: 128 KB" (131,072 bytes), also botocore's maximum for
#: PostToConnection's ``Data``.
MAX_MESSAGE_BYTES = 131_072
#: "Idle Connection Timeout: 10 minutes".
IDLE_TIMEOUT_SECONDS = 600.0
#: "Connection duration for WebSocket API: 2 hours". Connection rows live no longer (TTL).
MAX_CONNECTION_SECONDS = 7_200
#: "Integration timeout: 50 milliseconds - 29 seconds for all integration types".
INTEGRATION_TIMEOUT_SECONDS = 29.0
#: A Lambda function's ``Timeout`` may be up to 900 seconds (15 minutes).
LAMBDA_MAX_TIMEOUT_SECONDS = 900

# --- route keys ------------------------------------------------------------------------------

CONNECT_ROUTE = "$connect"
DISCONNECT_ROUTE = "$disconnect"
#: The route of a frame no other route matches (and of a frame that is not JSON).
DEFAULT_ROUTE = "$default"
PREDEFINED_ROUTES = frozenset({CONNECT_ROUTE, DISCONNECT_ROUTE, DEFAULT_ROUTE})

# --- the @connections API's errors (botocore model apigatewaymanagementapi) ----------------


@dataclass(frozen=True)
class ApiError:
    """One modelled error of the ``@connections`` API.

    ``code`` goes in the ``x-amzn-ErrorType`` header: botocore raises the modelled exception
    class (``client.exceptions.GoneException``, …) only when it is there.
    """

    status: int
    code: str
    message: str

    def body(self, message: str | None = None) -> dict[str, str]:
        """The error as the management API's JSON body (``__type`` read by the gateway only)."""
        return {"__type": self.code, "message": message or self.message}


#: "The connection with the provided id no longer exists." (AWS's own wording).
GONE = ApiError(410, "GoneException", "The connection with the provided id no longer exists.")
#: "The data has exceeded the maximum size allowed."
PAYLOAD_TOO_LARGE = ApiError(
    413, "PayloadTooLargeException", "The data has exceeded the maximum size allowed."
)
#: "The client is sending more than the allowed number of requests per unit of time or the
#: WebSocket client side buffer is full." The connection stays open.
LIMIT_EXCEEDED = ApiError(
    429, "LimitExceededException", "The WebSocket client side buffer is full."
)
#: "The caller is not authorized to invoke this operation."
FORBIDDEN = ApiError(403, "ForbiddenException", "Forbidden")
