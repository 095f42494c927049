"""Apps served from their SAM/CloudFormation templates, unmodified, driven by real clients.

The apps in ``tests/apps/`` are written the way their users write them (AWS's patterns,
boto3 only); nothing in them knows about the local gateway. Each test connects with
websocket-client, sends frames, and checks what comes back and what is in the tables.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import websocket
from boto3.dynamodb.types import TypeDeserializer

from wsrelay.local import LocalGateway

from .support import CLIENTS, WAIT, without_aws_credentials

pytestmark = pytest.mark.integration

APPS = Path(__file__).parent.parent / "apps"


def connect(gw: LocalGateway, query: str = "", **options: Any) -> websocket.WebSocket:
    ws = websocket.create_connection(
        gw.url + (f"?{query}" if query else ""), timeout=WAIT, **options
    )
    CLIENTS.append(ws)
    return ws


def send(ws: websocket.WebSocket, action: str, **fields: Any) -> None:
    ws.send(json.dumps({"action": action, **fields}))


def recv(ws: websocket.WebSocket) -> Any:
    return json.loads(ws.recv())


def scan(gw: LocalGateway, logical_id: str) -> list[dict[str, Any]]:
    """Every item of the table the template calls ``logical_id``, as plain Python values."""
    client = gw.dynamodb_client()
    items = client.scan(TableName=gw.resources[logical_id])["Items"]
    decode = TypeDeserializer().deserialize
    return [{k: decode(v) for k, v in item.items()} for item in items]


def served(app: str, **options: Any) -> Iterator[LocalGateway]:
    with LocalGateway.from_template(APPS / app / "template.yaml", port=0, **options) as gw:
        yield gw


@pytest.fixture(scope="module")
def sam_chat() -> Iterator[LocalGateway]:
    yield from served("sam_chat")


@pytest.fixture(scope="module")
def two_tables() -> Iterator[LocalGateway]:
    yield from served("two_tables")


@pytest.fixture(scope="module")
def authorized() -> Iterator[LocalGateway]:
    yield from served("authorized")


@pytest.fixture(scope="module")
def endpoints() -> Iterator[LocalGateway]:
    yield from served("endpoints")


@pytest.fixture(scope="module")
def isolation() -> Iterator[LocalGateway]:
    yield from served("isolation")


@pytest.fixture(scope="module")
def impatient() -> Iterator[LocalGateway]:
    """The isolation app with API Gateway's 29 s shortened to 1.5 s (its late function sleeps 3 s)."""
    yield from served("isolation", integration_timeout=1.5)


# --- a SAM app: Globals, several functions, a GSI, a SimpleTable -----------------------------


def test_sam_chat_broadcasts_to_its_room(sam_chat: LocalGateway) -> None:
    """Three functions from their own folders, Globals applied, the room read through its GSI."""
    ada, bob = connect(sam_chat, "room=r1"), connect(sam_chat, "room=r1")
    other = connect(sam_chat, "room=r2")
    send(ada, "sendmessage", data="hello r1")
    assert recv(ada) == recv(bob) == {"room": "r1", "data": "hello r1"}
    send(other, "sendmessage", data="only r2")
    assert recv(other) == {"room": "r2", "data": "only r2"}  # and nothing for r1 in between
    send(bob, "sendmessage", data="again")
    assert recv(ada) == {"room": "r1", "data": "again"}
    stored = {(m["roomId"], m["data"]) for m in scan(sam_chat, "MessagesTable")}
    assert {("r1", "hello r1"), ("r2", "only r2"), ("r1", "again")} <= stored
    rooms = [row["roomId"] for row in scan(sam_chat, "ConnectionsTable")]
    assert rooms.count("r1") >= 2 and "r2" in rooms


def test_sam_chat_shows_its_outputs_with_local_urls(sam_chat: LocalGateway) -> None:
    """The ``wss://`` output is this gateway's URL; the others are as CloudFormation resolves them."""
    outputs = sam_chat.outputs
    assert outputs["WebSocketURL"] == sam_chat.url
    assert outputs["ConnectionsTableName"] == sam_chat.resources["ConnectionsTable"]
    function = sam_chat.resources["SendMessageFunction"]
    assert outputs["SendMessageFunctionArn"] == (
        f"arn:aws:lambda:us-east-1:123456789012:function:{function}"
    )


def test_sam_chat_cleans_up_after_a_client_that_vanished(sam_chat: LocalGateway) -> None:
    """A client cut without a close frame: its row goes at $disconnect; the room still works."""
    ghost = connect(sam_chat, "room=r3")
    stayer = connect(sam_chat, "room=r3")
    send(stayer, "sendmessage", data="before")
    assert recv(stayer)["data"] == "before"
    ghost.sock.close()  # no close frame
    send(stayer, "sendmessage", data="after")
    assert recv(stayer)["data"] == "after"


