"""How a function's AWS calls reach the local stack, whatever endpoint or session it uses.

A handler builds its clients as it would on AWS: ``boto3.client("dynamodb")``, a
management client on ``https://{domainName}/{stage}`` from the event, one on
``https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`` passed in through its
environment, a ``boto3.session.Session()`` of its own. Every one of those calls must land
on the local stack and none may leave the machine. So, in the function's environment:

- a call to an AWS host (``*.amazonaws.com``) of DynamoDB goes to the gateway's DynamoDB,
  of Lambda to the gateway's local Lambda (``Invoke``), of any other service to the
  all-services moto server if one runs, and otherwise fails with
  :class:`LocalEndpointMissing`, naming the service;
- a ``@connections`` call to this gateway, by any of its names (the host clients connect
  to, the API's ``execute-api`` host), goes to the gateway; on the fast path it is
  answered over the environment's channel without HTTP (see :func:`fast_path_answer`);
  a ``@connections`` call to another API's AWS host is refused as AWS would refuse a
  call without permission (403 ``ForbiddenException``);
- calls to any other endpoint (a DynamoDB Local the function is configured for, another
  local server) go where they were sent.

How the rule reaches every session: botocore gives each new session the handlers listed in
``botocore.handlers.BUILTIN_HANDLERS``, so one more entry there is registered on every
client of every session made afterwards. The entry listens to ``before-call``, which
botocore emits once it has validated and serialized a call and resolved its endpoint, and
before it signs and sends it: rewriting ``params["url"]`` sends the request elsewhere, and
returning ``(http_response, parsed)`` answers it (botocore still raises the modelled
error from the parsed answer). ``BUILTIN_HANDLERS`` is not documented API: this module is
the one place that relies on it, it checks the botocore version it was proven on, and
``tests/local/test_aws_hooks.py`` is the canary that fails in one readable place if it moves.

This module runs inside a function's environment, loaded by path by ``bootstrap.py``: it
imports nothing of ``wsrelay`` (the function's own code may ship a package of that name)
and only botocore of the third-party libraries, lazily.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit, urlunsplit

__all__ = [
    "PROVEN_BOTOCORE",
    "LocalEndpointMissing",
    "Routes",
    "install",
    "is_aws_host",
    "route_request",
]

logger = logging.getLogger("wsrelay.runtime")

#: botocore releases this module was proven on (``BUILTIN_HANDLERS``, ``before-call``'s
#: arguments). Outside the range it still installs, and says so once.
PROVEN_BOTOCORE = ((1, 40), (1, 45))

#: Host suffixes of AWS's public endpoints (commercial, China, the dual-stack ``api.aws``).
AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")

#: PostToConnection's limit (``Data`` up to 131,072 bytes; botocore model
#: ``apigatewaymanagementapi``); a larger post takes the round trip and gets the
#: gateway's own 413. The gateway sends its value (``wsrelay.aws_facts``) in the
#: configuration (``Routes.max_post_bytes``); this module cannot import ``wsrelay``.
MAX_POST_BYTES = 131_072
#: Statuses botocore retries (throttling, server errors): a fast-path call answered with
#: one is sent again over HTTP, so botocore's own retry mode handles it as it would on AWS.
_RETRIED_OVER_HTTP = frozenset({429, 500, 502, 503, 504})

#: The modelled error of a call without permission (``wsrelay.aws_facts.FORBIDDEN``).
_FORBIDDEN = "ForbiddenException"
_OPERATIONS = {"PostToConnection": "post", "GetConnection": "get", "DeleteConnection": "delete"}
_OK_HEADERS = {"x-amzn-RequestId": "local"}


class LocalEndpointMissing(Exception):
    """A function called an AWS service that this local stack does not run."""


class Channel(Protocol):
    """The environment's channel to the gateway (``bootstrap._Channel``)."""

    live: set[str]

    def send(self, message: dict[str, Any]) -> None: ...

    def call(self, message: dict[str, Any]) -> dict[str, Any]: ...


