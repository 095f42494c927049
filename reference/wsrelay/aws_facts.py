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
- Scale (notebook 08, ``wsrelay.scale``): the sources are named beside each fact below, in
  ``SOURCES``; prices are us-east-1's, read in December 2026.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ACCOUNT_REQUESTS_PER_SECOND",
    "APPSYNC_EVENTS_PRICE_PER_MILLION_CONNECTION_MINUTES",
    "APPSYNC_EVENTS_PRICE_PER_MILLION_OPERATIONS",
    "AUTHORIZER_UNAUTHORIZED",
    "CONNECT_ROUTE",
    "DEFAULT_ROUTE",
    "DISCONNECT_ROUTE",
    "DYNAMODB_PARTITION_READ_UNITS",
    "DYNAMODB_PARTITION_WRITE_UNITS",
    "DYNAMODB_PRICE_PER_MILLION_READ_UNITS",
    "FORBIDDEN",
    "GONE",
    "IDLE_TIMEOUT_SECONDS",
    "INTEGRATION_TIMEOUT_SECONDS",
    "INVOKE_ACTION",
    "IOT_CORE_PRICE_PER_MILLION_CONNECTION_MINUTES",
    "IOT_CORE_PRICE_PER_MILLION_MESSAGES",
    "LAMBDA_ASYNC_MAX_EVENT_AGE_SECONDS",
    "LAMBDA_ASYNC_PAYLOAD_BYTES",
    "LAMBDA_CONCURRENCY_DEFAULT",
    "LAMBDA_INVOKE_ASYNC_PAYLOAD_BYTES",
    "LAMBDA_MAX_TIMEOUT_SECONDS",
    "LAMBDA_MB_PER_VCPU",
    "LAMBDA_PRICE_PER_GB_SECOND",
    "LAMBDA_PRICE_PER_MILLION_REQUESTS",
    "LIMIT_EXCEEDED",
    "MANAGED_METERING_BYTES",
    "MAX_CONNECTION_SECONDS",
    "MAX_FRAME_BYTES",
    "MAX_MESSAGE_BYTES",
    "MESSAGE_METERING_BYTES",
    "NEW_CONNECTIONS_PER_SECOND",
    "PAYLOAD_TOO_LARGE",
    "PREDEFINED_ROUTES",
    "SOURCES",
    "WEBSOCKET_PRICE_PER_MILLION_CONNECTION_MINUTES",
    "WEBSOCKET_PRICE_PER_MILLION_MESSAGES",
    "ApiError",
]

# --- limits (the quotas table) -------------------------------------------------------------

#: "WebSocket frame size: 32 KB" (KB read as 1,024 bytes, as for every size here: AWS does
#: not say). The limits table adds that a larger message "must be split into multiple frames,
#: each 32 KB or smaller. This applies to @connections commands": we read it, as clients of
#: AWS report, as the gateway splitting a posted message into frames of at most this size.
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

# --- scale: quotas (notebook 08) ------------------------------------------------------------

#: "New connections per second per account (across all WebSocket APIs) per Region: 500"
#: (the WebSocket quotas table; can be increased).
NEW_CONNECTIONS_PER_SECOND = 500
#: "Throttle quota per account, per Region across HTTP APIs, REST APIs, WebSocket APIs, and
#: WebSocket callback APIs: 10,000 requests per second" (API Gateway quotas): every
#: ``@connections`` POST of a broadcast counts against it.
ACCOUNT_REQUESTS_PER_SECOND = 10_000
#: Lambda "Concurrent executions: 1,000" per Region by default (Lambda quotas).
LAMBDA_CONCURRENCY_DEFAULT = 1_000
#: ``Invoke`` with ``InvocationType=Event``: "For asynchronous invocations, the maximum
#: payload size is 1 MB" (API_Invoke, and the Lambda quotas page); 256 KB before AWS raised it
#: in 2025 (AWS Compute Blog, "More room to build serverless services").
LAMBDA_ASYNC_PAYLOAD_BYTES = 1_048_576
#: How long Lambda keeps an asynchronous event it has not run: "up to 6 hours" (asynchronous
#: invocation: error handling, and ``MaximumEventAgeInSeconds``, at most 21,600).
LAMBDA_ASYNC_MAX_EVENT_AGE_SECONDS = 21_600
#: The deprecated ``InvokeAsync`` action: "The payload limit is 256KB" (API_InvokeAsync).
LAMBDA_INVOKE_ASYNC_PAYLOAD_BYTES = 262_144
#: "At 1,769 MB, a function has the equivalent of one vCPU" (Lambda memory configuration):
#: CPU is allocated in proportion to memory.
LAMBDA_MB_PER_VCPU = 1_769
#: "each individual partition is limited to 1,000 write units per second and 3,000 read
#: units per second" (DynamoDB warm throughput scenarios), a GSI's partitions too.
DYNAMODB_PARTITION_WRITE_UNITS = 1_000
DYNAMODB_PARTITION_READ_UNITS = 3_000

# --- scale: prices, us-east-1, USD (notebook 08) ---------------------------------------------

