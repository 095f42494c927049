"""Execution environments as the gateway sees them: a process each, and the channel to it.

``RuntimeApi`` listens on 127.0.0.1 for the environments the gateway starts (the address
is each environment's ``AWS_LAMBDA_RUNTIME_API``). An environment proves who it is with a
one-time token it was given on its standard input, never in its environment or command
line, so another local process cannot pose as one. Starting a process with
``subprocess`` and connecting back over TCP works the same on Linux, macOS and Windows
(no inherited file descriptors, nothing from the parent's memory).

``Environment`` is one ``bootstrap.py`` process: it runs one invocation at a time
(``run``), forwards the function's ``@connections`` calls to the gateway, and is killed
when an invocation outlives the function's timeout, as Lambda ends that environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wsrelay.local.lambda_runtime.wire import FrameReader, encode

__all__ = [
    "BOOTSTRAP",
    "DynamoDBHandler",
    "Environment",
    "Invocation",
    "ManageHandler",
    "RuntimeApi",
]

logger = logging.getLogger("wsrelay.local")
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")

#: Answers a function's ``@connections`` call: (op, connection id, data, *, acknowledged)
#: → (status, body); ``acknowledged``: a post the function was already told succeeded.
ManageHandler = Callable[..., Awaitable[tuple[int, dict[str, Any] | None]]]
#: Answers a function's serialized DynamoDB call in the embedded moto:
#: (X-Amz-Target, body, region) → (status, headers, body).
DynamoDBHandler = Callable[..., tuple[int, list[tuple[str, str]], bytes]]


@dataclass
class Invocation:
    """The outcome of one invocation: the handler's return value, or its error."""

    ok: bool
    value: Any = None
    error: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0
    #: Refused for want of concurrency (``TooManyRequestsException``); the code never ran.
    throttled: bool = False

    @property
    def error_text(self) -> str:
        """``errorType: errorMessage``, as Lambda's log shows it."""
        return f"{self.error.get('errorType', 'Error')}: {self.error.get('errorMessage', '')}"


def failure(error_type: str, message: str, duration_ms: float = 0.0) -> Invocation:
    return Invocation(
        ok=False, error={"errorType": error_type, "errorMessage": message}, duration_ms=duration_ms
    )


#: An environment's channel once it has said hello: its streams, the frame reader that read
#: the hello (it may hold the start of the next frame) and the messages that came with it.
Channel = tuple[asyncio.StreamReader, asyncio.StreamWriter, FrameReader, list[dict[str, Any]]]


class RuntimeApi:
    """The loopback listener environments connect back to, each with its own token."""

    def __init__(self) -> None:
        self._waiting: dict[str, asyncio.Future[Channel]] = {}
        self._server: asyncio.Server | None = None
        self.address = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        host, port = self._server.sockets[0].getsockname()[:2]
        self.address = f"{host}:{port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for future in self._waiting.values():
            if not future.done():
                future.cancel()

    def expect(self) -> tuple[str, asyncio.Future[Channel]]:
        """A new token, and the future its environment's connection will resolve."""
        token = secrets.token_hex(16)
        future: asyncio.Future[Channel] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        return token, future

    def forget(self, token: str) -> None:
        self._waiting.pop(token, None)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:  # see bootstrap.py: no Nagle delays on the channel
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        frames = FrameReader()
        try:
            hello: list[dict[str, Any]] = []
            while not hello:
                chunk = await asyncio.wait_for(reader.read(4096), timeout=10)
                if not chunk:
                    raise ConnectionError("closed before saying hello")
                hello = frames.feed(chunk)
            future = self._waiting.pop(str(hello[0].get("token")), None)
            if future is None or future.done() or hello[0].get("t") != "hello":
                raise ConnectionError("unknown token")
        except (ConnectionError, TimeoutError, Exception):
            writer.close()
            return
        # A fast init's "ready" may arrive in the same read as the hello: it is passed on.
        future.set_result((reader, writer, frames, hello[1:]))


