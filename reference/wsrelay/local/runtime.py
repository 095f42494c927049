"""The local Lambda runtime: warm worker processes that run handlers for the gateway.

Each function (name, environment) gets its own worker process (``wsrelay.local.worker``),
started once and kept warm, like a Lambda execution environment. The gateway talks to it
over a private socket pair (``wsrelay.local.wire``). Running handlers outside the gateway's
process keeps each function's environment variables its own, keeps a crashing handler from
taking the gateway down, and lets the handler's work use the machine's second core.

What AWS does on failure, done here too
(https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html):

- the handler raises: the invocation fails with ``errorType``/``errorMessage``/``stackTrace``,
  logged with its traceback; the environment stays warm for the next call;
- it runs past the timeout: the invocation fails with "Task timed out after N seconds" and the
  environment is replaced (its stuck thread cannot be stopped); calls already running on it
  finish first;
- the process dies: its running invocations fail, and the next one starts a new environment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wsrelay.local.wire import FrameReader, encode

__all__ = ["FunctionRuntime", "Invocation", "ManageHandler"]

logger = logging.getLogger("wsrelay.local")

#: Answers a handler's ``@connections`` call: (op, connection id, data) → (status, body).
ManageHandler = Callable[[str, str, bytes], Awaitable[tuple[int, dict[str, Any] | None]]]


@dataclass
class Invocation:
    """The outcome of one invocation: the handler's return value, or its error."""

    ok: bool
    value: Any = None
    error: dict[str, Any] = field(default_factory=dict)
    duration_ms: float = 0.0

    @property
    def error_text(self) -> str:
        """``errorType: errorMessage``, as Lambda's log shows it."""
        return f"{self.error.get('errorType', 'Error')}: {self.error.get('errorMessage', '')}"


class _Worker:
    """One worker process and the gateway's end of its channel."""

    def __init__(self, runtime: FunctionRuntime) -> None:
        self.runtime = runtime
        self.process: subprocess.Popen[bytes] | None = None
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.pending: dict[int, asyncio.Future[Invocation]] = {}
        self.abandoned: set[int] = set()
        self.retiring = False
        self.exited = False  # the channel closed: the process is dead or dying
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reader_task: asyncio.Task[None] | None = None
        self._manage_tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        parent, child = socket.socketpair()
        command = [sys.executable, "-m", "wsrelay.local.worker", str(child.fileno())]
        if self.runtime.fast_path_url:
            command += ["--fast-path", self.runtime.fast_path_url]
        try:
            self.process = subprocess.Popen(
                command, pass_fds=[child.fileno()], env=self.runtime.process_environment()
            )
        finally:
            child.close()
        self.reader, self.writer = await asyncio.open_connection(sock=parent)
        self._reader_task = asyncio.create_task(self._read_loop())
        await asyncio.wait_for(asyncio.shield(self.ready), timeout=30)

    @property
    def alive(self) -> bool:
        # The channel closes as the process exits, a moment before poll() can see the exit:
        # a call sent in that moment would wait for the whole timeout.
        return (
            self.process is not None
            and not self.exited
            and self.process.poll() is None
            and not self.ready.cancelled()
        )

    def send(self, message: dict[str, Any]) -> None:
        assert self.writer is not None
        self.writer.write(encode([message]))

    async def _read_loop(self) -> None:
        assert self.reader is not None
        frames = FrameReader()
        try:
            while True:
                chunk = await self.reader.read(1 << 16)
                if not chunk:
                    break
                for message in frames.feed(chunk):
                    await self._dispatch(message)
        except ConnectionError:
            pass
        finally:
            self._on_exit()

    async def _dispatch(self, message: dict[str, Any]) -> None:
        kind = message["t"]
        if kind == "result":
            self._on_result(message)
        elif kind == "post":
            # In order and inline: no task per frame on the hot path. One post that cannot
            # be written is logged; it must not end the channel the others arrive on.
            try:
                await self.runtime.manage("post", message["connection_id"], message["data"])
            except Exception:
                logger.exception("a post to %s could not be written", message["connection_id"])
        elif kind == "manage":
            task = asyncio.create_task(self._on_manage(message))
            self._manage_tasks.add(task)
            task.add_done_callback(self._manage_tasks.discard)
        elif kind == "ready" and not self.ready.done():
            self.send({"t": "live", "connection_ids": sorted(self.runtime.live)})
            self.ready.set_result(None)

    def _on_result(self, message: dict[str, Any]) -> None:
        future = self.pending.pop(message["id"], None)
        self.abandoned.discard(message["id"])
        if future is not None and not future.done():
            future.set_result(
                Invocation(
                    ok=message["ok"],
                    value=message.get("value"),
                    error=message.get("error") or {},
                    duration_ms=message.get("duration_ms", 0.0),
                )
            )
        if self.retiring and not (set(self.pending) - self.abandoned):
            self.kill()

    async def _on_manage(self, message: dict[str, Any]) -> None:
        try:
            status, body = await self.runtime.manage(
                message["op"], message["connection_id"], message["data"]
            )
        except Exception as exc:  # never leave the handler's thread waiting
            logger.exception("@connections call from a handler failed")
            status, body = 500, {"__type": "InternalServerError", "message": str(exc)}
        if self.writer is not None and not self.writer.is_closing():
            self.send({"t": "reply", "id": message["id"], "status": status, "body": body})

    def _on_exit(self) -> None:
        self.exited = True
        code = self.process.poll() if self.process else None
        for future in self.pending.values():
            if not future.done():
                future.set_result(
                    Invocation(
                        ok=False,
                        error={
                            "errorType": "Runtime.ExitError",
                            "errorMessage": f"the function's worker process exited (code {code})",
                        },
                    )
                )
        self.pending.clear()
        if not self.ready.done():
            self.ready.set_exception(
                RuntimeError(f"worker exited before it was ready (code {code})")
            )
        if self.writer is not None:
            self.writer.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.writer is not None:
            self.writer.close()

    async def stop(self) -> None:
        self.kill()
        if self._reader_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader_task, timeout=5)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)


