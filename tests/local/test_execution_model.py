"""Lambda's execution model in the local runtime, seen from outside with real clients and boto3.

One invocation at a time per environment; a clean environment; the function's own memory
and timeout; API Gateway's 29 s apart from the function's own timeout; reserved
concurrency; Lambda's Invoke API between functions; and every endpoint a handler may use.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from wsrelay.local import ApiDefinition, Function, LocalGateway, Route
from wsrelay.local.lambda_runtime.environment import RESERVED

from .support import CLIENTS, WAIT, gateway_error, handler, recv_json, unique_table, wait_for

pytestmark = pytest.mark.integration

API_ID = "abc123defg"
REGION = "us-east-1"
EXECUTE_API_URL = f"https://{API_ID}.execute-api.{REGION}.amazonaws.com/dev"


def api_of(*functions: tuple[str, Function]) -> ApiDefinition:
    """An API whose route ``key`` calls each function; functions without a route key are only invocable."""
    routes = {key: Route(key=key, function=f.name) for key, f in functions if key}
    return ApiDefinition(
        name="execution-model",
        routes=routes,
        functions={f.name: f for _, f in functions},
        api_id=API_ID,
    )


def fn(name: str, target: str, **settings: object) -> Function:
    return Function(name=name, handler=handler(target), **settings)  # type: ignore[arg-type]


def connect(gw: LocalGateway) -> object:
    import websocket

    ws = websocket.create_connection(gw.url, timeout=WAIT)
    CLIENTS.append(ws)
    return ws


def send(ws: object, action: str, **fields: object) -> None:
    ws.send(json.dumps({"action": action, **fields}))  # type: ignore[attr-defined]


def recv_text(ws: object) -> str:
    return str(ws.recv())  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    """One gateway with a function per behaviour under test."""
    functions = (
        ("state", fn("state", "global_state", environment={"HOLD": "0.5"})),
        ("env", fn("env", "report_environment", memory_size=256, timeout=10,
                   environment={"OWN_SETTING": "mine"})),
        ("callback", fn("callback", "via_callback_url", environment={"CALLBACK_URL": EXECUTE_API_URL})),
        ("elsewhere", fn("elsewhere", "via_callback_url", environment={
            "CALLBACK_URL": "https://zzz999zzzz.execute-api.us-east-1.amazonaws.com/dev"})),
        ("invoke", fn("invoke", "invoke_worker", environment={"WORKER": "worker"})),
        ("invoke-arn", fn("invoke-arn", "invoke_worker", environment={
            "WORKER": f"arn:aws:lambda:{REGION}:123456789012:function:worker"})),
        ("", fn("worker", "worker")),
    )  # fmt: skip
    api = api_of(*functions)
    for key in ("env",):
        api.routes[key] = Route(key=key, function=key, two_way=True)
    with LocalGateway(port=0, api=api, table_name=unique_table(), region=REGION) as gw:
        yield gw


@pytest.fixture(scope="module")
def impatient() -> Iterator[LocalGateway]:
    """A gateway whose integration timeout (1 s) is shorter than its function's (10 s)."""
    api = api_of(("late", fn("late", "late_post", timeout=10, environment={"SLEEP": "2.5"})))
    with LocalGateway(port=0, api=api, table_name=unique_table(), integration_timeout=1.0) as gw:
        yield gw


def test_each_concurrent_request_gets_its_own_environment(gateway: LocalGateway) -> None:
    """Two clients at once, a handler keeping the request in a module global: each gets its own back."""
    first, second = connect(gateway), connect(gateway)
    send(first, "state", text="first")
    send(second, "state", text="second")
    assert json.loads(recv_text(first))["text"] == "first"
    assert json.loads(recv_text(second))["text"] == "second"


