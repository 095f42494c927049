"""One Lambda execution environment: a process that runs one function, one invocation at a time.

The gateway (``runtime.py``) starts it as ``python bootstrap.py`` and writes its
configuration to its standard input as one JSON line. It is a script, run from outside the
``wsrelay`` package's namespace, because the function's own code may ship packages of any
name (``wsrelay`` included, when it is a deployed copy of this project's handler): only the
function's code and the interpreter's installed packages are on its import path, with the
function's folder first, as ``LAMBDA_TASK_ROOT`` is on Lambda. Its two helpers, ``wire.py``
and ``aws_hooks.py``, are loaded by file path under private names.

Its life follows Lambda's execution environment
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html):

- **init**: the import path and the routing of AWS calls (``aws_hooks``) are set up, the
  handler's module is imported; an import error is reported on each invocation, as
  ``Runtime.ImportModuleError`` naming the module, the function and its requirements file;
- **invoke**: one invocation at a time, on the main thread (as Lambda's runtime runs
  handlers), with a context that reports the function's own memory size and remaining
  time; module globals survive to the next invocation; a thread reads the channel
  meanwhile (replies to ``@connections`` calls, which connections are open);
- **shutdown**: the gateway ends the process when an invocation outlives the function's
  timeout, as Lambda ends that environment.

Python's root logger starts at WARNING with Lambda's tab-separated text format, or at
``LoggingConfig.ApplicationLogLevel`` (JSON lines with ``LogFormat: JSON``).
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import itertools
import json
import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from concurrent.futures import Future
from pathlib import Path
from types import ModuleType
from typing import Any

HERE = Path(__file__).resolve().parent


def _load_sibling(name: str) -> ModuleType:
    """Load ``wire.py`` or ``aws_hooks.py`` by path, under a name no function code uses."""
    spec = importlib.util.spec_from_file_location(f"_wsrelay_runtime_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    """The context object Lambda passes to a Python handler."""

    def __init__(self, config: dict[str, Any], request_id: str, deadline: float) -> None:
        name = config["function_name"]
        self.aws_request_id = request_id
        self.function_name = name
        self.function_version = "$LATEST"
        self.invoked_function_arn = (
            f"arn:aws:lambda:{config['region']}:{config['account_id']}:function:{name}"
        )
        self.memory_limit_in_mb = str(config["memory_size"])
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = config["log_stream"]
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's own timeout."""
        return max(0, int((self._deadline - time.time()) * 1000))


class _Channel:
    """This environment's end of its channel to the gateway.

    ``send`` only queues; one writer thread sends whatever has queued as one frame, so a
    handler posting to 1,000 connections makes no system call per post, and messages keep
    their order (a handler's posts reach the gateway before its result).
    """

    MAX_QUEUED = 8192
    MAX_BATCH = 2048

    def __init__(self, sock: socket.socket, wire: ModuleType) -> None:
        self._sock = sock
        self._wire = wire
        self._outbox: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self._flushed = threading.Event()
        self._pending: dict[int, Future[dict[str, Any]]] = {}
        self._next_id = itertools.count(1)
        #: The gateway's open connections, as it announces them (``aws_hooks.fast_path_answer``).
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
                self._sock.sendall(self._wire.encode(batch))
            except OSError:
                return  # the gateway has gone; the reader ends the process
            self._flushed.set()

    def messages(self) -> Any:
        """Yield the gateway's messages until it closes the channel."""
        frames = self._wire.FrameReader()
        while True:
            try:
                chunk = self._sock.recv(1 << 16)
            except OSError:
                return
            if not chunk:
                return
            yield from frames.feed(chunk)


class _LambdaFormatter(logging.Formatter):
    """Lambda's text format: ``[LEVEL]\\t2026-12-01T19:20:14.123Z\\trequest-id\\tmessage``."""

    def __init__(self, *, json_lines: bool) -> None:
        super().__init__()
        self.json_lines = json_lines
        self.request_id = ""

    def format(self, record: logging.LogRecord) -> str:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        stamp += f".{int(record.msecs):03d}Z"
        message = record.getMessage()
        if record.exc_info:
            message += "\n" + self.formatException(record.exc_info)
        if self.json_lines:
            return json.dumps(
                {
                    "timestamp": stamp,
                    "level": record.levelname,
                    "message": message,
                    "logger": record.name,
                    "requestId": self.request_id,
                }
            )
        return f"[{record.levelname}]\t{stamp}\t{self.request_id}\t{message}"


def _set_up_logging(config: dict[str, Any]) -> _LambdaFormatter:
    logging_config = config.get("logging") or {}
    formatter = _LambdaFormatter(json_lines=logging_config.get("LogFormat") == "JSON")
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    level = str(logging_config.get("ApplicationLogLevel", "WARNING")).upper()
    root.setLevel({"WARN": "WARNING", "FATAL": "CRITICAL", "TRACE": "DEBUG"}.get(level, level))
    return formatter