#: WebSocket APIs: "$1.00 per million" messages (first billion a month; $0.80 after).
WEBSOCKET_PRICE_PER_MILLION_MESSAGES = 1.00
#: WebSocket APIs: "$0.25 per million connection minutes".
WEBSOCKET_PRICE_PER_MILLION_CONNECTION_MINUTES = 0.25
#: "Messages are metered in 32 KB increments": a 33 KB message counts as two.
MESSAGE_METERING_BYTES = 32 * 1024
#: Lambda (x86): "$0.0000166667 for every GB-second" and "$0.20 per 1M requests".
LAMBDA_PRICE_PER_GB_SECOND = 0.0000166667
LAMBDA_PRICE_PER_MILLION_REQUESTS = 0.20
#: DynamoDB on-demand: "$0.125 per million read request units" since the price cut of
#: November 2024 (checked in third-party copies: the pricing page's rates load by script). A
#: Query of a GSI reads eventually consistent: "one-half read request unit" per 4 KB.
DYNAMODB_PRICE_PER_MILLION_READ_UNITS = 0.125
#: AppSync Events: "$1.00 per million Event API operations" and "$0.08 per million connection
#: minutes". An operation is each message published and each one delivered, and also each
#: handler run, connect, subscribe and ping; a message's price (``scale``) counts only the
#: first two, as a WebSocket API's counts only messages. Checked against the AWS Price List
#: (eu-west-1 row) and third-party copies: the pricing page's rates load by script.
APPSYNC_EVENTS_PRICE_PER_MILLION_OPERATIONS = 1.00
APPSYNC_EVENTS_PRICE_PER_MILLION_CONNECTION_MINUTES = 0.08
#: IoT Core: messaging "$1.00 (per million messages)" (first billion a month) and
#: connectivity "$0.08 (per million minutes of connection)": the pricing page's worked
#: example, given for Europe (Ireland); the us-east-1 rates were not found written out.
IOT_CORE_PRICE_PER_MILLION_MESSAGES = 1.00
IOT_CORE_PRICE_PER_MILLION_CONNECTION_MINUTES = 0.08
#: IoT Core meters "by the number of 5 KB messages required to encode the body" (its pricing
#: details; for MQTT the topic's bytes count too, which ``scale`` leaves out). For AppSync
#: Events we assume the same 5 KB: AppSync's pricing did not show it in the copies we read.
MANAGED_METERING_BYTES = 5 * 1024

#: Where each scale fact above is documented (fact name → page).
SOURCES: dict[str, str] = {
    "NEW_CONNECTIONS_PER_SECOND": "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html",
    "ACCOUNT_REQUESTS_PER_SECOND": "https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html",
    "LAMBDA_CONCURRENCY_DEFAULT": "https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html",
    "LAMBDA_ASYNC_PAYLOAD_BYTES": "https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html",
    "LAMBDA_ASYNC_MAX_EVENT_AGE_SECONDS": "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html",
    "LAMBDA_INVOKE_ASYNC_PAYLOAD_BYTES": "https://docs.aws.amazon.com/lambda/latest/dg/API_InvokeAsync.html",
    "LAMBDA_MB_PER_VCPU": "https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html",
    "DYNAMODB_PARTITION_WRITE_UNITS": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html",
    "DYNAMODB_PARTITION_READ_UNITS": "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/warm-throughput-scenarios.html",
    "WEBSOCKET_PRICE_PER_MILLION_MESSAGES": "https://aws.amazon.com/api-gateway/pricing/",
    "WEBSOCKET_PRICE_PER_MILLION_CONNECTION_MINUTES": "https://aws.amazon.com/api-gateway/pricing/",
    "MESSAGE_METERING_BYTES": "https://aws.amazon.com/api-gateway/pricing/",
    "DYNAMODB_PRICE_PER_MILLION_READ_UNITS": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "LAMBDA_PRICE_PER_GB_SECOND": "https://aws.amazon.com/lambda/pricing/",
    "LAMBDA_PRICE_PER_MILLION_REQUESTS": "https://aws.amazon.com/lambda/pricing/",
    "APPSYNC_EVENTS_PRICE_PER_MILLION_OPERATIONS": "https://aws.amazon.com/appsync/pricing/",
    "APPSYNC_EVENTS_PRICE_PER_MILLION_CONNECTION_MINUTES": "https://aws.amazon.com/appsync/pricing/",
    "IOT_CORE_PRICE_PER_MILLION_MESSAGES": "https://aws.amazon.com/iot-core/pricing/",
    "IOT_CORE_PRICE_PER_MILLION_CONNECTION_MINUTES": "https://aws.amazon.com/iot-core/pricing/",
    "MANAGED_METERING_BYTES": "https://aws.amazon.com/iot-core/pricing/",
}

# --- route keys ------------------------------------------------------------------------------

CONNECT_ROUTE = "$connect"
DISCONNECT_ROUTE = "$disconnect"
#: The route of a frame no other route matches (and of a frame that is not JSON).
DEFAULT_ROUTE = "$default"
PREDEFINED_ROUTES = frozenset({CONNECT_ROUTE, DISCONNECT_ROUTE, DEFAULT_ROUTE})

# --- Lambda authorizers (apigateway-websocket-api-lambda-auth.html) -------------------------

#: What a Lambda authorizer raises to be answered 401: ``Exception("Unauthorized")``, spelt so.
AUTHORIZER_UNAUTHORIZED = "Unauthorized"
#: The IAM action an authorizer's policy allows or denies on the ``$connect`` route's ARN.
INVOKE_ACTION = "execute-api:Invoke"

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