def test_a_function_sees_lambdas_variables_and_its_own_only(gateway: LocalGateway) -> None:
    """Only Lambda's variables and the function's own are set (the shell's: ``test_serve_template``)."""
    ws = connect(gateway)
    send(ws, "env")
    seen = recv_json(ws)
    assert seen["own"] == "mine"
    platform = {"PATH", "LANG", "TZ", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"}
    platform.add("LC_CTYPE")  # Python's own, where LANG's locale is missing (PEP 538)
    assert set(seen["variables"]) <= RESERVED | platform | {"OWN_SETTING"}
    assert {"_HANDLER", "AWS_LAMBDA_FUNCTION_NAME", "LAMBDA_TASK_ROOT", "AWS_SESSION_TOKEN"} <= set(
        seen["variables"]
    )
    assert seen["tz"] == ":UTC"


def test_context_reports_the_functions_own_memory_and_timeout(gateway: LocalGateway) -> None:
    """``memory_limit_in_mb`` is ``MemorySize``; the remaining time counts down from ``Timeout``."""
    ws = connect(gateway)
    send(ws, "env")
    seen = recv_json(ws)
    assert seen["memory"] == "256" and seen["memory_variable"] == "256"
    assert 8_000 < seen["remaining_ms"] <= 10_000
    assert seen["function_name"] == "env"
    assert seen["arn"] == f"arn:aws:lambda:{REGION}:123456789012:function:env"
    assert seen["handler"] == handler("report_environment")


def test_a_function_runs_on_past_the_integration_timeout(impatient: LocalGateway) -> None:
    """The client gets API Gateway's error at the (shortened) integration timeout, then the late post."""
    ws = connect(impatient)
    send(ws, "late")
    frame = json.loads(recv_text(ws))
    assert frame["message"] == "Internal server error"
    assert recv_text(ws) == "late"


@pytest.mark.parametrize("fast_path", [True, False], ids=["fast_path", "http"])
def test_an_execute_api_url_from_a_session_of_its_own_reaches_the_gateway(fast_path: bool) -> None:
    """``https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`` with ``boto3.session.Session()``."""
    api = api_of(("callback", fn("callback", "via_callback_url", environment={
        "CALLBACK_URL": EXECUTE_API_URL})))  # fmt: skip
    with LocalGateway(port=0, api=api, table_name=unique_table(), fast_path=fast_path) as gw:
        ws = connect(gw)
        send(ws, "callback")
        assert recv_text(ws) == f"via {EXECUTE_API_URL}"


def test_a_post_to_another_api_is_refused_not_sent(gateway: LocalGateway) -> None:
    """A post to another API's AWS host fails inside the function (403); nothing leaves the machine."""
    lam = lambda_client(gateway)
    answer = lam.invoke(
        FunctionName="elsewhere",
        Payload=json.dumps({"requestContext": {"connectionId": "x"}}).encode(),
    )
    assert answer["FunctionError"] == "Unhandled"
    error = json.loads(answer["Payload"].read())
    assert error["errorType"] == "ForbiddenException"
    assert "does not serve the API at zzz999zzzz" in error["errorMessage"]


@pytest.mark.parametrize("route", ["invoke", "invoke-arn"])
def test_a_function_invokes_another_asynchronously(gateway: LocalGateway, route: str) -> None:
    """``InvocationType=Event`` (by name or ARN) answers 202 at once; the worker's post arrives."""
    ws = connect(gateway)
    send(ws, route, type="Event", say="done later")
    frames = {recv_text(ws), recv_text(ws)}
    invoked = next(json.loads(f)["invoked"] for f in frames if f.startswith("{"))
    assert invoked == {"status": 202, "error": None, "payload": None}
    assert "done later" in frames


def test_a_function_invokes_another_synchronously(gateway: LocalGateway) -> None:
    """``RequestResponse`` returns the worker's result; a failing worker reads ``Unhandled``."""
    ws = connect(gateway)
    send(ws, "invoke", type="RequestResponse", say="now")
    assert recv_text(ws) == "now"
    assert json.loads(recv_text(ws))["invoked"] == {
        "status": 200,
        "error": None,
        "payload": {"posted": "now"},
    }
    send(ws, "invoke", type="RequestResponse", say="fail")
    invoked = json.loads(recv_text(ws))["invoked"]
    assert invoked["status"] == 200 and invoked["error"] == "Unhandled"
    assert invoked["payload"]["errorType"] == "ValueError"
    assert invoked["payload"]["errorMessage"] == "the worker was told to fail"


OPEN_CLIENTS: list[object] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()  # type: ignore[attr-defined]


def lambda_client(gw: LocalGateway) -> object:
    """A Lambda client for the gateway's Invoke API that does not retry (botocore retries 429s)."""
    client = boto3.client(
        "lambda",
        endpoint_url=gw.lambda_endpoint,
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )
    OPEN_CLIENTS.append(client)
    return client


def test_the_invoke_api_answers_as_lambda_does(gateway: LocalGateway) -> None:
    """Unknown function 404, a body that is not JSON 400, DryRun 204: the modelled errors."""
    lam = lambda_client(gateway)
    with pytest.raises(lam.exceptions.ResourceNotFoundException) as missing:  # type: ignore[attr-defined]
        lam.invoke(FunctionName="nope")  # type: ignore[attr-defined]
    assert "function:nope" in missing.value.response["Error"]["Message"]
    with pytest.raises(lam.exceptions.InvalidRequestContentException):  # type: ignore[attr-defined]
        lam.invoke(FunctionName="worker", Payload=b"{not json")  # type: ignore[attr-defined]
    dry = lam.invoke(FunctionName="worker", InvocationType="DryRun")  # type: ignore[attr-defined]
    dry["Payload"].close()  # a streamed body holds its connection until read or closed
    assert dry["StatusCode"] == 204


def test_reserved_concurrency_throttles_the_second_request() -> None:
    """ReservedConcurrentExecutions 1: a second request while one runs is throttled, as on AWS."""
    api = api_of(("limited", fn("limited", "global_state", reserved_concurrency=1,
                                environment={"HOLD": "1.5"})))  # fmt: skip
    with LocalGateway(port=0, api=api, table_name=unique_table()) as gw:
        first, second = connect(gw), connect(gw)
        send(first, "limited", text="first")
        threading.Event().wait(0.3)  # the first invocation is running
        send(second, "limited", text="second")
        refused = json.loads(recv_text(second))
        assert refused["message"] == "Internal server error"
        assert json.loads(recv_text(first))["text"] == "first"
        lam = lambda_client(gw)

        def free() -> bool | None:
            # The post arrives a moment before the invocation ends; a direct invoke (it
            # fails at once on an event without a body) stops being throttled once it has.
            try:
                lam.invoke(FunctionName="limited", Payload=b"{}")  # type: ignore[attr-defined]
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "TooManyRequestsException":
                    return None
                raise
            return True

        wait_for(free, "the first invocation to end")
        send(first, "limited", text="again")
        threading.Event().wait(0.3)
        with pytest.raises(ClientError) as throttled:
            lam.invoke(FunctionName="limited", Payload=b"{}")  # type: ignore[attr-defined]
        assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert json.loads(recv_text(first))["text"] == "again"


def test_past_max_environments_requests_wait_instead() -> None:
    """With one environment allowed (and no reserved concurrency) a second request waits its turn."""
    api = api_of(("state", fn("state", "global_state", environment={"HOLD": "0.5"})))
    with LocalGateway(port=0, api=api, table_name=unique_table(), max_environments=1) as gw:
        first, second = connect(gw), connect(gw)
        send(first, "state", text="first")
        send(second, "state", text="second")
        assert json.loads(recv_text(first))["text"] == "first"
        assert json.loads(recv_text(second))["text"] == "second"


def test_frames_of_the_gateway_error_shape(impatient: LocalGateway) -> None:
    """The late route's error frame is API Gateway's own shape (message, connectionId, requestId)."""
    ws = connect(impatient)
    send(ws, "late")
    frame = json.loads(recv_text(ws))
    assert set(frame) == {"message", "connectionId", "requestId"}
    assert gateway_error(frame, "Internal server error", frame["connectionId"])
    assert recv_text(ws) == "late"