def _set_import_path(config: dict[str, Any]) -> None:
    """The function's folder (and its layers) first, then the interpreter's packages."""
    with contextlib.suppress(ValueError):
        sys.path.remove(str(HERE))
    first = [str(p) for p in config["path"]]
    sys.path[:] = first + [p for p in sys.path if p and p not in first]
    importlib.invalidate_caches()


class _HandlerNotFound(Exception):
    """The handler's module has no such function."""


class _Function:
    """The function's handler, imported at init as Lambda does; the error kept if that fails."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.handler: Any = None
        self.init_error: dict[str, Any] | None = None
        try:
            self.handler = self._resolve(config["handler"])
        except Exception as exc:
            self.init_error = self._describe(exc)
            traceback.print_exc()

    def _resolve(self, spec: str) -> Any:
        module_name, _, function_name = spec.rpartition(".")
        if not module_name:
            raise ValueError(
                f"Bad handler '{spec}': not enough values to unpack (expected 2, got 1): "
                "set Handler to module.function, e.g. app.lambda_handler"
            )
        module = importlib.import_module(module_name)
        function = getattr(module, function_name, None)
        if not callable(function):
            raise _HandlerNotFound(f"Handler '{function_name}' missing on module '{module_name}'")
        return function

    def _describe(self, exc: Exception) -> dict[str, Any]:
        name = self.config["function_name"]
        module_name = self.config["handler"].rpartition(".")[0]
        if isinstance(exc, ImportError):
            requirements = self.config.get("requirements")
            where = (
                f"add the package to {requirements} and install it (pip install -r {requirements})"
                if requirements
                else "install the package, or add it to the function's code folder"
            )
            return {
                "errorType": "Runtime.ImportModuleError",
                "errorMessage": (
                    # As Lambda words it ("No module named 'x'", "cannot import name …"),
                    # with where to add the package.
                    f"Unable to import module '{module_name}': {exc} (function {name}; {where})"
                ),
                "stackTrace": traceback.format_exception(exc),
            }
        # Lambda's names for what can go wrong at init (python-exceptions docs).
        if isinstance(exc, _HandlerNotFound):
            error_type = "Runtime.HandlerNotFound"
        elif isinstance(exc, SyntaxError):
            error_type = "Runtime.UserCodeSyntaxError"
        else:
            error_type = f"Runtime.{type(exc).__name__}"
        return {
            "errorType": error_type,
            "errorMessage": f"{exc} (function {name})",
            "stackTrace": traceback.format_exception(exc),
        }


def _invoke(
    function: _Function, message: dict[str, Any], formatter: _LambdaFormatter
) -> dict[str, Any]:
    started = time.perf_counter()
    reply: dict[str, Any] = {"t": "result", "id": message["id"]}
    formatter.request_id = message["request_id"]
    if function.init_error is not None:
        reply.update(ok=False, error=function.init_error)
    else:
        try:
            context = LambdaContext(function.config, message["request_id"], message["deadline"])
            value = function.handler(message["event"], context)
            json.dumps(value)  # Lambda serializes the result; an unserializable one fails
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
    formatter.request_id = ""
    reply["duration_ms"] = (time.perf_counter() - started) * 1000
    return reply


def main() -> int:
    """Run the environment: read the configuration, init, then serve invocations."""
    # Ctrl-C in the terminal reaches the whole process group: the gateway ends its
    # environments itself (``Environment.kill``), so they do not die mid-invocation with a
    # traceback of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    config: dict[str, Any] = json.loads(sys.stdin.readline())
    sys.stdin = open(os.devnull, encoding="utf-8")  # noqa: SIM115 - the process's stdin
    _set_import_path(config)
    if config.get("task_root"):
        os.chdir(config["task_root"])
    wire = _load_sibling("wire")
    hooks = _load_sibling("aws_hooks")
    host, _, port = config["runtime_api"].rpartition(":")
    sock = socket.create_connection((host, int(port)))
    # Small messages both ways (a post, a result): without this, Nagle's algorithm and
    # delayed ACKs hold each one up to 40 ms.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(wire.encode([{"t": "hello", "token": config["token"]}]))
    channel = _Channel(sock, wire)
    routes = hooks.Routes.from_config(config["routes"])
    hooks.install(routes, channel, fast_path=bool(config.get("fast_path")))
    formatter = _set_up_logging(config)
    function = _Function(config)
    invocations: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()

    def read() -> None:
        for message in channel.messages():
            kind = message["t"]
            if kind == "invoke":
                invocations.put(message)
            elif kind == "reply":
                channel.resolve(message)
            elif kind == "open":
                channel.live.add(message["connection_id"])
            elif kind == "closed":
                channel.live.discard(message["connection_id"])
            elif kind == "live":
                channel.live = set(message["connection_ids"])
                for name in message.get("hosts", ()):
                    routes.learn_host(name)
            elif kind == "host":
                routes.learn_host(message["host"])
        invocations.put(None)

    threading.Thread(target=read, name="channel-reader", daemon=True).start()
    channel.send({"t": "ready", "pid": os.getpid(), "init_error": function.init_error})
    while True:
        message = invocations.get()
        if message is None:
            break
        channel.send(_invoke(function, message, formatter))
        sys.stdout.flush()
        sys.stderr.flush()
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
