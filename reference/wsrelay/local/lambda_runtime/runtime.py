"""One function run locally the way Lambda runs it: execution environments, on demand, kept warm.

"For each concurrent request, Lambda provisions a separate instance of your execution
environment" (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html), so:

- an environment runs one invocation at a time; its module globals are its own and
  survive to its next invocation;
- a request that finds every environment busy is served by the first one to come free,
  while another one starts (a cold start); at most ``max_environments`` run at once;
- ``ReservedConcurrentExecutions`` is a hard limit, as on AWS: a request past it is
  throttled (``TooManyRequestsException``) without running, whereas ``max_environments``
  is this machine's limit and a request past it waits (AWS would start more
  environments, up to the account's concurrency);
- the function runs up to its own ``Timeout``, whatever its caller waits for: API
  Gateway gives up after 29 s and answers its client, but the invocation runs on, and its
  later ``@connections`` posts still arrive; past its own timeout the environment is
  ended ("Task timed out after N seconds") and the next request starts a new one;
- a process that dies fails its invocation (``Runtime.ExitError``); the next request
  starts a new environment.

What AWS does on failure (https://docs.aws.amazon.com/lambda/latest/dg/python-exceptions.html):
a handler that raises fails its invocation with ``errorType``/``errorMessage``/``stackTrace``
and its environment stays warm.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from wsrelay.local.api import Function
from wsrelay.local.lambda_runtime.environment import lambda_environment, log_stream_name
from wsrelay.local.lambda_runtime.environments import (
    BOOTSTRAP,
    DynamoDBHandler,
    Environment,
    Invocation,
    ManageHandler,
    RuntimeApi,
    failure,
)

__all__ = ["DEFAULT_MAX_ENVIRONMENTS", "FunctionRuntime", "Invocation"]

logger = logging.getLogger("wsrelay.local")

#: Execution environments per function, at most, unless ReservedConcurrentExecutions is
#: lower: one per core, and at least two (so concurrent requests still overlap). Each
#: environment is a process, and each cold start costs a few hundred ms of CPU (Python,
#: boto3, the handler's clients), which a burst of requests on few cores feels: on two
#: cores, 1,000 simultaneous connects took 4.2-5.2 s with four environments and 3.1-3.4 s
#: with two (README, "How fast").
DEFAULT_MAX_ENVIRONMENTS = max(2, os.cpu_count() or 1)


class FunctionRuntime:
    """A function's execution environments and the invocations waiting for one.

    Args:
        function: what to run.
        api: the channel listener its environments connect back to.
        manage: answers the function's ``@connections`` calls.
        base_config: configuration every environment gets (routes, fast path, account).
        region: ``AWS_REGION``.
        credentials: the execution role's credentials, as environment variables.
        max_environments: this machine's limit on environments for the function.
        dynamodb: answers the function's DynamoDB calls on the fast path (the gateway's
            embedded moto), or ``None``.
    """

    def __init__(
        self,
        function: Function,
        *,
        api: RuntimeApi,
        manage: ManageHandler,
        base_config: Mapping[str, Any],
        region: str,
        credentials: Mapping[str, str],
        max_environments: int = DEFAULT_MAX_ENVIRONMENTS,
        dynamodb: DynamoDBHandler | None = None,
    ) -> None:
        self.function = function
        self._dynamodb = dynamodb
        self.name = function.name
        self._api = api
        self._manage = manage
        self._base_config = dict(base_config)
        self._region = region
        self._credentials = dict(credentials)
        reserved = function.reserved_concurrency
        self.max_environments = max(1, min(max_environments, reserved or max_environments))
        self._environments: list[Environment] = []
        self._idle: collections.deque[Environment] = collections.deque()
        self._waiters: collections.deque[asyncio.Future[Environment]] = collections.deque()
        self._starting = 0
        self._in_flight = 0
        self._runs: set[asyncio.Future[Invocation]] = set()
        self._background: set[asyncio.Future[Any]] = set()
        self._stopped = False
        #: Open connection ids and the names clients reach the gateway by, shared with
        #: the gateway and told to every environment (``aws_hooks``).
        self.live: set[str] = set()
        self.hosts: set[str] = set()

    # --- what the gateway tells every environment --------------------------------------

    def announce(self, connection_id: str, *, is_open: bool) -> None:
        message = {"t": "open" if is_open else "closed", "connection_id": connection_id}
        for environment in self._environments:
            environment.send(message)

    def announce_host(self, host: str) -> None:
        if host not in self.hosts:
            self.hosts.add(host)
            for environment in self._environments:
                environment.send({"t": "host", "host": host})

    @property
    def environment_count(self) -> int:
        return len(self._environments)

    # --- invoking ----------------------------------------------------------------------

    async def start(self) -> None:
        """Start one environment now and wait for its init (the gateway's start waits for it)."""
        if not self._environments and not self._starting:
            self._starting += 1
            await self._start_environment()

    async def invoke(self, event: Any, *, request_id: str, wait: float | None = None) -> Invocation:
        """Invoke the function; never raises for the function's faults.

        Args:
            event: the event (JSON-serializable).
            request_id: the invocation's ``aws_request_id``.
            wait: how long the caller waits, in seconds (API Gateway's 29 s); ``None``
                waits until the function ends. The invocation runs on past it.
        """
        reserved = self.function.reserved_concurrency
        if reserved is not None and self._in_flight >= reserved:
            # https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html
            return Invocation(
                ok=False,
                throttled=True,
                error={
                    "errorType": "TooManyRequestsException",
                    "errorMessage": "Rate Exceeded.",
                    "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                },
            )
        self._in_flight += 1
        run = asyncio.ensure_future(self._run(event, request_id))
        self._runs.add(run)
        run.add_done_callback(self._runs.discard)
        started = time.perf_counter()
        try:
            return await asyncio.wait_for(asyncio.shield(run), timeout=wait)
        except TimeoutError:
            waited = time.perf_counter() - started
            return failure(
                "IntegrationTimeout",
                f"the caller stopped waiting after {waited:.2f} s; the function runs on "
                f"to its own timeout ({self.function.timeout:g} s)",
                waited * 1000,
            )

    def invoke_later(self, event: Any, *, request_id: str) -> None:
        """An asynchronous (``Event``) invocation: queued, run when an environment is free.

        AWS retries a failed asynchronous invocation twice, after about one and two
        minutes (https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html);
        the local runtime logs the failure and does not retry.
        """
        task = asyncio.ensure_future(self._invoke_eventually(event, request_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(self._report_async_failure)

    async def _invoke_eventually(self, event: Any, request_id: str) -> Invocation:
        # A throttled asynchronous event stays queued and is retried (for up to 6 hours on
        # AWS, same page): here until the gateway stops.
        while True:
            result = await self.invoke(event, request_id=request_id)
            if not result.throttled or self._stopped:
                return result
            await asyncio.sleep(0.2)

    def _report_async_failure(self, done: asyncio.Future[Invocation]) -> None:
        if done.cancelled():
            return
        result = done.result()
        if not result.ok:
            logger.error(
                "asynchronous invocation of %s failed: %s (AWS would retry it twice)",
                self.name,
                result.error_text,
            )

    async def _run(self, event: Any, request_id: str) -> Invocation:
        started = time.perf_counter()
        try:
            environment = await self._acquire()
        except Exception as exc:
            self._in_flight -= 1
            return failure("Runtime.InitError", f"the environment did not start: {exc}")
        deadline = time.time() + self.function.timeout
        keep = True
        try:
            message = await asyncio.wait_for(
                environment.run(event, request_id=request_id, deadline=deadline),
                timeout=self.function.timeout,
            )
            return Invocation(
                ok=message["ok"],
                value=message.get("value"),
                error=message.get("error") or {},
                duration_ms=message.get("duration_ms", 0.0),
            )
        except TimeoutError:
            keep = False
            return failure(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after "
                f"{self.function.timeout:.2f} seconds",
                (time.perf_counter() - started) * 1000,
            )
        except ConnectionError as exc:
            keep = False
            return failure("Runtime.ExitError", f"RequestId: {request_id} Error: {exc}")
        finally:
            self._in_flight -= 1
            self._release(environment, keep=keep and environment.alive)

    # --- the pool ----------------------------------------------------------------------

    async def _acquire(self) -> Environment:
        if self._stopped:
            # An invocation that arrives while the gateway stops starts nothing new.
            raise RuntimeError(f"{self.function.name}: the gateway is stopping")
        while self._idle:
            environment = self._idle.pop()  # the most recently used: the warmest
            if environment.alive:
                return environment
            self._forget(environment)
        waiter: asyncio.Future[Environment] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if len(self._environments) + self._starting < self.max_environments:
            self._spawn()
        try:
            return await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._release(waiter.result(), keep=True)  # handed over as we gave up
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
            raise

    def _spawn(self) -> None:
        self._starting += 1
        task = asyncio.ensure_future(self._start_environment())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _start_environment(self) -> None:
        function = self.function
        stream = log_stream_name()
        runtime_api = self._api.address
        config = {
            **self._base_config,
            "function_name": function.name,
            "handler": function.handler,
            "memory_size": function.memory_size,
            "region": self._region,
            "log_stream": stream,
            "logging": dict(function.logging),
            "task_root": str(function.code_dir) if function.code_dir else None,
            "path": self._import_path(),
            "requirements": str(function.requirements) if function.requirements else None,
        }
        variables = lambda_environment(
            function,
            region=self._region,
            credentials=self._credentials,
            runtime_api=runtime_api,
            runtime_dir=BOOTSTRAP.parent,
            log_stream=stream,
        )
        environment = Environment(
            config, variables, self._api, self._manage, self.live, self.hosts, self._dynamodb
        )
        try:
            await environment.start()
        except Exception as exc:
            self._starting -= 1
            if self._stopped:  # cut short by the stop: nothing to report
                logger.debug("an environment of %s ended while starting: %s", function.name, exc)
            else:
                logger.error("an environment of %s did not start: %s", function.name, exc)
            await environment.stop()
            # With no environment left to serve them, the waiting requests fail now.
            if not self._environments and not self._starting:
                while self._waiters:
                    waiter = self._waiters.popleft()
                    if not waiter.done():
                        waiter.set_exception(RuntimeError(str(exc) or type(exc).__name__))
            return
        self._starting -= 1
        if self._stopped:
            await environment.stop()
            return
        if environment.init_error:
            logger.error(
                "%s: init failed: %s: %s",
                function.name,
                environment.init_error.get("errorType"),
                environment.init_error.get("errorMessage"),
            )
        self._environments.append(environment)
        self._release(environment, keep=True)

    def _import_path(self) -> list[str]:
        function = self.function
        if function.code_dir is None:
            # The gateway's own import path: handlers of this package, a test's or a
            # notebook's folder resolve in the environment as in the gateway.
            return [p for p in sys.path if p]
        return [str(function.code_dir), *(str(layer) for layer in function.layers)]

    def _release(self, environment: Environment, *, keep: bool) -> None:
        if not keep:
            self._forget(environment)
            stopping = asyncio.ensure_future(environment.stop())
            self._background.add(stopping)
            stopping.add_done_callback(self._background.discard)
            if self._waiters and len(self._environments) + self._starting < self.max_environments:
                self._spawn()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(environment)
                return
        self._idle.append(environment)

    def _forget(self, environment: Environment) -> None:
        if environment in self._environments:
            self._environments.remove(environment)
        with contextlib.suppress(ValueError):
            self._idle.remove(environment)

    async def stop(self) -> None:
        """Stop every environment; invocations still running fail."""
        self._stopped = True
        environments = list(self._environments)
        self._environments.clear()
        self._idle.clear()
        for environment in environments:
            environment.kill()
        # Starting environments end themselves when cancelled; stopping ones are awaited.
        for task in [*self._runs, *self._background]:
            task.cancel()
        await asyncio.gather(*self._runs, *self._background, return_exceptions=True)
        await asyncio.gather(*(e.stop() for e in environments), return_exceptions=True)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.cancel()
