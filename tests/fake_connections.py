"""A 127.0.0.1 stand-in for API Gateway's ``@connections`` management API, for the tests.

moto's management API accepts a post to any id and never answers 410, so it cannot show the
broadcaster's stale-connection clean-up. This endpoint answers the way AWS does:

- ``POST /{stage}/@connections/{id}``: 200 for a live id; 410 with the header
  ``x-amzn-ErrorType: GoneException`` and AWS's message for any other id (an unknown or
  closed connection); or the status set in ``failures`` for that id (429, 500, 403 …).
- It records every post (id and bytes) and the most requests it ever had in flight at once,
  so tests can prove delivery, clean-up and bounded concurrency.

Use ``api.url`` as the ``endpoint_url`` of a boto3 ``apigatewaymanagementapi`` client. When
the project's local gateway exists, it is the real thing; this stays as the unit-level fake.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import unquote

__all__ = ["FakeConnectionsAPI", "Post"]

GONE_MESSAGE = "The connection with the provided id no longer exists."

#: status → (x-amzn-ErrorType, message), as API Gateway answers them. 500 has no modelled
#: error in botocore's apigatewaymanagementapi model, so botocore raises a plain ClientError.
_ERRORS: dict[int, tuple[str, str]] = {
    403: ("ForbiddenException", "Forbidden"),
    410: ("GoneException", GONE_MESSAGE),
    413: ("PayloadTooLargeException", "Message too long"),
    429: ("LimitExceededException", "Rate exceeded"),
    500: ("InternalServerErrorException", "Internal server error"),
}


@dataclass(frozen=True)
class Post:
    """One ``PostToConnection`` request the endpoint received."""

    stage: str
    connection_id: str
    data: bytes
    status: int
    authorization: str


class FakeConnectionsAPI:
    """An ``@connections`` endpoint on ``127.0.0.1:<free port>`` (see the module docstring).

    Args:
        stage: the stage in the URL path; requests for another stage get 404.
        delay: seconds each post waits before it answers, so concurrency can be observed.
    """

    def __init__(self, *, stage: str = "dev", delay: float = 0.0) -> None:
        self.stage = stage
        self.delay = delay
        self.live: set[str] = set()
        self.failures: dict[str, int] = {}
        self.posts: list[Post] = []
        self.max_in_flight = 0
        self._in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-connections-api",
            daemon=True,
        )

    # --- what tests read ------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The port the endpoint listens on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The management API URL, ``http://127.0.0.1:PORT/STAGE`` (boto3's ``endpoint_url``)."""
        return f"http://127.0.0.1:{self.port}/{self.stage}"

    def posts_to(self, connection_id: str) -> list[bytes]:
        """Return the bytes of every post to ``connection_id`` that was answered 200."""
        with self._lock:
            return [
                p.data for p in self.posts if p.connection_id == connection_id and p.status == 200
            ]

    def frames_to(self, connection_id: str) -> list[dict[str, Any]]:
        """Return every frame delivered to ``connection_id``, parsed from JSON."""
        return [json.loads(data) for data in self.posts_to(connection_id)]

    def post_counts(self) -> Counter[str]:
        """Return how many posts each connection id received (whatever the answer)."""
        with self._lock:
            return Counter(p.connection_id for p in self.posts)

    # --- the server -----------------------------------------------------------------------

    def _answer(self, stage: str, connection_id: str, data: bytes, authorization: str) -> int:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            with self._lock:
                if connection_id in self.failures:
                    status = self.failures[connection_id]
                elif connection_id in self.live:
                    status = 200
                else:
                    status = 410
                self.posts.append(Post(stage, connection_id, data, status, authorization))
            return status
        finally:
            with self._lock:
                self._in_flight -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1 keeps botocore's connections alive, as API Gateway does.
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Stay quiet: one line per request would flood the test output."""

            def _reply(self, status: int, body: bytes = b"", error_type: str | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if error_type is not None:
                    # botocore raises the modelled exception class only with this header.
                    self.send_header("x-amzn-ErrorType", error_type)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                """``POST /{stage}/@connections/{id}``: PostToConnection."""
                length = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(length)
                parts = self.path.split("/")
                if len(parts) != 4 or parts[0] or parts[2] != "@connections":
                    self._reply(404, b'{"message": "Not Found"}')
                    return
                stage, connection_id = parts[1], unquote(parts[3])
                if stage != api.stage:
                    self._reply(404, json.dumps({"message": f"no stage {stage}"}).encode())
                    return
                status = api._answer(
                    stage, connection_id, data, self.headers.get("Authorization", "")
                )
                if status == 200:
                    self._reply(200)
                else:
                    error_type, message = _ERRORS[status]
                    self._reply(status, json.dumps({"message": message}).encode(), error_type)

        return Handler

    def start(self) -> FakeConnectionsAPI:
        """Start serving in a background thread; return ``self``."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeConnectionsAPI:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
