"""The opening handshake: ``$connect`` and its authorizer decide before the 101 goes out.

"The upgrade stays pending until the ``$connect`` integration returns; if it fails, no
connection is made" (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-route-keys-connect-disconnect.html).
:func:`decide` runs the authorizer (if the route has one) and ``$connect``, and returns
the handshake's answer: the 101 with the headers ``$connect`` returned (its
``Sec-WebSocket-Protocol`` included, offered or not: a client refuses one it did not offer,
RFC 6455 section 4.1), or a refusal with its status:

- the authorizer: 401 (identity source missing, ``Unauthorized``), 403 (the policy does not
  allow it), 500 (it failed otherwise, or answered malformed output) — ``authorizer.py``;
- ``$connect``: the status it returns (400, 500, …), 502 when it fails, 504 when API Gateway
  stops waiting for it — ``proxy.py``.
"""

from __future__ import annotations

import email.utils
import http
import json
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from wsrelay import events
from wsrelay.aws_facts import CONNECT_ROUTE
from wsrelay.local.api import Authorizer
from wsrelay.local.apigateway import authorizer as authorization
from wsrelay.local.apigateway import proxy

if TYPE_CHECKING:
    from wsrelay.local.apigateway.server import GatewayServer

__all__ = ["Answer", "Handshake", "accept_response", "decide", "refusal_response"]


@dataclass
class Handshake:
    """What a client's upgrade request tells ``$connect``: its connection id, headers, query."""

    connection_id: str
    connected_at: int  #: epoch milliseconds
    host: str
    peer: str
    headers: list[tuple[str, str]]
    query: list[tuple[str, str]]
    user_agent: str | None
    scheme: str = "http"

    @classmethod
    def of(cls, request: Request, *, peer: str, connection_id: str) -> Handshake:
        _, _, query = request.path.partition("?")
        headers = list(request.headers.raw_items())
        return cls(
            connection_id=connection_id,
            connected_at=int(time.time() * 1000),
            host=request.headers.get("Host", ""),
            peer=peer,
            headers=headers,
            query=parse_qsl(query, keep_blank_values=True),
            user_agent=request.headers.get("User-Agent"),
        )

    def event_base(self, server: GatewayServer) -> dict[str, Any]:
        """The fields every event of this connection shares."""
        return {
            "connection_id": self.connection_id,
            "domain_name": self.host,
            "stage": server.stage,
            "api_id": server.api.api_id,
            "source_ip": self.peer,
            "user_agent": self.user_agent,
            "stage_variables": server.stage_variables,
        }


@dataclass
class Answer:
    """The handshake's answer: accepted (101) or refused with ``status`` and ``body``."""

    status: int = 101
    body: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    authorizer: dict[str, Any] | None = None

    @property
    def accepted(self) -> bool:
        return self.status == 101


async def decide(server: GatewayServer, handshake: Handshake) -> Answer:
    """Run the authorizer and ``$connect`` for ``handshake``; return the handshake's answer."""
    route = server.api.routes.get(CONNECT_ROUTE)
    if route is None:
        return Answer()
    base = handshake.event_base(server)
    # One trace id for the request, as the authorizer and $connect both see it.
    headers = proxy.handshake_headers(
        handshake.headers,
        handshake.peer,
        server.port,
        handshake.scheme,
        server.trace_id(handshake.connected_at / 1000),
    )
    context: dict[str, Any] | None = None
    if route.authorizer is not None:
        decision = await _authorize(server, route.authorizer, handshake, base, headers)
        if not decision.allowed:
            assert decision.status is not None
            return Answer(decision.status, json.dumps({"message": decision.message}))
        context = decision.context
    event = events.build_connect_event(
        request_id=server.new_id(),
        connected_at=handshake.connected_at,
        headers=headers,
        query=handshake.query,
        authorizer=context,
        **base,
    )
    result = await server.invoke(
        route.function, event, route=CONNECT_ROUTE, connection_id=handshake.connection_id
    )
    status, body, returned = proxy.connect_response(result)
    if status >= 300:
        return Answer(status, body)
    return Answer(headers=returned, authorizer=context)


async def _authorize(
    server: GatewayServer,
    authorizer: Authorizer,
    handshake: Handshake,
    base: dict[str, Any],
    headers: list[tuple[str, str]],
) -> authorization.Decision:
    connect = events.build_connect_event(
        request_id=server.new_id(),
        connected_at=handshake.connected_at,
        headers=headers,
        query=handshake.query,
        **base,
    )
    present = authorization.identity_sources_present(
        authorizer.identity_sources,
        dict(handshake.query),
        dict(handshake.headers),
        stage_variables=server.stage_variables,
        request_context=connect["requestContext"],
    )
    if not present:
        return authorization.UNAUTHORIZED_DECISION
    arn = authorization.method_arn(
        server.region, server.account_id, server.api.api_id, server.stage
    )
    result = await server.invoke(
        authorizer.function,
        authorization.authorizer_event(arn, connect, server.stage_variables),
        route=f"{CONNECT_ROUTE} (authorizer)",
        connection_id=handshake.connection_id,
    )
    return authorization.decide(result, arn)


def accept_response(response: Response, headers: dict[str, str]) -> Response:
    """websockets' 101 for the request, with the headers ``$connect`` returned added.

    A ``Sec-WebSocket-Protocol`` ``$connect`` chose goes back as it is: a client refuses
    one it did not offer, as it would from AWS.
    """
    for name, value in headers.items():
        if name.lower() == "sec-websocket-protocol" and name in response.headers:
            del response.headers[name]
        response.headers[name] = value
    return response


def refusal_response(status: int, body: str) -> Response:
    """The handshake refused: ``status`` with ``body`` (JSON), and the connection closes."""
    data = body.encode("utf-8")
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(data))),
            ("Connection", "close"),
        ]
    )
    return Response(status, phrase, headers, data)