# --- plain CloudFormation: two tables with GSIs, a function per route, code from a zip ----


def test_two_tables_one_handler_per_route(two_tables: LocalGateway) -> None:
    """Connect registers the user; rooms are written and read back through their GSIs."""
    owner = connect(two_tables, "email=ada@example.org")
    send(owner, "createroom", name="kitchen")
    created = recv(owner)
    assert created["name"] == "kitchen"
    send(owner, "createroom", name="garden")
    recv(owner)
    send(owner, "listrooms")  # its function's code comes from list_rooms.zip
    assert sorted(recv(owner)["rooms"]) == ["garden", "kitchen"]
    send(owner, "whoami", email="ada@example.org")
    answer = recv(owner)
    assert answer["user"]["email"] == "ada@example.org"
    # The stage's StageVariables reach the event (strings, as API Gateway stores them).
    assert answer["stageVariables"] == {"greeting": "hello", "retries": "3"}
    rooms = scan(two_tables, "RoomsTable")
    assert {r["roomName"] for r in rooms} >= {"kitchen", "garden"}


def test_two_tables_refuses_a_connect_without_email(two_tables: LocalGateway) -> None:
    """The ``$connect`` function's 400 is the handshake's answer."""
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(two_tables)
    assert refused.value.status_code == 400


# --- a REQUEST authorizer and a two-way route ------------------------------------------------


@pytest.mark.parametrize(
    ("token", "status"), [("go-away", 403), ("wrong", 401), (None, 401)], ids=str
)
def test_the_authorizer_refuses(authorized: LocalGateway, token: str | None, status: int) -> None:
    """Deny is 403; ``raise Exception("Unauthorized")`` and a missing identity source are 401."""
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        connect(authorized, f"token={token}" if token else "")
    assert refused.value.status_code == status


def test_a_two_way_route_answers_and_a_one_way_route_does_not(authorized: LocalGateway) -> None:
    """``echo`` has a ``$default`` route response; ``whoami`` has none, so its answer reaches no one."""
    ws = connect(authorized, "token=let-me-in")
    send(ws, "whoami")
    send(ws, "echo", text="hi")
    answer = recv(ws)  # the first frame back is echo's: whoami's was dropped
    assert answer["user"] == "ada"
    assert json.loads(answer["echo"]) == {"action": "echo", "text": "hi"}


# --- every endpoint a handler may use; functions invoking functions; SQS ---------------------


def test_posts_through_the_events_domain(endpoints: LocalGateway) -> None:
    """``https://{domainName}/{stage}`` from the event (AWS's own pattern)."""
    ws = connect(endpoints)
    send(ws, "viadomain")
    assert recv(ws) == {"via": "domain"}


@pytest.mark.parametrize("variable", ["CALLBACK_URL", "CALLBACK_URL_JOINED"])
def test_posts_through_an_execute_api_url_from_the_template(
    endpoints: LocalGateway, variable: str
) -> None:
    """An ``execute-api`` URL built by ``!Sub`` or ``!Join``, from a session of the function's own."""
    ws = connect(endpoints)
    send(ws, "viaenvironment", variable=variable)
    answer = recv(ws)
    api = endpoints.resources["Api"]
    assert answer == {
        "via": variable,
        "url": f"https://{api}.execute-api.us-east-1.amazonaws.com/dev",
    }


def test_a_function_starts_another_asynchronously(endpoints: LocalGateway) -> None:
    """``kickoff`` answers at once; the worker it invoked with ``Event`` posts later."""
    ws = connect(endpoints)
    send(ws, "kickoff")
    assert recv(ws) == {"status": "started"}
    assert recv(ws) == {"status": "done"}


def test_a_function_calls_another_synchronously_by_arn(endpoints: LocalGateway) -> None:
    """``sync`` invokes the doubler by its ARN and posts the result."""
    ws = connect(endpoints)
    send(ws, "sync", number=21)
    assert recv(ws) == {"result": {"doubled": 42}}


def test_a_function_uses_the_apps_queue(endpoints: LocalGateway) -> None:
    """The template's SQS queue exists in the all-services moto; its URL came from ``!Ref``."""
    assert endpoints.endpoint_url is not None
    ws = connect(endpoints)
    send(ws, "enqueue", text="through sqs")
    assert recv(ws) == {"queued": ["through sqs"]}


# --- Lambda's execution model ------------------------------------------------------------


