"""``wsrelay.exercises``: every checker proven three ways, and the framework around them.

For each notebook's exercise: the untouched stub reads "not attempted", the reference passes,
and a known-wrong answer (one of the mistakes the notebooks warn about) is "incorrect" with a
message that names the mistake. The stubs here are the notebooks' stubs, word for word.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from wsrelay.exercises import core, environment, nb01, nb02, nb03, nb04, nb05
from wsrelay.exercises.core import Exercise, Incorrect, Result

# --- the notebooks' stubs ------------------------------------------------------------------


def route_for(body, route_keys):
    """Return the route key API Gateway picks for the frame `body`."""
    raise NotImplementedError("replace this line with your code")


def room_member_ids(client, table_name, room, page_size):
    """Return the connection ids of every member of `room`, read through the byRoom index."""
    raise NotImplementedError("replace this line with your code")


def on_connect(event, deps):
    """Store the connection and return status 200, or return 400 for a bad room or name."""
    raise NotImplementedError("replace this line with your code")


def broadcast(management, store, room, payload):
    """Post `payload` to every member of `room`; delete the rows of members that are gone."""
    raise NotImplementedError("replace this line with your code")


def chat_once(url, name, room, message):
    """Join `room` as `name`, say `message`, wait for it to come back, and leave."""
    raise NotImplementedError("replace this line with your code")


STUBS = [
    (nb01.q1, route_for),
    (nb02.q1, room_member_ids),
    (nb03.q1, on_connect),
    (nb04.q1, broadcast),
    (nb05.q1, chat_once),
]


@pytest.mark.parametrize(("exercise", "stub"), STUBS, ids=[s.__name__ for _, s in STUBS])
def test_untouched_stub_is_not_attempted(exercise: Exercise, stub: object) -> None:
    """The stub as shipped reads "not attempted" (and is judged without running anything)."""
    result = exercise.result(stub)
    assert result.status == "not attempted"
    assert "edit the function" in result.message


def _verdict(exercise: Exercise, answer: object) -> Result:
    result = exercise.result(answer)
    print(result)  # shown when a test fails
    return result


# --- nb01: route selection -----------------------------------------------------------------


def test_nb01_reference_is_correct() -> None:
    """The reference route selection passes."""
    assert _verdict(nb01.q1, nb01.q1.reference).correct


def test_nb01_action_without_route_is_incorrect() -> None:
    """Returning the action even when no route has it names the $default rule."""

    def answer(body: str, route_keys: set[str]) -> str:
        try:
            return str(json.loads(body).get("action", "$default"))
        except ValueError:
            return "$default"

    result = _verdict(nb01.q1, answer)
    assert result.status == "incorrect"
    assert 'no route has the key "dance", so API Gateway uses $default' in result.message


def test_nb01_crash_on_a_non_json_frame_is_incorrect() -> None:
    """An answer that raises is reported with the call and the error, not raised."""

    def answer(body: str, route_keys: set[str]) -> str:
        action = json.loads(body).get("action")
        return action if action in route_keys else "$default"

    result = _verdict(nb01.q1, answer)
    assert result.status == "incorrect"
    assert "route_for('hello', route_keys) raised JSONDecodeError" in result.message


# --- nb02: a room through the index, paginated ---------------------------------------------


@pytest.mark.integration
def test_nb02_reference_is_correct() -> None:
    """The reference (ConnectionStore's paginated Query) passes."""
    assert _verdict(nb02.q1, nb02.q1.reference).correct


@pytest.mark.integration
def test_nb02_scan_is_incorrect() -> None:
    """A Scan is refused, whatever it returns."""

    def answer(client: Any, table_name: str, room: str, page_size: int) -> list[str]:
        items = client.scan(TableName=table_name)["Items"]
        return [i["connectionId"]["S"] for i in items if i["roomId"]["S"] == room]

    result = _verdict(nb02.q1, answer)
    assert result.status == "incorrect"
    assert "it sent a Scan" in result.message


@pytest.mark.integration
def test_nb02_first_page_only_is_incorrect() -> None:
    """Reading one page and stopping says how many members were missed and what to follow."""

    def answer(client: Any, table_name: str, room: str, page_size: int) -> list[str]:
        page = client.query(
            TableName=table_name,
            IndexName="byRoom",
            KeyConditionExpression="roomId = :room",
            ExpressionAttributeValues={":room": {"S": room}},
            Limit=page_size,
        )
        return [item["connectionId"]["S"] for item in page["Items"]]

    result = _verdict(nb02.q1, answer)
    assert result.status == "incorrect"
    assert "returned 5 of the room's 23 members" in result.message
    assert "LastEvaluatedKey" in result.message


# --- nb03: $connect ------------------------------------------------------------------------


@pytest.mark.integration
def test_nb03_reference_is_correct() -> None:
    """The reference ``wsrelay.handlers.on_connect`` passes."""
    assert _verdict(nb03.q1, nb03.q1.reference).correct


@pytest.mark.integration
def test_nb03_no_validation_is_incorrect() -> None:
    """Storing every connection, valid or not, is caught on the first bad name."""

    def answer(event: dict[str, Any], deps: Any) -> dict[str, Any]:
        params = event.get("queryStringParameters") or {}
        connection_id = event["requestContext"]["connectionId"]
        deps.store.add(connection_id, params.get("room", "lobby"), params.get("name", "guest"))
        return {"statusCode": 200, "body": "connected"}

    result = _verdict(nb03.q1, answer)
    assert result.status == "incorrect"
    assert "returned statusCode 200, expected 400 (a space is not allowed in a name)" in (
        result.message
    )


# --- nb04: broadcast with 410 clean-up ----------------------------------------------------


@pytest.mark.integration
def test_nb04_reference_is_correct() -> None:
    """The reference (``Broadcaster``) delivers to every live member and removes the ghost."""
    assert _verdict(nb04.q1, nb04.q1.reference).correct


@pytest.mark.integration
def test_nb04_client_error_before_gone_is_incorrect() -> None:
    """The AWS SDK example's except order leaves the stale row; the verdict says why."""
    from botocore.exceptions import ClientError

    def answer(management: Any, store: Any, room: str, payload: str) -> None:
        for member in store.room_members(room):
            try:
                management.post_to_connection(ConnectionId=member.connection_id, Data=payload)
            except ClientError:
                pass
            except management.exceptions.GoneException:  # never reached
                store.remove(member.connection_id)

    result = _verdict(nb04.q1, answer)
    assert result.status == "incorrect"
    assert "the stale connection's row is still in the table" in result.message
    assert "catch GoneException first" in result.message


@pytest.mark.integration
def test_nb04_whole_table_is_incorrect() -> None:
    """Posting to every row of the table reaches another room, and says so."""

    def answer(management: Any, store: Any, room: str, payload: str) -> None:
        for member in store.all_connections():
            try:
                management.post_to_connection(ConnectionId=member.connection_id, Data=payload)
            except management.exceptions.GoneException:
                store.remove(member.connection_id)

    result = _verdict(nb04.q1, answer)
    assert result.status == "incorrect"
    assert "a client in another room received the payload" in result.message


# --- nb05: a client -----------------------------------------------------------------------


@pytest.mark.integration
def test_nb05_reference_is_correct() -> None:
    """The reference client joins, speaks, hears itself and leaves."""
    assert _verdict(nb05.q1, nb05.q1.reference).correct


@pytest.mark.integration
def test_nb05_message_before_joinroom_is_incorrect() -> None:
    """Speaking before joining lands in the lobby, and the verdict says to join first."""
    import websocket

    def answer(url: str, name: str, room: str, message: str) -> None:
        ws = websocket.create_connection(f"{url}?name={name}", timeout=10)
        ws.send(json.dumps({"action": "sendmessage", "message": message}))
        ws.send(json.dumps({"action": "joinroom", "room": room}))
        ws.recv()
        ws.recv()
        ws.close()

    result = _verdict(nb05.q1, answer)
    assert result.status == "incorrect"
    assert "your message reached the lobby" in result.message


@pytest.mark.integration
def test_nb05_connection_left_open_is_incorrect() -> None:
    """A client that never closes its connection is told to close it."""
    import websocket

    kept: list[Any] = []

    def answer(url: str, name: str, room: str, message: str) -> None:
        ws = websocket.create_connection(f"{url}?room={room}&name={name}", timeout=10)
        kept.append(ws)
        ws.send(json.dumps({"action": "sendmessage", "message": message}))
        ws.recv()

    try:
        result = _verdict(nb05.q1, answer)
    finally:
        for ws in kept:
            ws.close()
    assert result.status == "incorrect"
    assert "your connection was still open" in result.message


# --- the framework -------------------------------------------------------------------------


def _checker(answer: Any) -> None:
    if core.call(answer, 2) != 4:
        raise Incorrect("double(2) should be 4")


def _double(x: int) -> int:
    return x * 2


DOUBLE = Exercise(title="double(x)", checker=_checker, hint="multiply by 2", reference=_double)


def test_result_texts() -> None:
    """Verdicts read "correct", "incorrect: …" and "not attempted: …" in plain text."""
    assert str(Result("correct")) == "correct"
    assert repr(Result("incorrect", "why")) == "incorrect: why"
    assert Result("not attempted", "how").__str__() == "not attempted: how"
    assert Result("incorrect", "why")._repr_markdown_() == "❌ **Incorrect**: why"


def test_a_stub_that_touches_nothing_else_is_untouched() -> None:
    """Only a body that names nothing but NotImplementedError counts as the stub."""

    def started(x: int) -> int:
        y = abs(x)
        raise NotImplementedError(y)

    assert core.is_untouched_stub(route_for)
    assert not core.is_untouched_stub(started)
    assert not core.is_untouched_stub(_double)
    assert not core.is_untouched_stub("not a function")


def test_not_implemented_while_running_is_not_attempted() -> None:
    """An attempt that still raises NotImplementedError somewhere reads "not attempted"."""

    def half_done(x: int) -> int:
        if abs(x) > 0:
            raise NotImplementedError
        return 0

    assert DOUBLE.result(half_done).status == "not attempted"


def test_exceptions_and_wrong_values_are_verdicts() -> None:
    """What an answer raises, or a wrong value, becomes "incorrect", never an exception."""

    def crash(x: int) -> int:
        return x // 0

    assert str(DOUBLE.result(crash)) == (
        "incorrect: crash(…) raised ZeroDivisionError: integer division or modulo by zero"
    )
    assert str(DOUBLE.result(lambda x: x + 1)) == "incorrect: double(2) should be 4"
    assert str(DOUBLE.result(42)).startswith("incorrect: pass your function itself")
    assert DOUBLE.result(_double).correct


def test_check_hint_and_solution_print_outside_jupyter(capsys: pytest.CaptureFixture[str]) -> None:
    """Without an IPython kernel, check, hint and solution print plain text."""
    DOUBLE.check(_double)
    DOUBLE.hint()
    DOUBLE.solution()
    out = capsys.readouterr().out
    assert out.startswith("correct\nHint: multiply by 2\nSolution: double(x)\n")
    assert "# tests.test_exercises._double" in out or "# test_exercises._double" in out
    assert "return x * 2" in out


def test_solution_shows_the_package_source(capsys: pytest.CaptureFixture[str]) -> None:
    """``solution()`` shows the package's code itself (inspect.getsource), not a copy."""
    nb04.q1.solution()
    out = capsys.readouterr().out
    assert "# wsrelay.broadcast.Broadcaster.send" in out
    assert "except self.management.exceptions.GoneException:" in out


# --- the environment checks of notebook 00 -------------------------------------------------


def test_environment_is_ready_here() -> None:
    """In the project's own venv, Python, packages and moto pass (the port may be in use)."""
    findings = environment.python_version() + environment.packages() + environment.local_aws()
    assert [str(f) for f in findings if not f.ok] == []
    checked = {f.text for f in environment.packages()}
    assert checked >= {"boto3", "moto", "jupyterlab", "matplotlib"}
    assert "nbval" not in checked  # a test tool (the `ci` extra), not the learner's


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 with a listener on it."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


def test_port_in_use_says_what_to_do(busy_port: int) -> None:
    """A busy port is a problem whose text names both fixes."""
    (finding,) = environment.port_free(busy_port)
    assert not finding.ok
    assert f"port {busy_port} on 127.0.0.1 is in use" in finding.text
    assert "wsrelay serve --port 0" in finding.text
    assert str(finding).startswith("✗ ")


def test_check_environment_lists_problems(
    busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """``check_environment`` prints each problem after a count, and returns False."""
    assert environment.check_environment(busy_port) is False
    out = capsys.readouterr().out
    assert out.startswith("1 thing(s) to fix")
    assert f"✗ port {busy_port}" in out
