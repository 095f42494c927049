"""API Gateway WebSocket Lambda-proxy events, built and read exactly as AWS shapes them.

AWS sends three kinds of event to a WebSocket API's Lambda proxy integration:

- ``CONNECT`` (route ``$connect``): the handshake's headers, and query parameters when the URL
  has a query string; no ``body`` key.
- ``DISCONNECT`` (route ``$disconnect``): fixed headers, ``disconnectStatusCode`` and
  ``disconnectReason`` in the request context; no ``body`` key.
- ``MESSAGE`` (any other route): no headers; ``messageId`` in the request context; ``body`` is
  the frame's text.

The shapes follow real captures (``tests/events/``) and Powertools' parser models; see
https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-mapping-template-reference.html
for the meaning of each ``$context`` field.

The builders are pure functions: every varying value (ids, times, addresses) is an argument,
so the local gateway, the tests and the notebooks can make events that are deterministic.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Mapping, Sequence
from typing import Any

from wsrelay import aws_facts

__all__ = [
    "body",
    "build_connect_event",
    "build_disconnect_event",
    "build_message_event",
    "connection_id",
    "domain_name",
    "event_type",
    "format_request_time",
    "new_aws_id",
    "query_parameters",
    "route_key",
    "stage",
]

Event = dict[str, Any]

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def new_aws_id(rng: random.Random | None = None) -> str:
    """Return an id shaped like AWS's connection, request and message ids.

    AWS ids such as ``Mg_ugfpqPHcCIVA=`` are 11 bytes in URL-safe base64: 16 characters, the
    last one ``=``. Pass a seeded ``random.Random`` for a repeatable sequence (notebooks do).
    """
    source = rng if rng is not None else _SYSTEM_RANDOM
    return base64.urlsafe_b64encode(source.randbytes(11)).decode("ascii")


_SYSTEM_RANDOM = random.SystemRandom()


def format_request_time(epoch_ms: int) -> str:
    """Format epoch milliseconds as ``requestTime`` does: ``27/Nov/2026:08:48:09 +0000``.

    Month names are always English (AWS's log format), whatever the machine's locale.
    """
    t = time.gmtime(epoch_ms / 1000)
    return f"{t.tm_mday:02d}/{_MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def _request_context(
    *,
    route_key: str,
    event_type: str,
    connection_id: str,
    connected_at: int,
    request_time_epoch: int,
    request_id: str,
    domain_name: str,
    stage: str,
    api_id: str,
    source_ip: str,
    user_agent: str | None,
) -> dict[str, Any]:
    identity: dict[str, Any] = {"sourceIp": source_ip}
    if user_agent is not None:
        identity["userAgent"] = user_agent
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": format_request_time(request_time_epoch),
        "messageDirection": "IN",
        "stage": stage,
        "connectedAt": connected_at,
        "requestTimeEpoch": request_time_epoch,
        "identity": identity,
        "requestId": request_id,
        "domainName": domain_name,
        "connectionId": connection_id,
        "apiId": api_id,
    }


def _multi(pairs: Sequence[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Fold (name, value) pairs into AWS's single-value (last wins) and multi-value maps."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def build_connect_event(
    *,
    connection_id: str,
    request_id: str,
    connected_at: int,
    domain_name: str,
    stage: str,
    api_id: str,
    headers: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    query: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    source_ip: str = "127.0.0.1",
    user_agent: str | None = None,
    authorizer: Mapping[str, Any] | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> Event:
    """Build a ``$connect`` event.

    Args:
        connection_id: the new connection's id (see :func:`new_aws_id`).
        request_id: the request's id; AWS uses it for ``requestId`` and ``extendedRequestId``.
        connected_at: epoch milliseconds; also the request time of a connect.
        domain_name: ``{api-id}.execute-api.{region}.amazonaws.com``, or the local host:port.
        stage: the stage name.
        api_id: the API's id.
        headers: the handshake's headers, in order; repeated names keep every value in
            ``multiValueHeaders``.
        query: the URL's query parameters; when empty the event has no query keys at all,
            as AWS sends it.
        source_ip: the client's address.
        user_agent: the client's User-Agent, if it sent one.
        authorizer: the context a Lambda authorizer returned, if the route has one.
        stage_variables: the stage's variables; the event has ``stageVariables`` only
            when there are some (https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-stages.html).

    Returns:
        The event, as a JSON-ready dict.
    """
    header_pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    query_pairs = list(query.items()) if isinstance(query, Mapping) else list(query)
    single_headers, multi_headers = _multi(header_pairs)
    event: Event = {"headers": single_headers, "multiValueHeaders": multi_headers}
    if query_pairs:
        single_query, multi_query = _multi(query_pairs)
        event["queryStringParameters"] = single_query
        event["multiValueQueryStringParameters"] = multi_query
    context = _request_context(
        route_key=aws_facts.CONNECT_ROUTE,
        event_type="CONNECT",
        connection_id=connection_id,
        connected_at=connected_at,
        request_time_epoch=connected_at,
        request_id=request_id,
        domain_name=domain_name,
        stage=stage,
        api_id=api_id,
        source_ip=source_ip,
        user_agent=user_agent,
    )
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    event["requestContext"] = context
    event["isBase64Encoded"] = False
    return _with_stage_variables(event, stage_variables)


def _with_stage_variables(event: Event, variables: Mapping[str, str] | None) -> Event:
    if variables:
        event["stageVariables"] = dict(variables)
    return event


def build_disconnect_event(
    *,
    connection_id: str,
    request_id: str,
    connected_at: int,
    request_time_epoch: int,
    domain_name: str,
    stage: str,
    api_id: str,
    status_code: int,
    reason: str,
    source_ip: str = "127.0.0.1",
    user_agent: str | None = None,
    authorizer: Mapping[str, Any] | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> Event:
    """Build a ``$disconnect`` event.

    ``status_code`` is the close code (1005 when the client's close frame had none, 1006 when
    the connection was lost without one) and ``reason`` the text AWS puts beside it. The
    headers are the fixed four AWS sends on every disconnect.
    """
    host = domain_name
    single, multi = _multi(
        [("Host", host), ("x-api-key", ""), ("X-Forwarded-For", ""), ("x-restapi", "")]
    )
    context = _request_context(
        route_key=aws_facts.DISCONNECT_ROUTE,
        event_type="DISCONNECT",
        connection_id=connection_id,
        connected_at=connected_at,
        request_time_epoch=request_time_epoch,
        request_id=request_id,
        domain_name=domain_name,
        stage=stage,
        api_id=api_id,
        source_ip=source_ip,
        user_agent=user_agent,
    )
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    event = {
        "headers": single,
        "multiValueHeaders": multi,
        "requestContext": context,
        "isBase64Encoded": False,
    }
    return _with_stage_variables(event, stage_variables)


def build_message_event(
    *,
    route_key: str,
    body: str,
    connection_id: str,
    request_id: str,
    message_id: str,
    connected_at: int,
    request_time_epoch: int,
    domain_name: str,
    stage: str,
    api_id: str,
    source_ip: str = "127.0.0.1",
    user_agent: str | None = None,
    authorizer: Mapping[str, Any] | None = None,
    stage_variables: Mapping[str, str] | None = None,
) -> Event:
    """Build a ``MESSAGE`` event for ``route_key`` (``$default`` or a custom route).

    ``body`` is the frame's text exactly as the client sent it: AWS does not parse it for the
    handler, only for route selection.
    """
    context = _request_context(
        route_key=route_key,
        event_type="MESSAGE",
        connection_id=connection_id,
        connected_at=connected_at,
        request_time_epoch=request_time_epoch,
        request_id=request_id,
        domain_name=domain_name,
        stage=stage,
        api_id=api_id,
        source_ip=source_ip,
        user_agent=user_agent,
    )
    context["messageId"] = message_id
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    event = {"requestContext": context, "body": body, "isBase64Encoded": False}
    return _with_stage_variables(event, stage_variables)


# --- Reading events ---------------------------------------------------------------------


def _context(event: Mapping[str, Any]) -> Mapping[str, Any]:
    context = event.get("requestContext")
    if not isinstance(context, Mapping):
        raise ValueError("not an API Gateway WebSocket event: it has no requestContext object")
    return context


def _context_str(event: Mapping[str, Any], key: str) -> str:
    value = _context(event).get(key)
    if not isinstance(value, str):
        raise ValueError(f"not an API Gateway WebSocket event: requestContext.{key} is missing")
    return value


def route_key(event: Mapping[str, Any]) -> str:
    """Return ``requestContext.routeKey``: ``$connect``, ``$disconnect``, ``$default`` or custom."""
    return _context_str(event, "routeKey")


def event_type(event: Mapping[str, Any]) -> str:
    """Return ``requestContext.eventType``: ``CONNECT``, ``DISCONNECT`` or ``MESSAGE``."""
    return _context_str(event, "eventType")


def connection_id(event: Mapping[str, Any]) -> str:
    """Return the connection's id, ``requestContext.connectionId``."""
    return _context_str(event, "connectionId")


def domain_name(event: Mapping[str, Any]) -> str:
    """Return ``requestContext.domainName``, the host the client connected to."""
    return _context_str(event, "domainName")


def stage(event: Mapping[str, Any]) -> str:
    """Return ``requestContext.stage``."""
    return _context_str(event, "stage")


def body(event: Mapping[str, Any]) -> str | None:
    """Return the frame's text, or ``None`` for events that carry no body.

    A base64-encoded body (``isBase64Encoded: true``, binary frames under content handling)
    is decoded as UTF-8, replacing bytes that are not valid UTF-8.
    """
    raw = event.get("body")
    if raw is None:
        return None
    text = str(raw)
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
        except ValueError:  # binascii.Error: not base64 after all; keep the text as sent
            return text
    return text


def query_parameters(event: Mapping[str, Any]) -> dict[str, str]:
    """Return the connect URL's query parameters (last value wins), or ``{}`` when none.

    AWS omits the key, or sends ``null``, when the URL has no query string.
    """
    params = event.get("queryStringParameters")
    if not isinstance(params, Mapping):
        return {}
    return {str(k): str(v) for k, v in params.items()}