class Routes:
    """Where a function's AWS calls go, as the gateway configured its environment.

    Args:
        gateway_base: the gateway's own ``http://HOST:PORT``.
        gateway_hosts: every host (``host[:port]``) that names this gateway: the address
            clients connect to and the API's ``{apiId}.execute-api.{region}.amazonaws.com``.
        services: service name (botocore's, e.g. ``dynamodb``) → local ``http://`` endpoint;
            ``"*"`` for every other service (the all-services moto), if one runs.
    """

    def __init__(
        self,
        gateway_base: str,
        gateway_hosts: list[str],
        services: Mapping[str, str],
        *,
        dynamodb_on_channel: bool = False,
        max_post_bytes: int = MAX_POST_BYTES,
    ) -> None:
        self.gateway_base = gateway_base.rstrip("/")
        self.max_post_bytes = max_post_bytes
        self.gateway_hosts = {_strip_default_port(h.lower()) for h in gateway_hosts}
        self.services = dict(services)
        #: (service, scheme, host) → (the local origin it goes to, or None): see route_request.
        self.decided: dict[tuple[str, str, str], tuple[str | None]] = {}
        #: The gateway answers DynamoDB itself (its embedded moto): on the fast path, calls
        #: to it go over the channel (``fast_path_dynamodb``).
        self.dynamodb_on_channel = dynamodb_on_channel
        local = urlsplit(self.services.get("dynamodb", ""))
        self._dynamodb_netloc = local.netloc

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Routes:
        return cls(
            config["gateway_base"],
            list(config["gateway_hosts"]),
            config["services"],
            dynamodb_on_channel=bool(config.get("dynamodb_on_channel")),
            max_post_bytes=int(config.get("max_post_bytes", MAX_POST_BYTES)),
        )

    def is_gateway_dynamodb(self, url: str) -> bool:
        """Whether ``url`` is the DynamoDB the gateway answers itself."""
        return self.dynamodb_on_channel and urlsplit(url).netloc == self._dynamodb_netloc

    def learn_host(self, host: str) -> None:
        """Add a name clients reached the gateway by (an event's ``domainName``).

        Behind a proxy (JupyterHub, Codespaces, a workshop's LAN address) clients reach the
        gateway by names it cannot know in advance; it announces each one it sees.
        """
        self.gateway_hosts.add(_strip_default_port(host.lower()))
        self.decided.clear()

    def names_gateway(self, netloc: str) -> bool:
        return _strip_default_port(netloc.lower()) in self.gateway_hosts


def is_aws_host(host: str) -> bool:
    """Whether ``host`` (no port) is one of AWS's public endpoints."""
    host = host.lower().rstrip(".")
    return host.endswith(AWS_HOST_SUFFIXES)


def route_request(service: str, url: str, routes: Routes) -> str | None:
    """The URL a call of ``service`` to ``url`` must go to instead, or ``None`` to leave it.

    Raises:
        LocalEndpointMissing: ``url`` is an AWS endpoint of a service with no local stand-in.
    """
    # A fan-out posts to one origin 1,000 times: decide once per (service, origin), unless
    # the path matters (S3's virtual hosts keep their bucket in the host).
    scheme, _, rest = url.partition("://")
    netloc, slash, tail = rest.partition("/")
    key = (service, scheme, netloc)
    cached = routes.decided.get(key)
    if cached is not None and service != "s3":
        base = cached[0]
        return None if base is None else base + slash + tail
    routed = _route(service, url, routes)
    if service != "s3" and slash and (routed is None or routed.endswith(slash + tail)):
        base = None if routed is None else routed[: len(routed) - len(slash + tail)]
        routes.decided[key] = (base,)
    return routed


def _route(service: str, url: str, routes: Routes) -> str | None:
    parts = urlsplit(url)
    if service == "apigatewaymanagementapi" and routes.names_gateway(parts.netloc):
        return _rebase(routes.gateway_base, parts.path, parts.query)
    if not is_aws_host(parts.hostname or ""):
        return None
    if service == "apigatewaymanagementapi":
        return None  # another API on AWS: answered 403 by the hook, never sent
    target = routes.services.get(service) or routes.services.get("*")
    if not target:
        raise LocalEndpointMissing(
            f"this function called {service} at {parts.scheme}://{parts.netloc}, and the local "
            f"gateway runs no {service}: serve the app from its template (wsrelay serve "
            "--template), which starts a moto server for every other AWS service, or set "
            f"AWS_ENDPOINT_URL_{service.upper()} in the function's environment. No call "
            "leaves this machine."
        )
    path = parts.path
    if service == "s3":
        path = _path_style(parts.hostname or "", path)
    return _rebase(target, path, parts.query)


