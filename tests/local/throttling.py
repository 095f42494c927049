"""A DynamoDB endpoint that throttles: a proxy in front of a moto server, for the reliability tests.

It answers some requests with DynamoDB's own throttling error instead of passing them on —
HTTP 400 ``ProvisionedThroughputExceededException``, the error DynamoDB documents for
"your request rate is too high" (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html)
— and passes everything else to moto untouched. Which requests: of each distinct request
(operation and body), the first ``throttled_attempts`` of every ``throttled_attempts + 1``
attempts, so a client that retries gets through and one that does not, does not.
"""

from __future__ import annotations

import collections
import hashlib
import http.client
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["ThrottlingDynamoDB"]

THROTTLED = json.dumps(
    {
        "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
        "message": "The level of configured provisioned throughput for the table was exceeded. "
        "Consider increasing your provisioning level with the UpdateTable API.",
    }
).encode()


class ThrottlingDynamoDB:
    """Throttle ``operations`` (``Query``, ``DeleteItem``, …) on their way to ``upstream``.

    Attributes:
        throttled: operation → how many requests were answered with the throttling error.
        passed: operation → how many reached moto.
    """

    def __init__(self, upstream: str, operations: set[str], throttled_attempts: int = 2) -> None:
        self.upstream = urlsplit(upstream)
        self.operations = operations
        self.every = throttled_attempts + 1
        self.throttled: collections.Counter[str] = collections.Counter()
        self.passed: collections.Counter[str] = collections.Counter()
        self._attempts: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> ThrottlingDynamoDB:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _throttle(self, operation: str, body: bytes) -> bool:
        with self._lock:
            if operation not in self.operations:
                self.passed[operation] += 1
                return False
            key = operation + hashlib.sha256(body).hexdigest()
            attempt = self._attempts[key]
            self._attempts[key] += 1
            throttle = attempt % self.every != self.every - 1
            (self.throttled if throttle else self.passed)[operation] += 1
            return throttle

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                operation = (self.headers.get("X-Amz-Target") or "").rpartition(".")[2]
                if proxy._throttle(operation, body):
                    self._answer(400, [("Content-Type", "application/x-amz-json-1.0")], THROTTLED)
                    return
                upstream = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port, timeout=30
                )
                try:
                    upstream.request("POST", self.path, body, dict(self.headers.items()))
                    answer = upstream.getresponse()
                    content = answer.read()
                    headers = [
                        (name, value)
                        for name, value in answer.getheaders()
                        if name.lower() not in ("content-length", "transfer-encoding", "connection")
                    ]
                    self._answer(answer.status, headers, content)
                finally:
                    upstream.close()

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
