"""A warm Lambda execution environment: a worker process that runs handlers on request.

The gateway starts one worker per function with the function's environment variables, as
Lambda starts an execution environment, and keeps it warm: modules are imported once and a
handler's globals (cached boto3 clients, say) survive between invocations. Invocations run
on a thread pool, so one slow handler does not hold up the others.

The fast path: a handler's ``post_to_connection`` (and get/delete) to *this* gateway's
``@connections`` endpoint is answered over the worker's channel instead of HTTP. The hook sits
on botocore's ``before-call`` event, after the client has validated and serialized the call
and before it signs and sends it; botocore then parses the status exactly as it parses an
HTTP answer, so a 410 still raises ``GoneException``. Calls to any other endpoint go over the
network as usual. Run the gateway with ``fast_path=False`` to send every call over HTTP.

Started as ``python -m wsrelay.local.worker FD [--fast-path URL]``.
"""

from __future__ import annotations

import collections
import contextlib
import importlib
import itertools
import json
import os
import queue
import socket
import sys
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast
from urllib.parse import unquote

from wsrelay.local.wire import FrameReader, encode

__all__ = ["LambdaContext", "main", "resolve_handler"]


class LambdaContext:
    """The context object Lambda passes to a Python handler (the attributes handlers use)."""

    def __init__(
        self, *, request_id: str, function_name: str, deadline: float, region: str
    ) -> None:
        self.aws_request_id = request_id
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:000000000000:function:{function_name}"
        self.memory_limit_in_mb = "128"
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out."""
        return max(0, int((self._deadline - time.time()) * 1000))


def resolve_handler(spec: str) -> Callable[[Any, Any], Any]:
    """Resolve a Lambda ``Handler`` setting, ``package.module.function``, to the function.

    Raises:
        ValueError: the setting has no module part, or names nothing callable.
        ImportError: the module cannot be imported.
    """
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        raise ValueError(
            f"handler {spec!r} must be module.function, e.g. wsrelay.handlers.lambda_handler"
        )
    module = importlib.import_module(module_name)
    function = getattr(module, function_name, None)
    if not callable(function):
        raise ValueError(f"handler {spec!r}: module {module_name} has no function {function_name}")
    return function  # type: ignore[no-any-return]


class _Channel:
    """The worker's end of the channel: ordered sends from any thread, and calls that await a reply.

    ``send`` only queues the message; one writer thread sends whatever has queued as one
    frame (``wsrelay.local.wire``). A handler thread posting to 1,000 connections therefore
    makes no system call and takes no lock per post, and messages keep the order in which
    they were sent (a handler's posts reach the gateway before its result).
    """

    #: Messages queued before ``send`` waits for the writer (a soft bound on memory when
    #: the gateway reads more slowly than handlers post).
    MAX_QUEUED = 8192
    #: Messages per frame, at most.
    MAX_BATCH = 2048

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._outbox: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._flushed = threading.Event()
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._next_id = itertools.count(1)
        self._frames = FrameReader()
        self._inbox: collections.deque[dict[str, Any]] = collections.deque()
        #: The gateway's open connections, as it announces them (see ``_install_fast_path``).
        self.live: set[str] = set()
        self._writer = threading.Thread(target=self._write_loop, name="channel-writer", daemon=True)
        self._writer.start()

    def send(self, message: dict[str, Any]) -> None:
        if self._outbox.qsize() > self.MAX_QUEUED:
            self._flushed.clear()
            self._flushed.wait(1.0)
        self._outbox.put(message)

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        call_id = next(self._next_id)
        future: Future[dict[str, Any]] = Future()
        self._pending[call_id] = future
        self.send({**message, "id": call_id})
        return future.result()

    def resolve(self, message: dict[str, Any]) -> None:
        future = self._pending.pop(message["id"], None)
        if future is not None:
            future.set_result(message)

    def close(self) -> None:
        """Stop the writer once what is queued has been sent."""
        self._outbox.put(None)
        self._writer.join(timeout=5)

    def _write_loop(self) -> None:
        while True:
            first = self._outbox.get()
            if first is None:
                return
            batch = [first]
            with contextlib.suppress(queue.Empty):
                while len(batch) < self.MAX_BATCH:
                    message = self._outbox.get_nowait()
                    if message is None:
                        self._outbox.put(None)  # seen after this batch is sent
                        break
                    batch.append(message)
            try:
                self._sock.sendall(encode(batch))
            except OSError:
                return  # the gateway has gone; the read loop ends the process
            self._flushed.set()

    def read(self) -> dict[str, Any] | None:
        """The next message from the gateway, or ``None`` once it closed the channel."""
        while not self._inbox:
            chunk = self._sock.recv(1 << 16)
            if not chunk:
                return None
            self._inbox.extend(self._frames.feed(chunk))
        return self._inbox.popleft()


def _install_fast_path(channel: _Channel, management_url: str) -> None:
    """Answer this gateway's ``@connections`` calls over the channel (see the module doc)."""
    import boto3
    from botocore.awsrequest import AWSResponse
    from botocore.compat import HTTPHeaders

    prefix = management_url.rstrip("/") + "/@connections/"
    operations = {"PostToConnection": "post", "GetConnection": "get", "DeleteConnection": "delete"}

    def before_call(
        model: Any, params: dict[str, Any], **_: Any
    ) -> tuple[Any, dict[str, Any]] | None:
        url = params.get("url", "")
        op = operations.get(model.name)
        if op is None or not url.startswith(prefix):
            return None
        connection_id = unquote(url[len(prefix) :].split("?", 1)[0])
        body = params.get("body") or b""
        data = body if isinstance(body, bytes) else str(body).encode("utf-8")
        if op == "post" and connection_id in channel.live and len(data) <= MAX_MESSAGE_BYTES:
            # An open connection: the gateway will write the frame, so the answer is 200
            # now, without a round trip. Ids not known open (unknown, closed, or opened
            # a moment ago) take the round trip below and get the gateway's own answer.
            channel.send({"t": "post", "connection_id": connection_id, "data": data})
            return AWSResponse(url, 200, HTTPHeaders.from_dict(OK_HEADERS), None), dict(OK_PARSED)
        reply = channel.call(
            {"t": "manage", "op": op, "connection_id": connection_id, "data": data}
        )
        status: int = reply["status"]
        content: dict[str, Any] = reply["body"] or {}
        headers = {"x-amzn-RequestId": "local"}
        if status >= 300:
            headers["x-amzn-ErrorType"] = content.get("__type", "")
            parsed: dict[str, Any] = {
                "Error": {"Code": content.get("__type", ""), "Message": content.get("message", "")},
                "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers},
            }
        else:
            parsed = {"ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": headers}}
            if op == "get":
                parsed.update(_parse_get_connection(content))
        return AWSResponse(url, status, HTTPHeaders.from_dict(headers), None), parsed

    if boto3.DEFAULT_SESSION is None:
        boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    # Clients copy the session's hooks when created, so this reaches every client the
    # handler makes afterwards.
    session.events.register("before-call.apigatewaymanagementapi", cast(Any, before_call))


