"""The Lambda proxy integration: what API Gateway passes to a function, and how it reads the answer.

Pure functions: the handshake headers a ``$connect`` event shows, the X-Ray trace header
API Gateway adds, and the reading of a proxy result (``statusCode``, ``headers``, ``body``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from typing import Any

from wsrelay.local.lambda_runtime.environments import Invocation

__all__ = [
    "HOP_BY_HOP",
    "connect_response",
    "handshake_headers",
    "is_proxy_response",
    "reply_body",
    "status_of",
    "trace_id",
]

#: Hop-by-hop headers (RFC 9110 section 7.6.1): they end at API Gateway's front door, so
#: a ``$connect`` event never shows them (compare ``tests/events/``).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def handshake_headers(
    sent: Iterable[tuple[str, str]], peer: str, port: int, scheme: str, trace: str
) -> list[tuple[str, str]]:
    """The handshake's headers as API Gateway passes them on to ``$connect``.

    Real ``$connect`` captures carry ``X-Forwarded-For`` (the client's address appended to
    any the client sent), ``X-Forwarded-Port``, ``X-Forwarded-Proto`` and an X-Ray
    ``X-Amzn-Trace-Id``, and no hop-by-hop headers.
    """
    sent = list(sent)
    sent_for = next((v for k, v in sent if k.lower() == "x-forwarded-for"), None)
    added = {
        "X-Amzn-Trace-Id": trace,
        "X-Forwarded-For": f"{sent_for}, {peer}" if sent_for else peer,
        "X-Forwarded-Port": str(port),
        "X-Forwarded-Proto": scheme,
    }
    replaced = {name.lower() for name in added} | HOP_BY_HOP
    kept = [(k, v) for k, v in sent if k.lower() not in replaced]
    return kept + list(added.items())


def trace_id(rng: random.Random, now: float) -> str:
    """An X-Ray trace header: ``Root=1-{epoch seconds, hex}-{96 random bits, hex}``.

    https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
    """
    return f"Root=1-{int(now):08x}-{rng.getrandbits(96):024x}"


def _status(value: Any) -> int | None:
    """A proxy result's ``statusCode``: 200 when absent, ``None`` when not an integer."""
    if not isinstance(value, dict) or "statusCode" not in value:
        return 200
    status = value["statusCode"]
    # JSON has one number type; Lambda's proxy integration wants an integer (a bool is not).
    if isinstance(status, bool) or not isinstance(status, int):
        return None
    return status


def is_proxy_response(value: Any) -> bool:
    """Whether a handler's return value is one API Gateway accepts.

    An object whose ``statusCode`` (if any) is an integer, or nothing at all; anything else
    is malformed output, which the client sees as an ``Internal server error`` frame.
    """
    if value is None:
        return True
    return isinstance(value, dict) and _status(value) is not None


def reply_body(value: Any) -> str | None:
    """What a two-way route sends back: the proxy result's ``body`` (JSON text if not a string)."""
    if not isinstance(value, dict):
        return None
    body = value.get("body")
    if body is None or isinstance(body, str):
        return body
    return json.dumps(body)


def status_of(result: Invocation) -> int | str:
    """The status a REPORT line shows: the proxy result's ``statusCode``, or ``error``."""
    if not result.ok:
        return "error"
    status = _status(result.value)
    return "malformed" if status is None else status


#: A failed integration's answer to the handshake: the function raised, died, timed out on
#: its own, was throttled or returned malformed output (serverless-websockets-plugin#13,
#: mavi888/websockets-chat#1: "Unexpected server response: 502").
BAD_GATEWAY = (502, json.dumps({"message": "Internal server error"}))
#: API Gateway stopped waiting (29 s): "If an integration request takes longer than [the]
#: maximum integration timeout, API Gateway returns an HTTP 504", for REST, HTTP and
#: WebSocket APIs alike (https://repost.aws/knowledge-center/api-gateway-504-errors). The
#: body is REST's "Endpoint request timed out"; a WebSocket handshake's is undocumented.
GATEWAY_TIMEOUT = (504, json.dumps({"message": "Endpoint request timed out"}))
#: ``errorType`` of an invocation API Gateway stopped waiting for (``FunctionRuntime.invoke``).
INTEGRATION_TIMEOUT = "IntegrationTimeout"


def connect_response(result: Invocation) -> tuple[int, str, dict[str, str]]:
    """Read a ``$connect`` Lambda proxy result: (status, body, headers) of the handshake.

    The handler's own ``statusCode`` passes through (a 500 it returns is a 500,
    aws-samples/simple-websockets-chat-app#49); a failed integration is 502, a timed-out
    one 504 (see :data:`BAD_GATEWAY`, :data:`GATEWAY_TIMEOUT`).
    """
    if not result.ok:
        if result.error.get("errorType") == INTEGRATION_TIMEOUT:
            return (*GATEWAY_TIMEOUT, {})
        return (*BAD_GATEWAY, {})
    value = result.value
    if value is None:
        return 200, "", {}
    if not isinstance(value, dict):
        return (*BAD_GATEWAY, {})
    status = _status(value)
    headers = value.get("headers")
    if status is None or not isinstance(headers, dict | None):
        return (*BAD_GATEWAY, {})
    return status, reply_body(value) or "", {str(k): str(v) for k, v in (headers or {}).items()}
