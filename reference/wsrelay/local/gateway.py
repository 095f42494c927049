"""``LocalGateway``: the local API Gateway, run in a background thread.

::

    with LocalGateway(port=0) as gw:          # the workbook's chat API
        gw.url              # ws://127.0.0.1:PORT/dev     for WebSocket clients
        gw.management_url   # http://127.0.0.1:PORT/dev   boto3's endpoint_url for @connections
        gw.dynamodb_endpoint

    with LocalGateway.from_template("template.yaml") as gw:   # any app, as its template says
        gw.resources["ConnectionsTable"]   # the table's physical name
        gw.endpoint_url                    # moto, for every other service

By default it serves DynamoDB from an embedded moto on 127.0.0.1 and creates the tables;
pass ``dynamodb_endpoint`` to use DynamoDB Local or AWS instead. The asyncio loop runs in a
daemon thread, so a Jupyter kernel (which has its own loop) can start, stop and restart
gateways freely.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.config import Config

from wsrelay import aws_facts
from wsrelay.broadcast import DEFAULT_MAX_WORKERS
from wsrelay.local.api import ApiDefinition
from wsrelay.local.apigateway.core import DEFAULT_MAX_BACKLOG_BYTES, Limits
from wsrelay.local.apigateway.server import GatewayServer
from wsrelay.local.apigateway.sigv4 import SignatureVerifier
from wsrelay.local.backends import LocalBackends
from wsrelay.local.fdlimit import ensure_open_files
from wsrelay.local.hosts import is_loopback
from wsrelay.local.lambda_runtime.runtime import DEFAULT_MAX_ENVIRONMENTS
from wsrelay.local.templates.model import App, TableSpec
from wsrelay.store import TABLE_SCHEMA, TTL_ATTRIBUTE, ConnectionStore

__all__ = ["DEFAULT_ACCOUNT_ID", "DEFAULT_TABLE", "LocalGateway"]

DEFAULT_TABLE = "wsrelay-connections"
#: The account id of local ARNs: moto's own default, so ARNs agree with the embedded moto.
DEFAULT_ACCOUNT_ID = "123456789012"
_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")

#: The tables of running gateways on an embedded moto. moto's applications in one process
#: share their data, so two such gateways on one table would see each other's connections
#: (and delete them as stale when their own @connections API answers 410).
_EMBEDDED_TABLES: set[str] = set()


class LocalGateway:
    """A local API Gateway WebSocket API with its Lambda functions run as Lambda runs them.

    Args:
        host: the address to bind; loopback unless you mean to share it.
        port: the port; 0 picks a free one.
        stage: the stage name, the URL's path.
        api: the routes and functions to serve (default: the workbook's chat API).
        table_name: the connections table's name (``CONNECTIONS_TABLE`` of the default API).
        dynamodb_endpoint: a DynamoDB endpoint to use instead of the embedded moto server.
        region: the region the functions and clients see.
        account_id: the account id in ARNs.
        idle_timeout, max_duration, integration_timeout: AWS's limits in seconds
            (10 minutes, 2 hours, 29 s); tests shorten them.
        max_backlog_bytes: bytes held for a client that stopped reading before posts to
            it are refused with 429 ``LimitExceededException`` (4 MB; AWS documents the
            error, not the size). The connection stays open.
        id_seed: seed the connection and request ids, for repeatable notebook outputs.
        fast_path: answer functions' ``@connections`` calls without HTTP (see
            ``wsrelay.local.lambda_runtime.aws_hooks``); ``False`` sends them over HTTP.
        create_table: create the connections table if it does not exist.
        all_services: serve every other AWS service the functions call with moto
            (``endpoint_url``); on for :meth:`from_template`.
        services_endpoint: send the functions' calls to every other AWS service there
            instead (a moto server); :meth:`from_deployed` uses the deployment's.
        max_environments: execution environments per function at most (a function's
            ``ReservedConcurrentExecutions`` may lower it); more requests wait for one.
        stage_variables: the stage's variables: events' ``stageVariables``, and identity
            sources ``stageVariables.NAME``; :meth:`from_template` passes the template's.
        fast_moto: let the embedded DynamoDB take its faster, equivalence-tested paths
            through moto (``wsrelay.local.dynamodb.moto_adapter``; stock moto on a moto
            release they were not proven on). No other use of moto in the process changes.

        require_signatures: whether ``@connections`` requires SigV4-signed requests;
            ``None``: when bound beyond loopback (below).

    Bound to an address other than loopback (a workshop's room), the ``@connections`` API
    requires requests signed (SigV4) with the gateway's credentials, as AWS requires them
    signed; :meth:`management_client` signs with them, and :attr:`credentials` are what a
    participant's own boto3 client needs. On loopback any request is served.
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
        account_id: str = DEFAULT_ACCOUNT_ID,
        idle_timeout: float = aws_facts.IDLE_TIMEOUT_SECONDS,
        max_duration: float = aws_facts.MAX_CONNECTION_SECONDS,
        integration_timeout: float = aws_facts.INTEGRATION_TIMEOUT_SECONDS,
        max_backlog_bytes: int = DEFAULT_MAX_BACKLOG_BYTES,
        id_seed: int | None = None,
        fast_path: bool = True,
        create_table: bool = True,
        all_services: bool = False,
        services_endpoint: str | None = None,
        max_environments: int = DEFAULT_MAX_ENVIRONMENTS,
        stage_variables: Mapping[str, str] | None = None,
        fast_moto: bool = True,
        require_signatures: bool | None = None,
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
        self.account_id = account_id
        self.table_name = table_name
        self.api = api if api is not None else ApiDefinition.default(table_name)
        #: The app this gateway serves, when it came from a template (:meth:`from_template`).
        self.app: App | None = None
        self._requested_port = port
        self._requested_dynamodb = dynamodb_endpoint
        self._create_table = create_table
        self._all_services = all_services
        self._services_endpoint = services_endpoint
        self._max_environments = max_environments
        self.stage_variables = dict(stage_variables or {})
        self._fast_moto = fast_moto
        self._require_signatures = require_signatures
        self._limits = Limits(idle_timeout, max_duration, integration_timeout, max_backlog_bytes)
        self._id_seed = id_seed
        self._fast_path = fast_path
        self._backends: LocalBackends | None = None
        self._claimed: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: GatewayServer | None = None

    @classmethod
    def from_template(
        cls,
        path: str | Path,
        parameters: Mapping[str, str] | None = None,
        *,
        stack_name: str = "local",
        code: Mapping[str, str | Path] | None = None,
        api_logical_id: str | None = None,
        stage: str | None = None,
        **options: Any,
    ) -> LocalGateway:
        """A gateway serving the app a SAM or CloudFormation template defines.

        The template's WebSocket API, its functions (their code, handler, environment,
        timeout, memory, concurrency), tables and queues, topics and buckets are served
        as AWS would run them (``wsrelay.local.templates``); every other AWS service the
        functions call is served by moto (``endpoint_url``).

        Args:
            path: the template (YAML or JSON).
            parameters: values for the template's ``Parameters``.
            stack_name: ``AWS::StackName``, and the prefix of generated names.
            code: logical id → local folder or .zip, for functions whose code is in S3.
            api_logical_id: which WebSocket API to serve, when the template has several.
            stage: which stage to serve (default: the template's).
            options: as for :class:`LocalGateway` (``port``, ``host``, ``region``, …).

        Raises:
            wsrelay.local.templates.TemplateError: the template cannot be served as AWS
                would run it; the message names the resource and what to do.
        """
        from wsrelay.local.templates import load_app

        options.setdefault("all_services", True)
        app = load_app(
            path,
            parameters=parameters,
            stack_name=stack_name,
            region=options.get("region", "us-east-1"),
            account_id=options.get("account_id", DEFAULT_ACCOUNT_ID),
            stage=stage,
            code=code,
            api=api_logical_id,
        )
        if len(app.tables) == 1:
            # The app's one table is "the" table: ``store()`` and ``table_name`` name it.
            options.setdefault("table_name", app.tables[0].name)
        options.setdefault("stage_variables", app.stage_variables)
        gateway = cls(stage=app.stage, api=app.api, create_table=False, **options)
        gateway.app = app
        return gateway

    @classmethod
    def from_deployed(
        cls,
        api_id: str,
        endpoint_url: str,
        *,
        code: Mapping[str, str | Path] | None = None,
        stage: str | None = None,
        **options: Any,
    ) -> LocalGateway:
        """A gateway serving an API already created in API Gateway v2, with its deployed code.

        Each function runs the package Lambda holds for it, found by its ``CodeSha256``
        (``wsrelay.local.deployed``), not whatever package is installed here.

        Args:
            api_id: the API's id.
            endpoint_url: the API Gateway v2 and Lambda endpoint (a moto server, or AWS's);
                the functions' DynamoDB and other services are there too.
            code: function name → its deployed zip (or folder), where it is not cached here.
            stage: which stage to serve (default: the API's first).
            options: as for :class:`LocalGateway`.

        Raises:
            wsrelay.local.deployed.DeployedCodeError: a function's code is not available.
        """
        from wsrelay.local.deployed import deployed_api, stage_of

        region = options.get("region", "us-east-1")
        api = deployed_api(api_id, endpoint_url, region=region, code=code)
        served = stage_of(api_id, endpoint_url, region=region, stage=stage)
        # The functions' tables and other services are the deployment's own.
        options.setdefault("dynamodb_endpoint", endpoint_url)
        options.setdefault("services_endpoint", endpoint_url)
        return cls(stage=served, api=api, create_table=False, **options)

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
        assert self._backends is not None
        return self._backends.dynamodb_endpoint

    @property
    def endpoint_url(self) -> str | None:
        """The moto endpoint of every other AWS service, when one runs (``all_services``)."""
        self._require_started()
        assert self._backends is not None
        return self._backends.endpoint_url

    @property
    def lambda_endpoint(self) -> str:
        """``http://HOST:PORT``: Lambda's ``Invoke`` for this gateway's functions."""
        self._require_started()
        assert self._server is not None
        return self._server.base_url

    @property
    def resources(self) -> dict[str, str]:
        """Template logical id → physical name or id.

        Without a template: ``ConnectionsTable``, ``ChatFunction`` and ``ChatApi`` for the
        workbook's chat API; for any other API, each function's name (to itself) and
        ``Api`` (its id).
        """
        if self.app is not None:
            return dict(self.app.resources)
        if self.api.name == ApiDefinition.default(self.table_name).name:
            function = next(iter(self.api.functions.values()))
            return {
                "ConnectionsTable": self.table_name,
                "ChatFunction": function.name,
                "ChatApi": self.api.api_id,
            }
        return {**{name: name for name in self.api.functions}, "Api": self.api.api_id}

    @property
    def outputs(self) -> dict[str, str]:
        """The template's resolved ``Outputs``, the API's AWS URLs turned into this gateway's."""
        if self.app is None:
            return {}
        return {name: self.localize(value) for name, value in self.app.outputs.items()}

    def localize(self, text: str) -> str:
        """Turn the API's AWS URLs in ``text`` (``wss://{id}.execute-api…``) into local ones."""
        host = f"{self.api.api_id}.execute-api.{self.region}.amazonaws.com"
        local = f"{self.host}:{self.port}"
        return text.replace(f"wss://{host}", f"ws://{local}").replace(
            f"https://{host}", f"http://{local}"
        )

    @property
    def running(self) -> bool:
        return self._server is not None

    def _require_started(self) -> None:
        if self._server is None:
            raise RuntimeError("the gateway is not running: call start() or use it in a with block")

    # --- clients for notebooks and tests ------------------------------------------------------

    def dynamodb_client(self) -> Any:
        """A boto3 DynamoDB client for the functions' DynamoDB.

        With the embedded moto server it carries placeholder credentials, so it works on a
        machine that has none; otherwise the credentials the gateway chose at start.
        """
        self._require_started()
        assert self._backends is not None
        return self._backends.client("dynamodb")

    @property
    def shared(self) -> bool:
        """Whether it is bound beyond loopback (a room others can reach)."""
        return not is_loopback(self.host)

    @property
    def requires_signatures(self) -> bool:
        """Whether ``@connections`` answers only SigV4-signed requests (shared, by default)."""
        if self._require_signatures is None:
            return self.shared
        return self._require_signatures

    @property
    def credentials(self) -> dict[str, str]:
        """The credentials the functions get and ``@connections`` signatures are checked with.

        As environment variables (``AWS_ACCESS_KEY_ID``, …): placeholders when every
        backend is local, made for the run when the gateway is shared, otherwise yours.
        """
        self._require_started()
        assert self._backends is not None
        return dict(self._backends.credentials)

    @property
    def credentials_made_for_run(self) -> bool:
        """Whether :attr:`credentials` were made for this run (so showing them leaks nothing)."""
        self._require_started()
        assert self._backends is not None
        return self._backends.made_for_run

    def management_client(self) -> Any:
        """A boto3 ``apigatewaymanagementapi`` client for this gateway's ``@connections`` API.

        It signs with :attr:`credentials`, which a shared gateway checks.
        """
        credentials = self.credentials
        return boto3.client(
            "apigatewaymanagementapi",
            endpoint_url=self.management_url,
            region_name=self.region,
            aws_access_key_id=credentials.get("AWS_ACCESS_KEY_ID", "local"),
            aws_secret_access_key=credentials.get("AWS_SECRET_ACCESS_KEY", "local"),
            aws_session_token=credentials.get("AWS_SESSION_TOKEN"),
            # As many connections as a broadcaster's workers, as the handlers' clients have.
            config=Config(max_pool_connections=DEFAULT_MAX_WORKERS),
        )

    def store(self) -> ConnectionStore:
        """A :class:`ConnectionStore` on the gateway's table (a template app's, when it has one)."""
        return ConnectionStore(self.dynamodb_client(), self.table_name)

    def connection_ids(self) -> list[str]:
        """The ids of the connections open right now, sorted."""
        self._require_started()
        assert self._server is not None
        return sorted(self._server.registry.open)

    # --- life cycle -----------------------------------------------------------------------

    def start(self) -> LocalGateway:
        """Start the backends, create the tables, then the server and its environments.

        The first environment of each function boots (Python, boto3, the handler's module)
        while moto is imported and the tables are created in this thread, so a start
        costs the slower of the two.
        """
        if self._server is not None:
            return self
        ensure_open_files()  # macOS starts processes with 256; each connection is a file
        os.environ.setdefault("AWS_DEFAULT_REGION", self.region)
        backends = LocalBackends(
            self.region,
            self._requested_dynamodb,
            all_services=self._all_services,
            services_endpoint=self._services_endpoint,
            shared=self.requires_signatures,
            fast_moto=self._fast_moto,
        )
        tables = self._tables()
        if backends.embedded:
            self._claim(table.name for table in tables)
        server = GatewayServer(
            self.api,
            host=self.host,
            port=self._requested_port,
            stage=self.stage,
            region=self.region,
            account_id=self.account_id,
            credentials=backends.credentials,
            services=backends.services,
            limits=self._limits,
            id_seed=self._id_seed,
            fast_path=self._fast_path,
            max_environments=self._max_environments,
            dynamodb=backends.answer_dynamodb if backends.embedded else None,
            stage_variables=self.stage_variables,
            verifier=(
                _verifier(backends.credentials, self.region) if self.requires_signatures else None
            ),
        )
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="wsrelay-gateway", daemon=True)
        thread.start()
        started = asyncio.run_coroutine_threadsafe(server.start(), loop)
        try:
            asyncio.run_coroutine_threadsafe(backends.start(), loop).result(timeout=30)
            backends.create_tables(tables)
            if self.app is not None:
                backends.create_service_resources(self.app.service_resources)
            started.result(timeout=60)
        except BaseException:
            with contextlib.suppress(Exception):
                # Let the environments finish booting, so stop() finds every one to close.
                started.result(timeout=60)
            self._shut_down(loop, thread, server, backends)
            self._release()
            raise
        self._loop, self._thread, self._server, self._backends = loop, thread, server, backends
        return self

    def _tables(self) -> list[TableSpec]:
        """The tables to create: the app's, or the chat's connections table."""
        if self.app is not None:
            return list(self.app.tables)
        if not self._create_table:
            return []
        return [TableSpec("ConnectionsTable", self.table_name, TABLE_SCHEMA, TTL_ATTRIBUTE)]

    def _claim(self, names: Any) -> None:
        names = list(names)
        taken = sorted(set(names) & _EMBEDDED_TABLES)
        if taken:
            raise RuntimeError(
                f"another LocalGateway in this process uses the table {taken[0]!r} on its "
                "embedded moto server, and moto servers in one process share their data: "
                "stop that gateway first, or give this one another table_name"
            )
        _EMBEDDED_TABLES.update(names)
        self._claimed = names

    def stop(self) -> None:
        """Close every connection, stop the environments, the server and moto. Safe to call twice."""
        server, loop, thread, backends = self._server, self._loop, self._thread, self._backends
        self._server = self._loop = self._thread = None
        if server is not None and loop is not None and thread is not None:
            self._shut_down(loop, thread, server, backends, remove_app=self.app is not None)
        self._release()

    @staticmethod
    def _shut_down(
        loop: asyncio.AbstractEventLoop,
        thread: threading.Thread,
        server: GatewayServer,
        backends: LocalBackends | None,
        *,
        remove_app: bool = False,
    ) -> None:
        """Stop the server (its connections and environments), the app's data, moto, the loop."""

        async def stop_all() -> None:
            try:
                await server.stop()
            finally:
                if backends is not None:
                    if remove_app:
                        # Through the loop's own servers: run it in a thread, not on the loop.
                        await asyncio.to_thread(backends.remove_app)
                    await backends.stop()

        try:
            # Room for the clients' close replies and the $disconnects still queued (server.stop).
            asyncio.run_coroutine_threadsafe(stop_all(), loop).result(timeout=60)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=10)
            if not thread.is_alive():
                loop.close()

    def _release(self) -> None:
        _EMBEDDED_TABLES.difference_update(self._claimed)
        self._claimed = []

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


def _verifier(credentials: Mapping[str, str], region: str) -> SignatureVerifier:
    return SignatureVerifier(
        credentials.get("AWS_ACCESS_KEY_ID", ""),
        credentials.get("AWS_SECRET_ACCESS_KEY", ""),
        region,
        session_token=credentials.get("AWS_SESSION_TOKEN"),
    )