class FunctionRuntime:
    """One Lambda function run locally: a warm worker with the function's environment.

    Args:
        name: the function's name (``AWS_LAMBDA_FUNCTION_NAME`` in the worker).
        environment: the function's environment variables.
        manage: answers the handler's ``@connections`` calls on the fast path.
        fast_path_url: the gateway's management URL; calls to it skip HTTP (see
            ``wsrelay.local.worker``). ``None`` sends every call over HTTP.
        region: ``AWS_REGION`` in the worker.
    """

    def __init__(
        self,
        name: str,
        environment: Mapping[str, str],
        *,
        manage: ManageHandler,
        fast_path_url: str | None,
        region: str,
        preload: str | None = None,
    ) -> None:
        self.name = name
        self.environment = dict(environment)
        self.manage = manage
        self.fast_path_url = fast_path_url
        self.region = region
        self.preload = preload
        self._worker: _Worker | None = None
        self._retired: list[_Worker] = []
        self._next_id = 0
        self._start_lock: asyncio.Lock | None = None
        #: Open connection ids, shared with the gateway's registry and told to workers.
        self.live: set[str] = set()

    def announce(self, connection_id: str, *, is_open: bool) -> None:
        """Tell the workers a connection opened or closed (see ``wsrelay.local.worker``)."""
        message = {"t": "open" if is_open else "closed", "connection_id": connection_id}
        for worker in (self._worker, *self._retired):
            if worker is not None and worker.writer is not None and not worker.writer.is_closing():
                worker.send(message)

    def process_environment(self) -> dict[str, str]:
        """The worker's environment: the parent's, the function's, and Lambda's own."""
        env = dict(os.environ)
        env.update(self.environment)
        env.update(
            {
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_REGION": self.region,
                "AWS_DEFAULT_REGION": self.region,
                # The parent's import path, so a handler written in a notebook's folder or
                # a test's resolves in the worker as it does in the parent.
                "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
            }
        )
        env.setdefault("AWS_ACCESS_KEY_ID", "local")
        env.setdefault("AWS_SECRET_ACCESS_KEY", "local")
        if self.preload:
            env["WSRELAY_PRELOAD_HANDLER"] = self.preload
        return env

    async def start(self) -> None:
        """Start the warm worker now rather than on the first invocation."""
        await self._current_worker()

    async def _current_worker(self) -> _Worker:
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._worker is None or not self._worker.alive or self._worker.retiring:
                if self._worker is not None and self._worker not in self._retired:
                    self._retired.append(self._worker)
                # Keep the replaced workers until their exit status is collected (poll()).
                self._retired = [
                    w for w in self._retired if w.process is not None and w.process.poll() is None
                ]
                worker = _Worker(self)
                await worker.start()
                self._worker = worker
            return self._worker

    async def invoke(
        self, handler: str, event: dict[str, Any], *, request_id: str, timeout: float
    ) -> Invocation:
        """Run ``handler`` (``module.function``) on ``event``; never raises for the handler's faults."""
        try:
            worker = await self._current_worker()
        except Exception as exc:
            return Invocation(
                ok=False, error={"errorType": "Runtime.InitError", "errorMessage": str(exc)}
            )
        self._next_id += 1
        call_id = self._next_id
        future: asyncio.Future[Invocation] = asyncio.get_running_loop().create_future()
        worker.pending[call_id] = future
        started = time.perf_counter()
        worker.send(
            {
                "t": "invoke",
                "id": call_id,
                "handler": handler,
                "event": event,
                "deadline": time.time() + timeout,
                "request_id": request_id,
            }
        )
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=timeout)
        except TimeoutError:
            # Lambda replaces an environment whose invocation timed out; the thread still
            # running the handler cannot be stopped, so this worker retires once the
            # invocations it is still running have finished.
            worker.abandoned.add(call_id)
            worker.retiring = True
            if not (set(worker.pending) - worker.abandoned):
                worker.kill()
            self._retired.append(worker)
            return Invocation(
                ok=False,
                error={
                    "errorType": "TimeoutError",
                    "errorMessage": f"Task timed out after {timeout:.2f} seconds",
                },
                duration_ms=(time.perf_counter() - started) * 1000,
            )

    async def stop(self) -> None:
        """Stop every worker this function started."""
        workers = [w for w in [self._worker, *self._retired] if w is not None]
        self._worker = None
        self._retired.clear()
        await asyncio.gather(*(w.stop() for w in workers), return_exceptions=True)
