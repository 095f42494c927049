"""``LocalGateway``: the local API Gateway, run in a background thread.

::

    with LocalGateway(port=0) as gw:
        gw.url              # ws://127.0.0.1:PORT/dev     for WebSocket clients
        gw.management_url   # http://127.0.0.1:PORT/dev   boto3's endpoint_url for @connections
        gw.dynamodb_endpoint

By default it starts an embedded moto server on 127.0.0.1 for DynamoDB and creates the
connections table; pass ``dynamodb_endpoint`` to use DynamoDB Local or AWS instead. The
asyncio loop runs in a daemon thread, so a Jupyter kernel (which has its own loop) can start,
stop and restart gateways freely.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.config import Config

from wsrelay.broadcast import DEFAULT_MAX_WORKERS
from wsrelay.local.api import ApiDefinition
from wsrelay.local.connections import DEFAULT_MAX_BACKLOG_BYTES
from wsrelay.local.embedded_dynamodb import EmbeddedDynamoDB, moto_dynamodb_app
from wsrelay.local.fdlimit import ensure_open_files
from wsrelay.local.hosts import free_port, is_loopback
from wsrelay.local.server import GatewayServer, Limits
from wsrelay.store import ConnectionStore

__all__ = ["DEFAULT_TABLE", "LocalGateway"]

DEFAULT_TABLE = "wsrelay-connections"
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")

#: The tables of running gateways on an embedded moto server. moto servers in one process
#: share their data, so two such gateways on one table would see each other's connections
#: (and delete them as stale when their own @connections API answers 410).
_EMBEDDED_TABLES: set[str] = set()


class LocalGateway:
    """A local API Gateway WebSocket API with warm local Lambda functions.

    Args:
        host: the address to bind; loopback unless you mean to share it.
        port: the port; 0 picks a free one.
        stage: the stage name, the URL's path.
        api: the routes and functions to serve (default: the workbook's chat API).
        table_name: the connections table's name (``CONNECTIONS_TABLE`` of the default API).
        dynamodb_endpoint: a DynamoDB endpoint to use instead of the embedded moto server.
        region: the region the functions and clients see.
        idle_timeout, max_duration, integration_timeout: AWS's limits in seconds
            (10 minutes, 2 hours, 29 s); tests shorten them.
        max_backlog_bytes: frames held for a client that stopped reading before the
            gateway closes it with 1008 (4 MB; AWS documents no such limit).
        id_seed: seed the connection and request ids, for repeatable notebook outputs.
        fast_path: answer handlers' ``@connections`` calls without HTTP (see
            ``wsrelay.local.worker``); ``False`` sends them over HTTP like any client.
        create_table: create the connections table if it does not exist.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        stage: str = "dev",
        *,
        api: ApiDefinition | None = None,
        table_name: str = DEFAULT_TABLE,
        dynamodb_endpoint: str | None = None,
        region: str = "us-east-1",
        idle_timeout: float = 600.0,
        max_duration: float = 7200.0,
        integration_timeout: float = 29.0,
        max_backlog_bytes: int = DEFAULT_MAX_BACKLOG_BYTES,
        id_seed: int | None = None,
        fast_path: bool = True,
        create_table: bool = True,
    ) -> None:
        if not _TABLE_NAME.fullmatch(table_name):
            # The embedded moto accepts any name; DynamoDB does not.
            raise ValueError(
                f"table_name {table_name!r} is not a DynamoDB table name: use 3-255 letters, "
                "digits, '_', '-' or '.' (https://docs.aws.amazon.com/amazondynamodb/latest/"
                "developerguide/HowItWorks.NamingRulesDataTypes.html)"
            )
        self.host = host
        self.stage = stage
        self.region = region
        self.table_name = table_name
        self.api = api if api is not None else ApiDefinition.default(table_name)
        self._requested_port = port
        self._dynamodb_endpoint = dynamodb_endpoint
        self._create_table = create_table
        self._limits = Limits(idle_timeout, max_duration, integration_timeout, max_backlog_bytes)
        self._id_seed = id_seed
        self._fast_path = fast_path
        self._moto: EmbeddedDynamoDB | None = None
        self._embedded = False
        self._credentials: tuple[str | None, str | None] = (None, None)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: GatewayServer | None = None

    # --- addresses ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the gateway listens on (known once started)."""
        self._require_started()
        assert self._server is not None
        return self._server.port

    @property
    def url(self) -> str:
        """``ws://HOST:PORT/STAGE``: where WebSocket clients connect."""
        return f"ws://{self.host}:{self.port}/{self.stage}"

    @property
    def management_url(self) -> str:
        """``http://HOST:PORT/STAGE``: the ``@connections`` API, usable as boto3's ``endpoint_url``."""
        return f"http://{self.host}:{self.port}/{self.stage}"

    @property
    def page_url(self) -> str:
        """``http://HOST:PORT/``: the chat page."""
        return f"http://{self.host}:{self.port}/"

    @property
    def dynamodb_endpoint(self) -> str:
        """The DynamoDB endpoint the functions use."""
        self._require_started()
        assert self._dynamodb_endpoint is not None
        return self._dynamodb_endpoint

    @property
    def running(self) -> bool:
        return self._server is not None

    def _require_started(self) -> None:
        if self._server is None:
            raise RuntimeError("the gateway is not running: call start() or use it in a with block")

    # --- clients for notebooks and tests ------------------------------------------------------

    def dynamodb_client(self) -> Any:
        """A boto3 DynamoDB client for the gateway's table's endpoint.

        With the embedded moto server it carries placeholder credentials, so it works on a
        machine that has none; otherwise boto3's usual credential chain applies.
        """
        return self._dynamodb(self.dynamodb_endpoint)

    def management_client(self) -> Any:
        """A boto3 ``apigatewaymanagementapi`` client for this gateway's ``@connections`` API.

        The local API does not check signatures, so placeholder credentials are used.
        """
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=self.management_url,
            region_name=self.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
            # As many connections as a broadcaster's workers, as the handlers' clients have.
            config=Config(max_pool_connections=DEFAULT_MAX_WORKERS),
        )

    def _dynamodb(self, endpoint: str) -> Any:
        key, secret = self._credentials
        return boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name=self.region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    def _choose_credentials(self, endpoint: str) -> tuple[str | None, str | None]:
        """Credentials for the gateway's own DynamoDB clients, decided once at start.

        Placeholders for a DynamoDB on this machine (embedded moto, a moto server, DynamoDB
        Local: none checks them) when boto3's chain finds none; boto3's chain otherwise, so
        a real endpoint gets real credentials.
        """
        if self._embedded:
            return ("local", "local")
        host = urlsplit(endpoint).hostname or ""
        if is_loopback(host) and boto3.Session().get_credentials() is None:
            return ("local", "local")
        return (None, None)

    def store(self) -> ConnectionStore:
        """A :class:`ConnectionStore` on the gateway's table."""
        return ConnectionStore(self._dynamodb(self.dynamodb_endpoint), self.table_name)

    def connection_ids(self) -> list[str]:
        """The ids of the connections open right now, sorted."""
        self._require_started()
        assert self._server is not None
        return sorted(self._server.registry.open)

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> LocalGateway:
        """Start moto (unless an endpoint was given), the table, the server and its workers.

        The worker processes boot (Python, boto3, the handler's module) while moto is
        imported and the table is created in this thread, so a start costs the slower of
        the two.
        """
        if self._server is not None:
            return self
        ensure_open_files()  # macOS starts processes with 256; each connection is a file
        os.environ.setdefault("AWS_DEFAULT_REGION", self.region)
        moto_port = None
        if self._dynamodb_endpoint is None:
            if self.table_name in _EMBEDDED_TABLES:
                raise RuntimeError(
                    f"another LocalGateway in this process uses the table {self.table_name!r} "
                    "on its embedded moto server, and moto servers in one process share their "
                    "data: stop that gateway first, or give this one another table_name"
                )
            # moto's port is chosen now so the workers can be told it before moto is up.
            moto_port = free_port()
            self._dynamodb_endpoint = f"http://127.0.0.1:{moto_port}"
            self._embedded = True
        self._credentials = key, secret = self._choose_credentials(self._dynamodb_endpoint)
        # The workers get the same placeholders; otherwise boto3's own chain, as in Lambda.
        credentials = (
            {"AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret}
            if key is not None and secret is not None
            else {}
        )
        server = GatewayServer(
            self.api,
            host=self.host,
            port=self._requested_port,
            stage=self.stage,
            region=self.region,
            extra_environment={"AWS_ENDPOINT_URL_DYNAMODB": self._dynamodb_endpoint, **credentials},
            limits=self._limits,
            id_seed=self._id_seed,
            fast_path=self._fast_path,
        )
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="wsrelay-gateway", daemon=True)
        thread.start()
        started = asyncio.run_coroutine_threadsafe(server.start(), loop)
        moto: EmbeddedDynamoDB | None = None
        try:
            if moto_port is not None:
                moto = EmbeddedDynamoDB(moto_dynamodb_app())
                asyncio.run_coroutine_threadsafe(moto.start("127.0.0.1", moto_port), loop).result(
                    timeout=30
                )
            if self._create_table and moto is not None:
                moto.create_table(self.table_name, region=self.region)
            elif self._create_table:
                ConnectionStore(
                    self._dynamodb(self._dynamodb_endpoint), self.table_name
                ).create_table()
            started.result(timeout=60)
        except BaseException:
            with contextlib.suppress(Exception):
                # Let the workers finish booting, so stop() finds every one to close.
                started.result(timeout=60)
            self._shut_down(loop, thread, server, moto)
            self._release_embedded()
            raise
        self._loop, self._thread, self._server, self._moto = loop, thread, server, moto
        if self._embedded:
            _EMBEDDED_TABLES.add(self.table_name)
        return self

    def stop(self) -> None:
        """Close every connection, stop the workers, the server and moto. Safe to call twice."""
        server, loop, thread, moto = self._server, self._loop, self._thread, self._moto
        self._server = self._loop = self._thread = self._moto = None
        if server is not None and loop is not None and thread is not None:
            self._shut_down(loop, thread, server, moto)
        self._release_embedded()

    @staticmethod
    def _shut_down(
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        server: GatewayServer,
        moto: EmbeddedDynamoDB | None,
    ) -> None:
        """Stop the server (its connections and workers), then moto, then the loop."""

        async def stop_all() -> None:
            try:
                await server.stop()
            finally:
                if moto is not None:
                    await moto.stop()

        try:
            asyncio.run_coroutine_threadsafe(stop_all(), loop).result(timeout=30)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()

    def _release_embedded(self) -> None:
        if self._embedded:
            _EMBEDDED_TABLES.discard(self.table_name)
            self._dynamodb_endpoint = None
            self._embedded = False

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"{self.url}" if self._server is not None else "stopped"
        return f"<LocalGateway {state}>"
