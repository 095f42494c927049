"""The secured chat from outside: the project's ``template.yaml`` served by the local gateway,
driven by real WebSocket clients (websocket-client), as a learner's terminal would.

With ``TokenSecret`` set, ``$connect`` runs the token authorizer (``wsrelay.authorizer``):
no token or a bad one is refused with 401, a room the token does not grant with 403, and the
name the chat shows is the token's, whatever ``?name=`` says. The handler's caps are the
template's: 20 messages per connection per 10 s, 4 KB a message; with
``ReservedConcurrency=0`` every invocation is throttled and ``$connect`` fails with 502, as
a ``$connect`` whose function fails does on AWS (docs/aws-websocket-behaviour.md).
``wsrelay serve`` prints the functions' JSON log lines (``LoggingConfig``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket

from wsrelay.authorizer import sign_token
from wsrelay.local import LocalGateway

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
SECRET = "test-secret"
WAIT = 10
#: The ``wsrelay`` command of this environment.
WSRELAY = str(Path(sys.executable).with_name("wsrelay"))


def token(name: str, *, ttl: float = 300, rooms: list[str] | None = None) -> str:
    return sign_token(name, SECRET, expires_at=time.time() + ttl, rooms=rooms)


@pytest.fixture(scope="module")
def secured() -> Iterator[LocalGateway]:
    parameters = {"TokenSecret": SECRET, "LogLevel": "WARN"}
    with LocalGateway.from_template(TEMPLATE, parameters, stack_name="wsrelay", port=0) as gw:
        yield gw


def connect(gw: LocalGateway, query: str) -> websocket.WebSocket:
    return websocket.create_connection(f"{gw.url}?{query}", timeout=WAIT)


def refused(gw: LocalGateway, query: str) -> int:
    with pytest.raises(websocket.WebSocketBadStatusException) as error:
        connect(gw, query)
    status: int = error.value.status_code
    return status


def frames(ws: websocket.WebSocket, count: int) -> list[dict[str, Any]]:
    return [json.loads(ws.recv()) for _ in range(count)]


def test_no_token_or_a_bad_one_is_401(secured: LocalGateway) -> None:
    assert refused(secured, "room=lobby") == 401  # no identity source: not even invoked
    assert refused(secured, f"token={token('ada', ttl=-1)}") == 401  # expired
    forged = sign_token("ada", "not the secret", expires_at=time.time() + 60)
    assert refused(secured, f"token={forged}") == 401


def test_a_room_the_token_does_not_grant_is_403(secured: LocalGateway) -> None:
    assert refused(secured, f"room=ops&token={token('ada', rooms=['lobby'])}") == 403
    connect(secured, f"room=lobby&token={token('ada', rooms=['lobby'])}").close()


def test_the_name_is_the_tokens_not_the_query_strings(secured: LocalGateway) -> None:
    ws = connect(secured, f"room=names&name=mallory&token={token('ada')}")
    try:
        ws.send(json.dumps({"action": "sendmessage", "message": "who am I?"}))
        (frame,) = frames(ws, 1)
        assert (frame["type"], frame["sender"]) == ("message", "ada")
    finally:
        ws.close()


def test_a_flood_is_cut_at_the_rate_limit(secured: LocalGateway) -> None:
    """25 messages at once: 20 are broadcast, the other 5 come back as error frames."""
    ws = connect(secured, f"room=flood&token={token('ada')}")
    try:
        for n in range(25):
            ws.send(json.dumps({"action": "sendmessage", "message": f"spam {n}"}))
        got = frames(ws, 25)
        kinds = [f["type"] for f in got]
        assert kinds.count("message") == 20 and kinds.count("error") == 5, kinds
        errors = {f["error"] for f in got if f["type"] == "error"}
        assert errors == {"slow down: at most 20 messages every 10 s; this one was not sent"}
    finally:
        ws.close()


def test_a_message_over_the_size_cap_is_refused(secured: LocalGateway) -> None:
    ws = connect(secured, f"room=big&token={token('ada')}")
    try:
        ws.send(json.dumps({"action": "sendmessage", "message": "x" * 4097}))
        ws.send(json.dumps({"action": "sendmessage", "message": "x" * 4096}))
        too_long, fits = frames(ws, 2)
        assert too_long["error"] == (
            "message too long: 4,097 bytes, and this chat allows 4,096; send a shorter message"
        )
        assert fits["type"] == "message" and len(fits["message"]) == 4096
    finally:
        ws.close()


def test_no_reserved_concurrency_throttles_every_connect() -> None:
    """ReservedConcurrency=0, the emergency brake: the handler is throttled, $connect is 502."""
    parameters = {"TokenSecret": SECRET, "ReservedConcurrency": "0", "LogLevel": "WARN"}
    with LocalGateway.from_template(TEMPLATE, parameters, stack_name="brake", port=0) as gw:
        assert refused(gw, f"token={token('ada')}") == 502


def test_serve_prints_the_functions_json_logs(tmp_path: Path) -> None:
    """``wsrelay serve --template template.yaml``: the handler's INFO lines, as JSON."""
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [WSRELAY, "serve", "--template", str(TEMPLATE), "--port", "0"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
    try:
        url = _wait_for_url(log, server)
        ws = websocket.create_connection(f"{url}?room=logs&name=ada", timeout=WAIT)
        ws.send(json.dumps({"action": "sendmessage", "message": "hello"}))
        frames(ws, 1)
        ws.close()
        deadline = time.monotonic() + WAIT
        records: list[dict[str, Any]] = []
        while time.monotonic() < deadline and not any(
            "sent 5 bytes" in r.get("message", "") for r in records
        ):
            time.sleep(0.1)
            records = [
                json.loads(line)
                for line in log.read_text().splitlines()
                if line.startswith("{") and '"level"' in line
            ]
    finally:
        server.terminate()
        server.wait(timeout=WAIT)
    messages = [(r["level"], r["logger"], r["message"]) for r in records]
    assert any(
        level == "INFO" and logger == "wsrelay.handlers" and " to logs as ada" in message
        for level, logger, message in messages
    ), messages
    sent = "ada sent 5 bytes to logs: delivered 1, gone 0, failed 0; 0 page(s) of 0 member(s) handed on, 0 refused"
    assert ("INFO", "wsrelay.handlers", sent) in messages


def _wait_for_url(log: Path, server: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for word in log.read_text().split():
            if word.startswith("ws://127.0.0.1:"):
                return word.rstrip(".,")
        if server.poll() is not None:
            raise AssertionError(f"wsrelay serve exited: {log.read_text()}")
        time.sleep(0.1)
    raise AssertionError(f"wsrelay serve printed no URL: {log.read_text()}")
