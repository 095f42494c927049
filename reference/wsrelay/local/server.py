"""The gateway's asyncio side: one aiohttp application on one port, as AWS serves one domain.

- ``GET /{stage}`` with an Upgrade header: the WebSocket API. ``$connect`` (and its
  authorizer) run *before* the handshake completes; a refusal is the handshake's answer.
- ``POST|GET|DELETE /{stage}/@connections/{id}``: the management API (``connections.py``).
- ``GET /``: the chat page, when the package ships one.

Frames from one connection are handled in order, one at a time (AWS promises no order;
learners expect a ``joinroom`` to take effect before their next ``sendmessage``); frames from
different connections are handled concurrently.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType, web

from wsrelay import events
from wsrelay.local import proxy, routing
from wsrelay.local.api import ApiDefinition, Authorizer
from wsrelay.local.authorizer import authorizer_event, decide, identity_sources_present, method_arn
from wsrelay.local.connections import DEFAULT_MAX_BACKLOG_BYTES, Connection, ConnectionRegistry
from wsrelay.local.frames import LimitedWebSocketResponse
from wsrelay.local.lambda_runtime.environments import DynamoDBHandler, RuntimeApi
from wsrelay.local.lambda_runtime.invoke_api import LambdaInvokeApi
from wsrelay.local.lambda_runtime.runtime import (
    DEFAULT_MAX_ENVIRONMENTS,
    FunctionRuntime,
    Invocation,
)

__all__ = ["GatewayServer", "Limits"]

logger = logging.getLogger("wsrelay.local")
STATIC = Path(__file__).parent / "static"
#: Seconds a server-initiated closing handshake may take before the socket is cut (aiohttp
#: waits up to 10 s for the client's reply; this also covers sending the close frame).
CLOSE_TIMEOUT = 12.0


@dataclass(frozen=True)
class Limits:
    """Timeouts, AWS's defaults unless a test shortens them (seconds)."""

    idle_timeout: float = 600.0  #: 10 minutes without a frame from the client
    max_duration: float = 7200.0  #: 2 hours, whatever the activity
    integration_timeout: float = 29.0
    #: Bytes held for a client that stopped reading before it is closed (1008).
    max_backlog_bytes: int = DEFAULT_MAX_BACKLOG_BYTES


