"""The gateway's asyncio side: one port, as AWS serves one domain, and the functions behind it.

- ``GET /{stage}`` with an Upgrade header: the WebSocket API (``listener`` → ``wire`` →
  ``core``). ``$connect`` (and its authorizer) run *before* the handshake completes; a
  refusal is the handshake's answer (``handshake``).
- ``POST|GET|DELETE /{stage}/@connections/{id}``: the management API (``connections``).
- ``POST /2015-03-31/functions/{name}/invocations``: Lambda's Invoke API.
- ``GET /``: the chat page, when the package ships one.

Messages from one connection are handled in order, one at a time (AWS promises no order;
learners expect a ``joinroom`` to take effect before their next ``sendmessage``); messages
from different connections are handled concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web

from wsrelay import aws_facts, events
from wsrelay.aws_facts import DISCONNECT_ROUTE
from wsrelay.local.api import ApiDefinition
from wsrelay.local.apigateway import proxy, routing
from wsrelay.local.apigateway.connections import ConnectionRegistry
from wsrelay.local.apigateway.core import Limits
from wsrelay.local.apigateway.listener import FrontDoor, http_application
from wsrelay.local.apigateway.sigv4 import SignatureVerifier
from wsrelay.local.apigateway.wire import WebSocketWire
from wsrelay.local.lambda_runtime.environments import DynamoDBHandler, Invocation, RuntimeApi
from wsrelay.local.lambda_runtime.invoke_api import LambdaInvokeApi
from wsrelay.local.lambda_runtime.runtime import DEFAULT_MAX_ENVIRONMENTS, FunctionRuntime

if TYPE_CHECKING:
    from wsrelay.local.apigateway.core import Inbound

__all__ = ["GatewayServer", "Limits"]

logger = logging.getLogger("wsrelay.local")
#: Seconds stopping waits for clients to answer their close frames before cutting them.
STOP_GRACE = 2.0


class GatewayServer:
    """Serve ``api`` on ``host:port`` with its functions run in local execution environments.

    Args:
        api: the routes and the functions behind them.
        host, port, stage, region: where and as what it serves.
        account_id: the account id of ARNs (``AWS::AccountId``, the authorizer's method ARN).
        credentials: the execution role's credentials every function gets, as
            environment variables.
        services: botocore service name → the local endpoint its calls go to
            (``dynamodb``, and ``*`` for the all-services moto when one runs); see
            ``wsrelay.local.lambda_runtime.aws_hooks``.
        limits: timeouts and the slow-client backlog.
        id_seed: seed for connection and request ids (repeatable notebook outputs).
        fast_path: answer functions' ``@connections`` calls (and DynamoDB calls, with
            ``dynamodb``) over their channel.
        max_environments: execution environments per function, at most.
        dynamodb: the embedded DynamoDB's in-process answer, when the functions' DynamoDB
            is the gateway's own.
        stage_variables: the stage's variables (events' ``stageVariables``).
        verifier: checks SigV4 signatures on ``@connections`` (a gateway shared on a
            network); ``None`` accepts any request.
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
        stage_variables: Mapping[str, str] | None = None,
        verifier: SignatureVerifier | None = None,
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
        self.stage_variables = dict(stage_variables or {})
        self.registry = ConnectionRegistry(self._announce, verifier)
        self.runtimes: dict[str, FunctionRuntime] = {}
        self.runtime_api = RuntimeApi()
        self._rng = random.Random(id_seed)
        # Its own generator, so seeded connection and request ids stay what they were.
        self._trace_rng = random.Random(None if id_seed is None else id_seed + 1)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._tasks: set[asyncio.Future[Any]] = set()

    # --- addresses ----------------------------------------------------------------------

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

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Listen, then start one warm environment per routed function (they need the port)."""
        app = http_application(self.stage, self.registry.http_handler)
        LambdaInvokeApi(self.runtimes, self.function_arn, self.new_id).add_routes(app)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        http = self._runner.server
        assert http is not None
        path = f"/{self.stage}"
        loop = asyncio.get_running_loop()
        self._listener = await loop.create_server(
            lambda: FrontDoor(path, lambda head, tail: WebSocketWire(self, head, tail), http),
            self.host,
            self.port,
            reuse_address=True,
        )
        self.port = int(self._listener.sockets[0].getsockname()[1])
        await self.runtime_api.start()
        base_config = {
            "account_id": self.account_id,
            "fast_path": self.fast_path,
            "routes": {
                "gateway_base": self.base_url,
                "gateway_hosts": self._gateway_hosts(),
                "services": {**self.services, "lambda": self.base_url},
                "dynamodb_on_channel": self.fast_path and self.dynamodb is not None,
                "max_post_bytes": aws_facts.MAX_MESSAGE_BYTES,
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
        if self._listener is not None:
            self._listener.close()
        wires = list(self.registry.open.values())
        for wire in wires:
            wire.close(routing.CLOSE_GOING_AWAY, "Going away")
        if wires:
            # All at once; a client that never answers its close frame costs the grace, not
            # more: then its socket is cut (its $disconnect still runs, with 1001).
            _, late = await asyncio.wait([w.done for w in wires], timeout=STOP_GRACE)
            for wire in wires:
                if not wire.done.done():
                    wire.cut()
            if late:
                await asyncio.wait(late, timeout=5)
        if self._tasks:
            # The $disconnect of a client that left just before the stop may still be queued
            # for an environment: AWS runs every one, so wait for them (each is bounded by
            # the integration timeout; the queue as a whole is given as long).
            _, cut = await asyncio.wait(self._tasks, timeout=aws_facts.INTEGRATION_TIMEOUT_SECONDS)
            if cut:
                logger.warning("stopping: %d invocations still running were cut", len(cut))
        if self._runner is not None:
            await self._runner.cleanup()
        await asyncio.gather(*(r.stop() for r in self.runtimes.values()), return_exceptions=True)
        await self.runtime_api.stop()

    def track(self, task: asyncio.Future[Any]) -> None:
        """Keep a background task referenced until it ends (and waited for by :meth:`stop`)."""
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _announce(self, connection_id: str, live: bool) -> None:
        for runtime in self.runtimes.values():
            if live:
                runtime.live.add(connection_id)
            else:
                runtime.live.discard(connection_id)
            runtime.announce(connection_id, is_open=live)

    def announce_host(self, host: str) -> None:
        """Tell the functions a name clients reach the gateway by (an event's ``domainName``)."""
        for runtime in self.runtimes.values():
            runtime.announce_host(host)

    # --- invoking functions -------------------------------------------------------------

    def new_id(self) -> str:
        return events.new_aws_id(self._rng)

    def trace_id(self, now: float) -> str:
        return proxy.trace_id(self._trace_rng, now)

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
        logger.info(
            "REPORT route=%s connection=%s status=%s duration=%.2f ms",
            route,
            connection_id,
            proxy.status_of(result),
            result.duration_ms or elapsed,
        )
        if not result.ok:
            trace = "".join(result.error.get("stackTrace", []))
            logger.error("%s failed on %s: %s\n%s", function_name, route, result.error_text, trace)
        return result

    async def invoke_message(self, wire: WebSocketWire, message: Inbound) -> Invocation:
        """Invoke a message's route with its ``MESSAGE`` event."""
        assert message.route_key is not None and wire.handshake is not None
        route = self.api.routes[message.route_key]
        event = events.build_message_event(
            route_key=message.route_key,
            body=message.body,
            request_id=message.request_id,
            message_id=message.message_id,
            connected_at=wire.handshake.connected_at,
            request_time_epoch=message.received_at,
            authorizer=wire.authorizer,
            **wire.handshake.event_base(self),
        )
        return await self.invoke(
            route.function, event, route=message.route_key, connection_id=wire.connection_id
        )

    async def invoke_disconnect(self, wire: WebSocketWire, code: int, reason: str) -> None:
        """Invoke ``$disconnect`` (if the API has one) for a connection that has ended."""
        route = self.api.routes.get(DISCONNECT_ROUTE)
        if route is None or wire.handshake is None:
            return
        event = events.build_disconnect_event(
            request_id=self.new_id(),
            connected_at=wire.handshake.connected_at,
            request_time_epoch=int(time.time() * 1000),
            status_code=code,
            reason=reason,
            authorizer=wire.authorizer,
            **wire.handshake.event_base(self),
        )
        await self.invoke(
            route.function, event, route=DISCONNECT_ROUTE, connection_id=wire.connection_id
        )
