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


def is_proxy_response(value: Any) -> bool:
    """Whether a handler's return value is one API Gateway accepts (an object, or nothing)."""
    return isinstance(value, dict) or value is None


def status_of(result: Invocation) -> int | str:
    """The status a REPORT line shows: the proxy result's ``statusCode``, or ``error``."""
    if not result.ok:
        return "error"
    if isinstance(result.value, dict):
        return int(result.value.get("statusCode", 200))
    return 200


def connect_response(result: Invocation) -> tuple[int, str, dict[str, str]]:
    """Read a ``$connect`` Lambda proxy result: (status, body, headers).

    A failed invocation is a 500 to the client, as a failed integration is.
    """
    if not result.ok:
        return 500, json.dumps({"message": "Internal server error"}), {}
    value = result.value
    if value is None:
        return 200, "", {}
    if not isinstance(value, dict):
        return 500, json.dumps({"message": "Internal server error"}), {}
    status = int(value.get("statusCode", 200))
    headers = {str(k): str(v) for k, v in (value.get("headers") or {}).items()}
    body = value.get("body", "")
    return status, body if isinstance(body, str) else json.dumps(body), headers