def install(routes: Routes, channel: Channel | None, *, fast_path: bool) -> None:
    """Route every botocore session's calls made from now on (see the module docstring)."""
    import botocore
    from botocore import handlers

    version = tuple(int(p) for p in botocore.__version__.split(".")[:2])
    low, high = PROVEN_BOTOCORE
    if not low <= version < high:
        logger.warning(
            "wsrelay routes AWS calls through botocore.handlers.BUILTIN_HANDLERS, proven on "
            "botocore %s.x to %s.x; this is %s: if calls stop reaching the local gateway, "
            "pin botocore to the proven range",
            ".".join(map(str, low)),
            f"{high[0]}.{high[1] - 1}",
            botocore.__version__,
        )
    hook = _make_hook(routes, channel if fast_path else None)
    handlers.BUILTIN_HANDLERS.append(("before-call", hook))


def _make_hook(routes: Routes, channel: Channel | None) -> Callable[..., Any]:
    def before_call(
        model: Any, params: dict[str, Any], context: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        service = model.service_model.service_name
        url = params.get("url", "")
        local = route_request(service, url, routes)
        if service != "apigatewaymanagementapi":
            if local is not None:
                params["url"] = local
                _checksum_in_header(params)
            if (
                channel is not None
                and service == "dynamodb"
                and routes.is_gateway_dynamodb(params["url"])
            ):
                region = (context or {}).get("client_region") or "us-east-1"
                return fast_path_dynamodb(channel, model, params, region)
            return None
        if local is None:
            if is_aws_host(urlsplit(url).hostname or ""):
                return _forbidden(url)
            return None
        params["url"] = local
        if channel is not None:
            return fast_path_answer(channel, model.name, params, routes.max_post_bytes)
        return None

    return before_call


def _checksum_in_header(params: dict[str, Any]) -> None:
    """A request moved from ``https://`` to the local ``http://`` sends its checksum in a header.

    botocore chose, from the ``https://`` URL, to send a streaming upload's checksum (S3's
    PutObject) as an aws-chunked trailer, which it does only over TLS
    (``botocore.httpchecksum.resolve_request_checksum_algorithm``); over plain HTTP it
    would have put it in a header, and the local server reads that form. The choice is in
    the request's context, which this adapter is the one place to touch.
    """
    algorithm = params.get("context", {}).get("checksum", {}).get("request_algorithm")
    if isinstance(algorithm, dict) and algorithm.get("in") == "trailer":
        algorithm["in"] = "header"


def fast_path_answer(
    channel: Channel, operation: str, params: dict[str, Any], max_post_bytes: int = MAX_POST_BYTES
) -> Any:
    """Answer a ``@connections`` call to this gateway over the channel instead of HTTP.

    A post to a connection the gateway has announced open is only queued: the gateway will
    write the frame, so the answer is 200 at once. Any other call (an id not known open, a
    get, a delete) waits for the gateway's own answer, so a 410 is never invented. An
    answer botocore would retry (429: the client is not reading) returns ``None``: the call
    goes on over HTTP, where botocore's retry mode runs as it would against AWS.
    """
    AWSResponse, HTTPHeaders, _ = _botocore()
    op = _OPERATIONS.get(operation)
    if op is None:
        return None
    url = params["url"]
    marker = "/@connections/"
    connection_id = unquote(url[url.index(marker) + len(marker) :].split("?", 1)[0])
    body = params.get("body") or b""
    data = body if isinstance(body, bytes) else str(body).encode("utf-8")
    if op == "post" and connection_id in channel.live and len(data) <= max_post_bytes:
        channel.send({"t": "post", "connection_id": connection_id, "data": data})
        parsed = {"ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": dict(_OK_HEADERS)}}
        return AWSResponse(url, 200, HTTPHeaders.from_dict(_OK_HEADERS), None), parsed
    reply = channel.call({"t": "manage", "op": op, "connection_id": connection_id, "data": data})
    status: int = reply["status"]
    if status in _RETRIED_OVER_HTTP:
        return None
    content: dict[str, Any] = reply["body"] or {}
    headers = dict(_OK_HEADERS)
    if status >= 300:
        headers["x-amzn-ErrorType"] = content.get("__type", "")
        parsed = {
            "Error": {"Code": content.get("__type", ""), "Message": content.get("message", "")},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers},
        }
    else:
        parsed = {"ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers}}
        if op == "get":
            parsed.update(_parse_get_connection(content))
    return AWSResponse(url, status, HTTPHeaders.from_dict(headers), None), parsed


def fast_path_dynamodb(channel: Channel, model: Any, params: dict[str, Any], region: str) -> Any:
    """Answer a DynamoDB call to the gateway's own DynamoDB over the channel, without HTTP.

    boto3 has validated and serialized the call; the gateway runs it in its embedded moto
    as an HTTP request would (``EmbeddedDynamoDB.answer``); botocore's own parser for the
    service's protocol reads the answer, so results and modelled errors are what HTTP gives.
    Only the transport (HTTP, signing, retries) is skipped.
    """
    AWSResponse, HTTPHeaders, create_parser = _botocore()
    body = params.get("body") or b""
    data = body if isinstance(body, bytes) else str(body).encode("utf-8")
    target = params.get("headers", {}).get("X-Amz-Target", "")
    reply = channel.call({"t": "dynamodb", "target": target, "body": data, "region": region})
    headers = HTTPHeaders.from_dict(dict(reply["headers"]))
    response = {"status_code": reply["status"], "headers": headers, "body": reply["body"]}
    parser = create_parser(model.service_model.protocol)
    parsed = parser.parse(response, model.output_shape)
    if reply["status"] >= 300:
        # An error's modelled fields (the old item of a failed condition with
        # ReturnValuesOnConditionCheckFailure, a cancelled transaction's CancellationReasons)
        # are parsed in a second pass with the error's own shape, as botocore's endpoint
        # does for every HTTP answer of 300 or more (``Endpoint._add_modeled_error_fields``,
        # private: so this is its public-API twin; keep the two in step).
        code = parsed.get("Error", {}).get("Code")
        shape = model.service_model.shape_for_error_code(code) if code else None
        if shape is not None:
            parsed.update(parser.parse(response, shape))
    return AWSResponse(params["url"], reply["status"], headers, None), parsed


def _forbidden(url: str) -> Any:
    """403 ``ForbiddenException`` for a ``@connections`` call to another API on AWS."""
    AWSResponse, HTTPHeaders, _ = _botocore()
    host = urlsplit(url).netloc
    message = (
        f"this local gateway does not serve the API at {host}, and no call leaves this "
        "machine: post to the endpoint of the API that invoked the function "
        "(https://{domainName}/{stage} from the event)"
    )
    headers = {**_OK_HEADERS, "x-amzn-ErrorType": _FORBIDDEN}
    parsed = {
        "Error": {"Code": _FORBIDDEN, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": 403, "HTTPHeaders": headers},
    }
    return AWSResponse(url, 403, HTTPHeaders.from_dict(headers), None), parsed


@functools.cache
def _botocore() -> tuple[Any, Any, Any]:
    """botocore's response classes and parser factory, imported once (they are on the hot path)."""
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders
    from botocore.parsers import create_parser

    return AWSResponse, HTTPHeaders, create_parser


def _parse_get_connection(body: dict[str, Any]) -> dict[str, Any]:
    from datetime import datetime

    def when(text: str) -> datetime:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))

    identity = body.get("identity") or {}
    return {
        "ConnectedAt": when(body["connectedAt"]),
        "LastActiveAt": when(body["lastActiveAt"]),
        "Identity": {"SourceIp": identity.get("sourceIp"), "UserAgent": identity.get("userAgent")},
    }


def _rebase(base: str, path: str, query: str) -> str:
    target = urlsplit(base)
    prefix = target.path.rstrip("/")
    return urlunsplit((target.scheme, target.netloc, prefix + (path or "/"), query, ""))


def _path_style(host: str, path: str) -> str:
    """``bucket.s3.region.amazonaws.com/key`` → ``/bucket/key`` (the local server has one host)."""
    bucket, dot, _ = host.partition(".s3")
    if dot and bucket and not host.startswith("s3."):
        return f"/{bucket}{path or '/'}"
    return path


def _strip_default_port(netloc: str) -> str:
    for suffix in (":443", ":80"):
        if netloc.endswith(suffix):
            return netloc[: -len(suffix)]
    return netloc