class GatewayServer:
    """Serve ``api`` on ``host:port`` with its functions run in local execution environments.

    Args:
        api: the routes and the functions behind them.
        host, port, stage, region: where and as what it serves.
        account_id: the account id of ARNs (``AWS::AccountId``).
        credentials: the execution role's credentials every function gets, as
            environment variables (placeholders when every backend is local).
        services: botocore service name → the local endpoint its calls go to
            (``dynamodb``, and ``*`` for the all-services moto when one runs); see
            ``wsrelay.local.lambda_runtime.aws_hooks``.
        limits: timeouts and the slow-client backlog.
        id_seed: seed for connection and request ids (repeatable notebook outputs).
        fast_path: answer functions' ``@connections`` calls (and DynamoDB calls, with
            ``dynamodb``) over their channel.
        max_environments: execution environments per function, at most.
        dynamodb: the embedded DynamoDB's in-process answer (``EmbeddedDynamoDB.answer``),
            when the functions' DynamoDB is the gateway's own.
    """

    def __init__(
        self,
        api: ApiDefinition,
        *,
        host: str,
        port: int,
        stage: str,
        region: str,
        account_id: str,
        credentials: Mapping[str, str],
        services: Mapping[str, str],
        limits: Limits,
        id_seed: int | None = None,
        fast_path: bool = True,
        max_environments: int = DEFAULT_MAX_ENVIRONMENTS,
        dynamodb: DynamoDBHandler | None = None,
    ) -> None:
        self.api = api
        self.dynamodb = dynamodb
        self.host = host
        self.port = port
        self.stage = stage
        self.region = region
        self.account_id = account_id
        self.limits = limits
        self.fast_path = fast_path
        self.credentials = dict(credentials)
        self.services = dict(services)
        self.max_environments = max_environments
        self.registry = ConnectionRegistry(max_backlog_bytes=limits.max_backlog_bytes)
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.runtime_api = RuntimeApi()
        self._rng = random.Random(id_seed)
        # Its own generator, so seeded connection and request ids stay what they were.
        self._trace_rng = random.Random(None if id_seed is None else id_seed + 1)
        self._runner: web.AppRunner | None = None
        self._message_tasks: set[asyncio.Task[Any]] = set()

    # --- life cycle ---------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` as this machine reaches it (loopback for a wildcard bind)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def management_url(self) -> str:
        return f"{self.base_url}/{self.stage}"

    @property
    def api_host(self) -> str:
        """The API's host name on AWS, which functions may post to: ``{id}.execute-api.…``."""
        return f"{self.api.api_id}.execute-api.{self.region}.amazonaws.com"

    def function_arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{name}"

    async def start(self) -> None:
        """Listen, then start one warm environment per routed function (they need the port)."""
        app = web.Application(client_max_size=8 * 2**20)
        app.router.add_get(f"/{self.stage}", self._websocket)
        app.router.add_route(
            "*", f"/{self.stage}/@connections/{{connection_id}}", self.registry.http_handler
        )
        LambdaInvokeApi(self.runtimes, self.function_arn, self.new_id).add_routes(app)
        if (STATIC / "index.html").exists():
            app.router.add_get("/", self._index)
            app.router.add_static("/static/", STATIC)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = int(self._runner.addresses[0][1])
        await self.runtime_api.start()
        base_config = {
            "account_id": self.account_id,
            "fast_path": self.fast_path,
            "routes": {
                "gateway_base": self.base_url,
                "gateway_hosts": self._gateway_hosts(),
                "services": {**self.services, "lambda": self.base_url},
                "dynamodb_on_channel": self.fast_path and self.dynamodb is not None,
            },
        }
        for function in self.api.functions.values():
            self.runtimes[function.name] = FunctionRuntime(
                function,
                api=self.runtime_api,
                manage=self.registry.manage,
                base_config=base_config,
                region=self.region,
                credentials=self.credentials,
                max_environments=self.max_environments,
                dynamodb=self.dynamodb if self.fast_path else None,
            )
        routed = {route.function for route in self.api.routes.values()}
        routed |= {r.authorizer.function for r in self.api.routes.values() if r.authorizer}
        await asyncio.gather(*(self.runtimes[name].start() for name in sorted(routed)))

    def _gateway_hosts(self) -> list[str]:
        """The names functions may reach this gateway by before any client has connected."""
        port = self.port
        names = [f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", self.api_host]
        if self.host not in ("0.0.0.0", "::", ""):
            names.append(f"{self.host}:{port}")
        return names

    async def stop(self) -> None:
        """Close every connection (1001, with ``$disconnect``), then the workers."""
        connections = list(self.registry.open.values())
        closing = [c.close(routing.CLOSE_GOING_AWAY, "Going away") for c in connections]
        if closing:
            # All at once; a client that never answers its close frame costs 2 s, not more:
            # then its socket is cut (its $disconnect still runs, with 1001).
            try:
                await asyncio.wait_for(asyncio.gather(*closing, return_exceptions=True), 2)
            except TimeoutError:
                for connection in connections:
                    if not connection.ended.done():
                        connection.cut()
        if self._message_tasks:
            await asyncio.wait(self._message_tasks, timeout=5)
        if self._runner is not None:
            await self._runner.cleanup()
        await asyncio.gather(*(r.stop() for r in self.runtimes.values()), return_exceptions=True)
        await self.runtime_api.stop()

    def _announce(self, connection_id: str, *, is_open: bool) -> None:
        for runtime in self.runtimes.values():
            if is_open:
                runtime.live.add(connection_id)
            else:
                runtime.live.discard(connection_id)
            runtime.announce(connection_id, is_open=is_open)

    def _announce_host(self, host: str) -> None:
        """Tell the functions a name clients reach the gateway by (an event's ``domainName``)."""
        for runtime in self.runtimes.values():
            runtime.announce_host(host)

    # --- invoking functions -------------------------------------------------------------

    def new_id(self) -> str:
        return events.new_aws_id(self._rng)

    async def invoke(
        self, function_name: str, event: dict[str, Any], *, route: str, connection_id: str
    ) -> Invocation:
        """Invoke a function as API Gateway does (waiting 29 s at most); log a REPORT line."""
        runtime = self.runtimes[function_name]
        request_id = event.get("requestContext", {}).get("requestId", "") or self.new_id()
        started = time.perf_counter()
        result = await runtime.invoke(
            event, request_id=request_id, wait=self.limits.integration_timeout
        )
        elapsed = (time.perf_counter() - started) * 1000
        status = proxy.status_of(result)
        logger.info(
            "REPORT route=%s connection=%s status=%s duration=%.2f ms",
            route,
            connection_id,
            status,
            result.duration_ms or elapsed,
        )
        if not result.ok:
            trace = "".join(result.error.get("stackTrace", []))
            logger.error("%s failed on %s: %s\n%s", function_name, route, result.error_text, trace)
        return result

    # --- the WebSocket API --------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC / "index.html")

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        opened = await self._open(request)
        if not isinstance(opened, tuple):
            return opened  # the handshake was refused
        connection, base = opened
        self._announce(connection.connection_id, is_open=True)
        try:
            await self._serve(connection, base)
        finally:
            self.registry.open.pop(connection.connection_id, None)
            self._announce(connection.connection_id, is_open=False)
        return connection.ws

    async def _open(
        self, request: web.Request
    ) -> tuple[Connection, dict[str, Any]] | web.StreamResponse:
        """Run ``$connect`` (and its authorizer), then complete the handshake or refuse it.

        Kept apart from the connection's life so that the ``$connect`` event and answer are
        not held for as long as the connection lasts.
        """
        if not web.WebSocketResponse().can_prepare(request).ok:
            return web.json_response(
                {
                    "message": f"This is a WebSocket endpoint: connect with ws://{request.host}/{self.stage}"
                },
                status=426,
                headers={"Upgrade": "websocket"},
            )
        # Before any function runs: the event's domainName must already name this gateway.
        self._announce_host(request.host)
        connection_id = self.new_id()
        connected_at = int(time.time() * 1000)
        peer = request.remote or "127.0.0.1"
        user_agent = request.headers.get("User-Agent")
        base: dict[str, Any] = {
            "connection_id": connection_id,
            "domain_name": request.host,
            "stage": self.stage,
            "api_id": self.api.api_id,
            "source_ip": peer,
            "user_agent": user_agent,
        }
        route = self.api.routes.get("$connect")
        authorizer_context: dict[str, Any] | None = None
        response_headers: dict[str, str] = {}
        if route is not None:
            # One trace id for the request, as the authorizer and $connect both see it.
            trace_id = proxy.trace_id(self._trace_rng, connected_at / 1000)
            headers = proxy.handshake_headers(
                request.headers.items(), peer, self.port, request.scheme, trace_id
            )
            if route.authorizer is not None:
                denial, authorizer_context = await self._authorize(
                    route.authorizer, request, base, connected_at, headers
                )
                if denial is not None:
                    return denial
            event = events.build_connect_event(
                request_id=self.new_id(),
                connected_at=connected_at,
                headers=headers,
                query=list(request.query.items()),
                authorizer=authorizer_context,
                **base,
            )
            result = await self.invoke(
                route.function, event, route="$connect", connection_id=connection_id
            )
            status, body, response_headers = proxy.connect_response(result)
            if status >= 300:
                # A failed or refusing $connect refuses the handshake with its status.
                return web.Response(status=status, text=body, content_type="application/json")
        chosen = response_headers.pop("Sec-WebSocket-Protocol", None)
        ws = LimitedWebSocketResponse(
            protocols=(chosen,) if chosen else (),
            # The guard enforces AWS's limits; aiohttp's own limit sits just above them.
            max_msg_size=routing.MAX_MESSAGE_BYTES * 2,
            compress=False,
            autoclose=False,
            autoping=True,
        )
        for name, value in response_headers.items():
            ws.headers[name] = value
        transport = request.transport  # None if the client has already gone
        connection = Connection(
            connection_id=connection_id,
            ws=ws,
            connected_at=connected_at,
            source_ip=peer,
            user_agent=user_agent,
            authorizer=authorizer_context,
            last_active_at=connected_at,
            transport=transport,
        )
        # The connection exists once $connect has returned, as on AWS: registered before
        # the 101 goes out, so a client that hears the 101 finds itself listed. Calls to it
        # in the moment before the handshake is written wait for it (``Connection.ready``).
        self.registry.open[connection_id] = connection
        try:
            await ws.prepare(request)
            if transport is not None:
                # Room for the largest frame (128 KB) in an empty buffer: a post to a client
                # that keeps up never waits (``ConnectionRegistry.manage``).
                transport.set_write_buffer_limits(high=4 * routing.MAX_MESSAGE_BYTES)
        except BaseException:
            self.registry.open.pop(connection_id, None)
            raise
        finally:
            connection.mark_ready()
        return connection, base

    async def _serve(self, connection: Connection, base: dict[str, Any]) -> None:
        """Read frames until the connection ends; handle them in order; then ``$disconnect``.

        Frames wait in a plain deque, drained by a task that exists only while there are
        frames to handle, and the timeouts are one timer: an idle connection costs no task
        but the one reading it.
        """
        pending: collections.deque[str] = collections.deque()
        drainer: asyncio.Task[None] | None = None
        timer = self._arm_timeouts(connection)
        client_close: tuple[int, str] | None = None
        ws = connection.ws
        # A close the server starts (DeleteConnection, a timeout, stopping) is run by this
        # task, not by the one asking for it: aiohttp's close() from another task, while this
        # one waits in receive(), drops the socket without waiting for the client's reply.
        try:
            while True:
                receiving = asyncio.ensure_future(ws.receive())
                either: set[asyncio.Future[Any]] = {receiving, connection.close_requested}
                await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
                if not receiving.done():
                    receiving.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await receiving
                    code, reason = connection.server_close or (routing.CLOSE_GOING_AWAY, "")
                    try:
                        # A client that does not read never lets the close frame out, nor
                        # answers it: after the close timeout the socket is simply cut.
                        await asyncio.wait_for(
                            ws.close(code=code, message=reason.encode("utf-8")),
                            timeout=CLOSE_TIMEOUT,
                        )
                    except TimeoutError:
                        connection.cut()
                    break
                message = receiving.result()
                if message.type is WSMsgType.TEXT:
                    connection.touch()
                    pending.append(message.data)
                    if drainer is None or drainer.done():
                        drainer = asyncio.create_task(self._drain(connection, base, pending))
                        self._message_tasks.add(drainer)
                        drainer.add_done_callback(self._message_tasks.discard)
                elif message.type is WSMsgType.CLOSE:
                    code = int(message.data or 0) or routing.CLOSE_NO_STATUS
                    client_close = (code, str(message.extra or ""))
                    await ws.close(code=code if code != routing.CLOSE_NO_STATUS else 1000)
                    break
                elif message.type is WSMsgType.ERROR:
                    code = getattr(message.data, "code", routing.CLOSE_ABNORMAL)
                    if connection.server_close is None:
                        connection.server_close = (code, str(message.data))
                    break
                else:  # CLOSING / CLOSED: the server closed it, or the peer vanished
                    break
        finally:
            timer.cancel()
            connection.mark_ended()
        if client_close is not None:
            code, reason = client_close
        elif connection.server_close is not None:
            code, reason = connection.server_close
        else:
            code, reason = routing.CLOSE_ABNORMAL, ""
        # Frames already received are still handled, then $disconnect runs (best effort).
        if drainer is not None:
            await drainer
        await self._disconnect(connection, base, code, routing.disconnect_reason(code, reason))

    def _arm_timeouts(self, connection: Connection) -> _Timer:
        """Close after the idle timeout or the maximum duration (1001 Going away)."""
        loop = asyncio.get_running_loop()
        limits = self.limits
        timer = _Timer()

        def check() -> None:
            now = time.time()
            deadline = connection.connected_at / 1000 + limits.max_duration
            idle_deadline = connection.last_active_at / 1000 + limits.idle_timeout
            if now >= deadline or now >= idle_deadline:
                connection.request_close(routing.CLOSE_GOING_AWAY, "Going away")
                return
            timer.handle = loop.call_later(max(0.01, min(deadline, idle_deadline) - now), check)

        check()
        return timer

    async def _drain(
        self, connection: Connection, base: dict[str, Any], pending: collections.deque[str]
    ) -> None:
        """Handle the connection's waiting frames, one at a time, in order."""
        while pending:
            body = pending.popleft()
            try:
                await self._handle_frame(connection, base, body)
            except Exception:  # one frame's failure must not stop the connection's others
                logger.exception("frame from %s could not be handled", connection.connection_id)

    async def _handle_frame(self, connection: Connection, base: dict[str, Any], body: str) -> None:
        request_id = self.new_id()
        route_key = routing.select_route(self.api.route_selection_expression, body, self.api.routes)
        if route_key is None:
            await self._send_quietly(
                connection,
                routing.gateway_error_frame("Forbidden", connection.connection_id, request_id),
            )
            return
        route = self.api.routes[route_key]
        event = events.build_message_event(
            route_key=route_key,
            body=body,
            request_id=request_id,
            message_id=self.new_id(),
            connected_at=connection.connected_at,
            request_time_epoch=int(time.time() * 1000),
            authorizer=connection.authorizer,
            **base,
        )
        result = await self.invoke(
            route.function, event, route=route_key, connection_id=connection.connection_id
        )
        if not result.ok or not proxy.is_proxy_response(result.value):
            frame = routing.gateway_error_frame(
                "Internal server error", connection.connection_id, request_id
            )
            await self._send_quietly(connection, frame)
            return
        if route.two_way:
            reply = result.value.get("body")
            if reply is not None:
                await self._send_quietly(
                    connection, reply if isinstance(reply, str) else json.dumps(reply)
                )

    async def _disconnect(
        self, connection: Connection, base: dict[str, Any], code: int, reason: str
    ) -> None:
        route = self.api.routes.get("$disconnect")
        if route is None:
            return
        event = events.build_disconnect_event(
            request_id=self.new_id(),
            connected_at=connection.connected_at,
            request_time_epoch=int(time.time() * 1000),
            status_code=code,
            reason=reason,
            authorizer=connection.authorizer,
            **base,
        )
        await self.invoke(
            route.function, event, route="$disconnect", connection_id=connection.connection_id
        )

    async def _send_quietly(self, connection: Connection, frame: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            if not connection.ws.closed:
                await connection.ws.send_str(frame)

    # --- the $connect authorizer --------------------------------------------------------

    async def _authorize(
        self,
        authorizer: Authorizer,
        request: web.Request,
        base: dict[str, Any],
        connected_at: int,
        handshake_headers: list[tuple[str, str]],
    ) -> tuple[web.Response | None, dict[str, Any] | None]:
        """Run the ``$connect`` authorizer (``authorizer.py``); return (refusal, context)."""
        headers = dict(request.headers)
        if not identity_sources_present(authorizer.identity_sources, request.query, headers):
            return _refusal(401, "Unauthorized"), None
        arn = method_arn(self.region, self.api.api_id, self.stage)
        connect = events.build_connect_event(
            request_id=self.new_id(),
            connected_at=connected_at,
            headers=handshake_headers,
            query=list(request.query.items()),
            **base,
        )
        result = await self.invoke(
            authorizer.function,
            authorizer_event(arn, connect),
            route="$connect (authorizer)",
            connection_id=base["connection_id"],
        )
        refusal, context = decide(result.value if result.ok else None, arn)
        if refusal is not None:
            return _refusal(refusal, "Unauthorized" if refusal == 401 else "Forbidden"), None
        return None, context


def _refusal(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


class _Timer:
    """The current timer of a connection's timeouts (it re-arms itself)."""

    handle: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