def test_concurrent_requests_keep_their_own_module_globals(isolation: LocalGateway) -> None:
    """Two clients at once through a handler that keeps the request in a module global."""
    clients = [connect(isolation) for _ in range(3)]
    threads = [
        threading.Thread(target=send, args=(ws, "remember"), kwargs={"who": f"client-{i}"})
        for i, ws in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, ws in enumerate(clients):
        assert recv(ws)["who"] == f"client-{i}"


def test_the_context_reports_the_functions_memory_and_timeout(isolation: LocalGateway) -> None:
    """``MemorySize: 256`` and ``Timeout: 7`` as the context reports them."""
    ws = connect(isolation)
    send(ws, "environment")
    seen = recv(ws)
    assert seen["memory_limit_in_mb"] == "256"
    assert 5_000 < seen["remaining_time_in_millis"] <= 7_000


def test_a_late_post_arrives_after_the_integration_timeout(impatient: LocalGateway) -> None:
    """API Gateway gives up (shortened here to 1.5 s); the function runs on and its post arrives."""
    ws = connect(impatient)
    send(ws, "late")
    assert recv(ws)["message"] == "Internal server error"
    assert ws.recv() == "late"


def test_serve_template_hides_the_shell_and_prints_what_it_serves(tmp_path: Path) -> None:
    """``wsrelay serve --template``: a variable exported in its shell is invisible to the
    functions; it prints its URLs, the template's outputs and what it does not emulate."""
    environment = without_aws_credentials(os.environ, tmp_path)
    environment["WSRELAY_SHELL_SECRET"] = "exported in the shell"
    server = subprocess.Popen(
        [sys.executable, "-m", "wsrelay.cli", "serve", "--port", "0", "--quiet", "--template",
         str(APPS / "isolation" / "template.yaml")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = server.stdout.readline()
            assert line, (
                f"serve ended early: {''.join(lines)}{server.stderr.read() if server.stderr else ''}"
            )
            lines.append(line)
        text = "".join(lines)
        url = re.search(r"WebSocket URL:\s+(ws://127\.0\.0\.1:\d+/\w+)\n", text)
        assert url, text
        assert re.search(r"Endpoint URL:\s+http://127\.0\.0\.1:\d+ ", text), text
        assert "Not emulated:" in text and "AWS::IAM::Role" in text, text
        ws = websocket.create_connection(url.group(1), timeout=WAIT)
        CLIENTS.append(ws)
        send(ws, "environment")
        assert recv(ws)["secret"] == "unset"
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert server.returncode == 0


MISSING_MODULE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: m, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref Api
      RouteKey: $default
      Target: !Sub "integrations/${Integration}"
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: AWS_PROXY
      IntegrationUri: !Sub "arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Needy.Arn}/invocations"
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: dev}
  Needy:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: src/, Handler: app.handler, Runtime: python3.11}
"""


def test_a_missing_module_names_the_function_and_its_requirements(tmp_path: Path) -> None:
    """An import the environment cannot satisfy fails each invocation with Lambda's error type,
    naming the module, the function and the requirements file beside its code."""
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(
        "import not_installed_anywhere\n\ndef handler(e, c):\n    return {}\n"
    )
    (tmp_path / "src" / "requirements.txt").write_text("not_installed_anywhere==1.0\n")
    (tmp_path / "template.yaml").write_text(MISSING_MODULE)
    with LocalGateway.from_template(tmp_path / "template.yaml", port=0) as gw:
        lam = boto3.client(
            "lambda", endpoint_url=gw.lambda_endpoint, region_name="us-east-1",
            aws_access_key_id="x", aws_secret_access_key="x",
        )  # fmt: skip
        answer = lam.invoke(FunctionName=gw.resources["Needy"], Payload=b"{}")
        error = json.loads(answer["Payload"].read())
        lam.close()
        ws = connect(gw)
        ws.send("anything")
        assert recv(ws)["message"] == "Internal server error"
    assert answer["FunctionError"] == "Unhandled"
    assert error["errorType"] == "Runtime.ImportModuleError"
    message = error["errorMessage"]
    assert "No module named 'not_installed_anywhere'" in message
    assert gw.resources["Needy"] in message
    assert str(tmp_path / "src" / "requirements.txt") in message


def test_a_function_uses_the_apps_bucket_and_topic() -> None:
    """S3 (a virtual-host https upload made path-style http) and SNS in the all-services moto.

    Also the canary of ``aws_hooks._checksum_in_header``: were botocore to keep its
    aws-chunked trailer over plain HTTP, the object read back would be empty.
    """
    with LocalGateway.from_template(APPS / "storage" / "template.yaml", port=0) as gw:
        ws = connect(gw)
        ws.send("write a note")
        assert recv(ws) == {"s3": "hi there", "sns": True}
