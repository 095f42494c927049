"""Helpers for driving a running local gateway from outside, as a client would.

Only client libraries touch the gateway here: websocket-client, the ``websockets`` client,
raw sockets and boto3. Waits poll with generous limits, because the suite shares two cores
with other developers' test runs.
"""

from __future__ import annotations

import contextlib
import json
import struct
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import websocket

from wsrelay.local import ApiDefinition, Authorizer, Function, LocalGateway, Route

from . import handlers_for_tests

__all__ = [
    "CHAT_ROUTES",
    "CLIENTS",
    "WAIT",
    "Harness",
    "chat_api",
    "chat_with_manage_api",
    "custom_api",
    "handler",
    "hang_up_all",
    "recv_close",
    "recv_json",
    "running_gateway",
    "wait_for",
]

#: websocket-client connections made through a Harness; closed after each test.
CLIENTS: list[websocket.WebSocket] = []

#: How long a test waits for something that should happen "soon" (seconds).
WAIT = 15.0
CHAT_ROUTES = ("$connect", "$disconnect", "$default", "sendmessage", "joinroom")
T = TypeVar("T")


def hang_up_all() -> None:
    """Close the socket of every connection made through a Harness (whoever closed first)."""
    while CLIENTS:
        ws = CLIENTS.pop()
        try:
            ws.close(timeout=1)
        finally:
            # close() does nothing once the server has closed: the socket needs shutting too.
            ws.shutdown()


def handler(name: str) -> str:
    """The ``Handler`` setting of a function in ``handlers_for_tests``."""
    return f"{handlers_for_tests.__name__}.{name}"


def unique_table() -> str:
    """A table name of its own: the embedded moto servers of one process share their data."""
    return f"wsrelay-test-{uuid.uuid4().hex[:12]}"


def chat_api(table: str, record_file: Path) -> ApiDefinition:
    """The workbook's chat API, with every event recorded to ``record_file`` first."""
    api = ApiDefinition.default(table, handler=handler("recording_handler"))
    for name, function in api.functions.items():
        api.functions[name] = Function(
            name=function.name,
            handler=function.handler,
            environment={**function.environment, "RECORD_FILE": str(record_file)},
        )
    return api


def custom_api(
    record_file: Path,
    routes: Mapping[str, str | tuple[str, bool]],
    *,
    table: str | None = None,
    authorizer: tuple[str, tuple[str, ...]] | None = None,
    timeouts: Mapping[str, float] | None = None,
) -> ApiDefinition:
    """An API whose routes call handlers of ``handlers_for_tests``: one function per handler.

    Args:
        record_file: ``RECORD_FILE`` of every function.
        routes: route key → handler name, or (handler name, two-way).
        table: ``CONNECTIONS_TABLE`` of every function (for handlers that use the chat's).
        authorizer: (handler name, identity sources) guarding ``$connect``.
        timeouts: handler name → the function's own timeout in seconds.
    """
    environment = {"RECORD_FILE": str(record_file)}
    if table is not None:
        environment["CONNECTIONS_TABLE"] = table
    functions: dict[str, Function] = {}

    def function_for(name: str) -> str:
        if name not in functions:
            functions[name] = Function(
                name=name,
                handler=handler(name),
                environment=environment,
                timeout=(timeouts or {}).get(name, 29.0),
            )
        return name

    guard = None
    if authorizer is not None:
        guard = Authorizer(function=function_for(authorizer[0]), identity_sources=authorizer[1])
    built: dict[str, Route] = {}
    for key, target in routes.items():
        name, two_way = (target, False) if isinstance(target, str) else target
        built[key] = Route(
            key=key,
            function=function_for(name),
            two_way=two_way,
            authorizer=guard if key == "$connect" else None,
        )
    return ApiDefinition(name="wsrelay-tests", routes=built, functions=functions)


def chat_with_manage_api(table: str, record_file: Path) -> ApiDefinition:
    """The chat's routes, recorded, plus a two-way ``manage`` route that calls ``@connections``."""
    routes: dict[str, str | tuple[str, bool]] = {
        **{key: "recording_handler" for key in CHAT_ROUTES},
        "manage": ("manage", True),
    }
    return custom_api(record_file, routes, table=table)


def read_records(record_file: Path) -> list[dict[str, Any]]:
    """Every entry the recording handlers have written so far."""
    if not record_file.exists():
        return []
    data = record_file.read_bytes()
    # A handler may be writing its line right now: only lines that are complete count (and
    # are cut before decoding, so half a UTF-8 character is never decoded).
    complete = data[: data.rfind(b"\n") + 1].decode("utf-8")
    return [json.loads(line) for line in complete.splitlines() if line.strip()]


