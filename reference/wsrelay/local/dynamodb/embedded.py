"""moto's DynamoDB, served on 127.0.0.1 by the gateway's own asyncio loop.

Why on the loop, and not on moto's threaded werkzeug server: moto is pure Python, so under
one GIL a thread of its own buys no parallelism, only hand-offs. werkzeug writes each
response in several system calls, and each call hands the GIL to the loop and waits up to
the 5 ms switch interval to get it back; it also starts a thread per client connection.
During 1,000 simultaneous connects (a ``PutItem`` each) that cost more than moto itself
(``docs/local-gateway.md``). Here a request is parsed by aiohttp, handed to moto's WSGI
application in one call, and answered, with no thread and no hand-off.

The price: a request blocks the loop while moto runs it (about 0.7 ms for a ``PutItem``,
12 ms to read a room of 1,000). A Scan of a table of 100,000 rows would hold WebSocket
traffic for its duration, as it would hold the GIL on a thread.

The DynamoDB the functions use is moto's DynamoDB application alone: moto's all-services
dispatcher would first work out, under a lock, which service each request is for. A
gateway that serves a template also serves :func:`moto_all_services_app` the same way, on
a port of its own, for every other service its functions call (SQS, S3, SNS, …); moto's
applications in one process share their data, so both see the same tables.
"""

from __future__ import annotations

import io
import json
import logging
import sys
from collections.abc import Iterable, Mapping
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from wsrelay.local.dynamodb import moto_adapter
from wsrelay.local.dynamodb.moto_adapter import WsgiApp, moto_all_services_app, moto_dynamodb_app

__all__ = ["EmbeddedDynamoDB", "moto_all_services_app", "moto_dynamodb_app"]

#: BatchWriteItem's requests can reach 16 MB; aiohttp refuses bodies over 1 MB by default.
MAX_REQUEST_BYTES = 32 * 2**20


class EmbeddedDynamoDB:
    """Serve a WSGI application (moto's DynamoDB) on ``host:port`` from the running loop.

    Args:
        app: the WSGI application.
        fast: take ``motofast``'s equivalence-tested paths through moto for this server's
            requests (HTTP and :meth:`answer` alike), where ``moto_adapter.speedups``
            finds a moto they were proven on; no other use of moto in the process changes.
    """

    def __init__(self, app: WsgiApp, *, fast: bool = False) -> None:
        self._app = app
        self.fast = fast and moto_adapter.speedups()
        self._runner: web.BaseRunner | None = None
        self.port = 0
        #: Requests that came over HTTP (the rest came over a function's channel).
        self.http_requests = 0

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port`` (0 picks a free port); return the port."""
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", "/{path:.*}", self._handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_address=True)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.http_requests += 1
        body = await request.read()
        environ = _environ(
            method=request.method,
            path=request.path,
            query=request.query_string,
            headers=request.headers.items(),
            body=body,
            port=self.port,
            remote=request.remote or "127.0.0.1",
            http_version=f"{request.version.major}.{request.version.minor}",
        )
        try:
            status, headers, content = self._call(environ)
        except Exception:  # moto's own failures become a 500, never a dead loop
            logging.getLogger("wsrelay.local").exception("embedded DynamoDB failed a request")
            return web.json_response(
                {"__type": "InternalServerError", "message": "embedded moto failed; see the log"},
                status=500,
            )
        response_headers = CIMultiDict(
            (name, value)
            for name, value in headers
            # aiohttp frames the body itself.
            if name.lower() not in ("content-length", "transfer-encoding", "connection")
        )
        return web.Response(status=status, body=content, headers=response_headers)

    def call(self, operation: str, payload: dict[str, Any], *, region: str) -> tuple[int, Any]:
        """Run one DynamoDB operation in moto directly, as boto3 would send it over HTTP.

        For the gateway's own start-up (creating the table), which then needs no boto3
        client of its own: a client costs this process about 10 MB. Returns
        (status, parsed JSON answer).
        """
        body = json.dumps(payload).encode("utf-8")
        status, _, content = self.answer(f"DynamoDB_20120810.{operation}", body, region=region)
        return status, json.loads(content or b"{}")

    def answer(
        self, target: str, body: bytes, *, region: str
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Answer one serialized DynamoDB request (``X-Amz-Target`` and JSON body) in moto.

        What a function's DynamoDB call comes to on the fast path
        (``lambda_runtime.aws_hooks``): boto3 has validated and serialized it; moto answers
        it here without HTTP; boto3 parses the answer as it would an HTTP response.
        Returns (status, headers, body).
        """
        headers = [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("X-Amz-Target", target),
            # moto reads the region (and the account, from the key) from the credential scope.
            (
                "Authorization",
                f"AWS4-HMAC-SHA256 Credential=local/20260101/{region}/dynamodb/aws4_request, "
                "SignedHeaders=host, Signature=local",
            ),
        ]
        environ = _environ(
            method="POST", path="/", query="", headers=headers, body=body, port=self.port
        )
        return self._call(environ)

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        if not self.fast:
            return _call(self._app, environ)
        with moto_adapter.fast():
            return _call(self._app, environ)

    def create_table(
        self,
        table_name: str,
        *,
        region: str,
        params: Mapping[str, Any] | None = None,
        ttl_attribute: str | None = None,
    ) -> bool:
        """Create a table if missing; return whether it was created.

        Args:
            table_name: its name.
            region: the region it lives in.
            params: ``CreateTable``'s request without ``TableName``; by default the
                connections table (``wsrelay.store.TABLE_SCHEMA``, TTL on ``expiresAt``).
            ttl_attribute: the TTL attribute to turn on (with ``params`` given).
        """
        from wsrelay.store import TABLE_SCHEMA, TTL_ATTRIBUTE

        if params is None:
            params, ttl_attribute = TABLE_SCHEMA, TTL_ATTRIBUTE
        request = {**params, "TableName": table_name}
        status, answer = self.call("CreateTable", request, region=region)
        if status >= 300:
            if "ResourceInUseException" in str(answer.get("__type")):
                return False
            raise RuntimeError(f"the embedded moto refused CreateTable for {table_name}: {answer}")
        if ttl_attribute:
            status, answer = self.call(
                "UpdateTimeToLive",
                {
                    "TableName": table_name,
                    "TimeToLiveSpecification": {"Enabled": True, "AttributeName": ttl_attribute},
                },
                region=region,
            )
            if status >= 300:
                raise RuntimeError(f"the embedded moto refused UpdateTimeToLive: {answer}")
        return True

    def delete_table(self, table_name: str, *, region: str) -> None:
        """Delete a table (and its rows); a missing one is fine."""
        self.call("DeleteTable", {"TableName": table_name}, region=region)


def _call(app: WsgiApp, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Call a WSGI application; return (status, headers, body)."""
    answer: list[Any] = []
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        answer[:] = [status, headers]
        return chunks.append

    result = app(environ, start_response)
    try:
        chunks.extend(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = answer
    return int(status.split(" ", 1)[0]), headers, b"".join(chunks)


def _environ(
    *,
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body: bytes,
    port: int,
    remote: str = "127.0.0.1",
    http_version: str = "1.1",
) -> dict[str, Any]:
    """The WSGI environ (PEP 3333) for a request whose body has been read."""
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": f"HTTP/{http_version}",
        "REMOTE_ADDR": remote,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if key == "CONTENT_LENGTH":
            continue
        key = "HTTP_" + key
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    return environ