class Environment:
    """One execution environment: a ``bootstrap.py`` process and the gateway's end of its channel.

    Args:
        config: the environment's configuration (``bootstrap.py`` reads it on stdin).
        environment: its environment variables.
        api: where it connects back to.
        manage: answers its ``@connections`` calls.
        live: the open connection ids and the gateway's host names, told to it once ready.
    """

    def __init__(
        self,
        config: dict[str, Any],
        environment: dict[str, str],
        api: RuntimeApi,
        manage: ManageHandler,
        live: set[str],
        hosts: set[str],
        dynamodb: DynamoDBHandler | None = None,
    ) -> None:
        self.config = config
        self.dynamodb = dynamodb
        self.environment = environment
        self.api = api
        self.manage = manage
        self.live = live
        self.hosts = hosts
        self.process: subprocess.Popen[bytes] | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.exited = False
        self.init_error: dict[str, Any] | None = None
        self._result: asyncio.Future[dict[str, Any]] | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._next_id = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and not self.exited and self.process.poll() is None

    async def start(self, timeout: float = 60.0) -> None:
        """Start the process and wait until it has run its init phase.

        On any failure, or if the caller gives up (cancellation), the process is ended.
        """
        token, connected = self.api.expect()
        config = {**self.config, "token": token, "runtime_api": self.api.address}
        try:
            self.process = subprocess.Popen(
                [sys.executable, str(BOOTSTRAP)], stdin=subprocess.PIPE, env=self.environment
            )
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps(config).encode("utf-8") + b"\n")
            self.process.stdin.close()
            reader, self.writer, frames, early = await asyncio.wait_for(connected, timeout=timeout)
            ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
            self._result = ready
            self._reader_task = asyncio.create_task(self._read_loop(reader, frames, early))
            message = await asyncio.wait_for(asyncio.shield(ready), timeout=timeout)
            if message.get("t") != "ready":
                raise RuntimeError(f"the environment exited during init: {message}")
        except BaseException:
            self.api.forget(token)
            self.kill()
            raise
        self.init_error = message.get("init_error")
        self.send({"t": "live", "connection_ids": sorted(self.live), "hosts": sorted(self.hosts)})

    def send(self, message: dict[str, Any]) -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(encode([message]))

    async def run(self, event: Any, *, request_id: str, deadline: float) -> dict[str, Any]:
        """Run one invocation; return the environment's ``result`` message.

        Raises:
            ConnectionError: the process died before it answered.
        """
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._result = future
        self.send(
            {
                "t": "invoke",
                "id": self._next_id,
                "event": event,
                "request_id": request_id,
                "deadline": deadline,
            }
        )
        return await future

    async def _read_loop(
        self, reader: asyncio.StreamReader, frames: FrameReader, early: list[dict[str, Any]]
    ) -> None:
        try:
            for message in early:
                await self._dispatch(message)
            while chunk := await reader.read(1 << 16):
                for message in frames.feed(chunk):
                    await self._dispatch(message)
        except ConnectionError:
            pass
        finally:
            self.exited = True
            code = self.process.poll() if self.process else None
            if self._result is not None and not self._result.done():
                self._result.set_exception(
                    ConnectionError(f"Runtime exited with error: exit status {code}")
                )
                # Its caller may have given up (a timeout, the gateway stopping): then the
                # failure is nobody's to read, not an error asyncio should report as unread.
                self._result.exception()
            if self.writer is not None:
                self.writer.close()

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["t"]
        if kind in ("result", "ready"):
            if self._result is not None and not self._result.done():
                self._result.set_result(message)
        elif kind == "post":
            # In order and inline: no task per frame on the hot path. One post that cannot
            # be written is logged; it must not end the channel the others arrive on.
            try:
                await self.manage(
                    "post", message["connection_id"], message["data"], acknowledged=True
                )
            except Exception:
                logger.exception("a post to %s could not be written", message["connection_id"])
        elif kind == "dynamodb" and self.dynamodb is not None:
            # Inline, as the embedded moto answers its HTTP requests on this loop too.
            try:
                status, headers, body = self.dynamodb(
                    message["target"], message["body"], region=message["region"]
                )
            except Exception as exc:  # moto's own failure: a 500, never a dead channel
                logger.exception("the embedded DynamoDB failed a function's request")
                status, headers = 500, [("Content-Type", "application/x-amz-json-1.0")]
                body = json.dumps({"__type": "InternalServerError", "message": str(exc)}).encode()
            self.send(
                {
                    "t": "reply",
                    "id": message["id"],
                    "status": status,
                    "headers": headers,
                    "body": body,
                }
            )
        elif kind == "manage":
            task = asyncio.create_task(self._answer(message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _answer(self, message: dict[str, Any]) -> None:
        try:
            status, body = await self.manage(
                message["op"], message["connection_id"], message["data"]
            )
        except Exception as exc:  # never leave the handler waiting
            logger.exception("@connections call from a function failed")
            status, body = 500, {"__type": "InternalServerError", "message": str(exc)}
        self.send({"t": "reply", "id": message["id"], "status": status, "body": body})

    def kill(self) -> None:
        """End the process now (SIGKILL, as Lambda ends an environment) and reap it."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=2)
        if self.writer is not None:
            self.writer.close()

    async def stop(self) -> None:
        self.kill()
        if self._reader_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader_task, timeout=5)