def wait_for(probe: Callable[[], T | None], what: str, timeout: float = WAIT) -> T:
    """Poll ``probe`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


@dataclass
class Harness:
    """A running gateway, the file its handlers record to, and client helpers."""

    gw: LocalGateway
    record_file: Path
    fast_path: bool = True

    def connect(self, query: str = "", **options: Any) -> websocket.WebSocket:
        """A websocket-client connection to the gateway (``query`` without the ``?``)."""
        url = self.gw.url + (f"?{query}" if query else "")
        ws = websocket.create_connection(url, timeout=WAIT, **options)
        CLIENTS.append(ws)
        return ws

    def records(self) -> list[dict[str, Any]]:
        return read_records(self.record_file)

    def events(self, event_type: str | None = None, connection_id: str | None = None) -> list[Any]:
        """Recorded Lambda events, optionally of one type and one connection."""
        found = []
        for entry in self.records():
            event = entry.get("event")
            if event is None:
                continue
            context = event["requestContext"]
            if event_type is not None and context["eventType"] != event_type:
                continue
            if connection_id is not None and context["connectionId"] != connection_id:
                continue
            found.append(event)
        return found

    def wait_event(self, event_type: str, connection_id: str) -> dict[str, Any]:
        """The first recorded event of this type for this connection, once it exists."""
        events: list[dict[str, Any]] = wait_for(
            lambda: self.events(event_type, connection_id),
            f"a {event_type} event for {connection_id}",
        )
        return events[0]

    def connection_id_of(self, name: str) -> str:
        """The id of the connection that connected with ``?name=<name>`` (from its CONNECT event)."""

        def probe() -> str | None:
            for event in self.events("CONNECT"):
                if (event.get("queryStringParameters") or {}).get("name") == name:
                    return str(event["requestContext"]["connectionId"])
            return None

        return wait_for(probe, f"the CONNECT event of {name}")

    def chat(self, name: str, room: str = "lobby") -> tuple[websocket.WebSocket, str]:
        """A chat client named ``name`` in ``room``, and its connection id."""
        ws = self.connect(f"room={room}&name={name}")
        return ws, self.connection_id_of(name)


@contextmanager
def running_gateway(
    tmp_path: Path, api: Callable[[str, Path], ApiDefinition] | None = None, **options: Any
) -> Iterator[Harness]:
    """Start a gateway on a table of its own; ``api(table, record_file)`` builds its API."""
    table = unique_table()
    record_file = tmp_path / f"{table}.jsonl"
    record_file.touch()
    definition = (api or chat_api)(table, record_file)
    with LocalGateway(port=0, api=definition, table_name=table, **options) as gw:
        yield Harness(gw, record_file, fast_path=options.get("fast_path", True))


# --- reading what the gateway sends -------------------------------------------------------


def recv_json(ws: websocket.WebSocket) -> Any:
    """The next text frame, parsed as JSON."""
    opcode, data = ws.recv_data()
    assert opcode == websocket.ABNF.OPCODE_TEXT, f"expected a text frame, got opcode {opcode}"
    return json.loads(data)


def recv_close(ws: websocket.WebSocket) -> tuple[int | None, str]:
    """Read until the server's close frame; return its (code, reason). Other frames are skipped.

    ``None`` for the code means the frame carried none; a connection dropped without a close
    frame fails the test. Frames are read raw, so websocket-client does not answer the close
    frame itself (its automatic answer raises if the server has already closed the TCP
    connection, and the code would be lost); the answer is sent here, best effort.
    """
    while True:
        try:
            frame = ws.recv_frame()
        except (websocket.WebSocketConnectionClosedException, ConnectionError) as exc:
            raise AssertionError(f"the connection dropped without a close frame: {exc!r}") from exc
        if frame.opcode == websocket.ABNF.OPCODE_CLOSE:
            with contextlib.suppress(OSError, websocket.WebSocketException):
                ws.send_close()
            if len(frame.data) < 2:
                return None, ""
            (code,) = struct.unpack("!H", frame.data[:2])
            return code, frame.data[2:].decode("utf-8")


def gateway_error(frame: Any, message: str, connection_id: str) -> bool:
    """Whether ``frame`` is API Gateway's own error frame (``Forbidden``, ``Internal server error``)."""
    return (
        isinstance(frame, dict)
        and set(frame) == {"message", "connectionId", "requestId"}
        and frame["message"] == message
        and frame["connectionId"] == connection_id
        and bool(frame["requestId"])
    )


#: The variables through which boto3 could find AWS credentials.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
)


def without_aws_credentials(environment: Mapping[str, str], folder: Path) -> dict[str, str]:
    """``environment`` as a fresh machine has it: no AWS credentials, no config files, no IMDS.

    ``folder`` is an empty folder to point the credentials and config files into.
    """
    clean = {name: value for name, value in environment.items() if name not in CREDENTIAL_VARIABLES}
    clean.update(
        AWS_SHARED_CREDENTIALS_FILE=str(folder / "none"),
        AWS_CONFIG_FILE=str(folder / "none"),
        AWS_EC2_METADATA_DISABLED="true",
    )
    return clean