OK_HEADERS = {"x-amzn-RequestId": "local"}
OK_PARSED = {"ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": OK_HEADERS}}
#: PostToConnection's limit, as the gateway enforces it (413 beyond).
MAX_MESSAGE_BYTES = 131_072


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


def _invoke(channel: _Channel, message: dict[str, Any], function_name: str, region: str) -> None:
    started = time.perf_counter()
    reply: dict[str, Any] = {"t": "result", "id": message["id"]}
    try:
        handler = resolve_handler(message["handler"])
        context = LambdaContext(
            request_id=message["request_id"],
            function_name=function_name,
            deadline=message["deadline"],
            region=region,
        )
        value = handler(message["event"], context)
        json.dumps(value)  # Lambda serializes the result; an unserializable one is an error
        reply.update(ok=True, value=value)
    except BaseException as exc:  # the handler's failure is reported, never fatal here
        reply.update(
            ok=False,
            error={
                "errorType": type(exc).__name__,
                "errorMessage": str(exc),
                "stackTrace": traceback.format_exception(exc),
            },
        )
    reply["duration_ms"] = (time.perf_counter() - started) * 1000
    channel.send(reply)


def main(argv: list[str] | None = None) -> int:
    """Serve invocations on the inherited channel until the gateway closes it."""
    args = list(sys.argv[1:] if argv is None else argv)
    fd = int(args[0])
    fast_path = args[2] if len(args) >= 3 and args[1] == "--fast-path" else None
    channel = _Channel(socket.socket(fileno=fd))
    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
    region = os.environ.get("AWS_REGION", "us-east-1")
    if fast_path:
        _install_fast_path(channel, fast_path)
    preload = os.environ.get("WSRELAY_PRELOAD_HANDLER")
    if preload:
        try:  # import at start-up, as Lambda's init phase does; failures show at invoke
            resolve_handler(preload)
        except Exception:
            traceback.print_exc()
    pool = ThreadPoolExecutor(max_workers=int(os.environ.get("WSRELAY_WORKER_THREADS", "64")))
    channel.send({"t": "ready", "pid": os.getpid()})
    while True:
        message = channel.read()
        if message is None:
            break
        if message["t"] == "invoke":
            pool.submit(_invoke, channel, message, function_name, region)
        elif message["t"] == "reply":
            channel.resolve(message)
        elif message["t"] == "open":
            channel.live.add(message["connection_id"])
        elif message["t"] == "closed":
            channel.live.discard(message["connection_id"])
        elif message["t"] == "live":
            channel.live = set(message["connection_ids"])
    pool.shutdown(wait=False, cancel_futures=True)
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
