"""``wsrelay.exercises``: every checker proven three ways, and the framework around them.

For each notebook's exercise: the untouched stub reads "not attempted", the model answer
passes, and known-wrong answers (the mistakes the notebooks warn about) are "incorrect" with
a message that names the mistake. The stubs here are the notebooks' stubs, word for word
(``test_notebooks.py`` checks that each notebook's stub has its exercise's signature). The
wrong answers of the app's functions use the file's own names, which the checker gives them
(``in_app``); they are imported below only so that this module reads as valid Python.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import websocket

from wsrelay.exercises import (
    core,
    environment,
    nb01,
    nb02,
    nb03,
    nb04,
    nb05,
    nb06,
    nb07,
    nb08,
    nb09,
)
from wsrelay.exercises.chat_app.lambda_function import (
    NAME,
    ROOM_INDEX,
    WORKERS,
    add_connection,
    get_connection,
    remove_stale,
    room_member_ids,
)
from wsrelay.exercises.core import Exercise, Incorrect, Result
from wsrelay.workbook_app import LEARNER_FUNCTIONS, ChatApp

# --- the notebooks' stubs ------------------------------------------------------------------


def add_route(apigw, api_id, route_key, integration_id):
    """Give the API the route `route_key` to the integration; return its RouteId."""
    raise NotImplementedError("replace this line with your code")


def move_connection_stub(deps, connection_id, room):
    """Move the connection to `room`; False when its row is gone (it is not recreated)."""
    raise NotImplementedError("replace this line with your code")


def room_member_ids_stub(deps, room, page_size=None):
    """Every live connection id in `room`: a Query of the byRoom index, page after page."""
    raise NotImplementedError("replace this line with your code")


def on_connect(event, deps):
    """$connect: check ?room= and &name=, store the connection; 400 refuses the handshake."""
    raise NotImplementedError("replace this line with your code")


def on_sendmessage(event, deps):
    """sendmessage: broadcast a message frame to everyone in the sender's room."""
    raise NotImplementedError("replace this line with your code")


def remove_stale_stub(deps, connection_id):
    """Delete the row of a connection that answered 410, unless it connected very recently."""
    raise NotImplementedError("replace this line with your code")


def broadcast(deps, room, frame):
    """Post `frame` to every member of `room`, 16 at a time; return how many got it."""
    raise NotImplementedError("replace this line with your code")


def chat_once(url, name, room, message):
    """Join `room` as `name`, say `message`, wait for it to come back, and leave."""
    raise NotImplementedError("replace this line with your code")


# Named test_… in the notebook; not here, where pytest would collect it.
def gone_member_stub(wsrelay_gateway, app):
    """Serve `app`; a post that answers 410 must delete the gone member's row, no other."""
    raise NotImplementedError("replace this line with your code")


def plan_fanout(members, page_size, seconds_per_post):
    """How many invocations one message takes, and how long the longest one posts."""
    raise NotImplementedError("replace this line with your code")


def shards_needed(writes_per_second, reads_per_second):
    """Shards a room key needs so no index partition passes 1,000 WCU or 3,000 RCU a second."""
    raise NotImplementedError("replace this line with your code")


def connect_policy(event, name, allowed):
    """The authorizer's answer: allow (or deny) this $connect, and pass `name` on."""
    raise NotImplementedError("replace this line with your code")


STUBS = [
    (nb01.q1, add_route),
    (nb02.q1, move_connection_stub),
    (nb02.q2, room_member_ids_stub),
    (nb03.q1, on_connect),
    (nb03.q2, on_sendmessage),
    (nb04.q1, remove_stale_stub),
    (nb04.q2, broadcast),
    (nb05.q2, chat_once),
    (nb07.q1, gone_member_stub),
    (nb08.q1, plan_fanout),
    (nb08.q2, shards_needed),
    (nb09.q1, connect_policy),
]
#: Every exercise whose answer is a function, with the reference it is proven against.
FUNCTION_EXERCISES = [exercise for exercise, _ in STUBS]


@pytest.mark.parametrize(("exercise", "stub"), STUBS, ids=[e.title for e, _ in STUBS])
def test_untouched_stub_is_not_attempted(exercise: Exercise, stub: object) -> None:
    """The stub as shipped reads "not attempted" (and is judged without running anything)."""
    result = exercise.result(stub)
    assert result.status == "not attempted"
    assert "edit the function" in result.message


def _verdict(exercise: Exercise, answer: object) -> Result:
    result = exercise.result(answer)
    print(result)  # shown when a test fails
    return result


def _incorrect(exercise: Exercise, answer: object, *expected: str) -> None:
    result = _verdict(exercise, answer)
    assert result.status == "incorrect"
    for text in expected:
        assert text in result.message


@pytest.mark.integration
@pytest.mark.parametrize("exercise", FUNCTION_EXERCISES, ids=lambda e: e.title)
def test_model_answer_is_correct(exercise: Exercise) -> None:
    """Each exercise's model answer passes its own checker."""
    assert _verdict(exercise, exercise.reference).correct


@pytest.mark.integration
@pytest.mark.parametrize(
    "exercise",
    [nb01.q1, nb05.q2, nb06.q1, nb06.q2, nb08.q1, nb08.q2, nb09.q1],
    ids=lambda e: e.title,
)
def test_model_answer_runs_as_a_notebook_cell(exercise: Exercise) -> None:
    """The model answer as shown (and as ``wsrelay workbook solve`` writes it) needs nothing
    from its module: defined in an empty namespace, as in a fresh cell, it passes."""
    namespace: dict[str, Any] = {}
    exec(exercise.model_answer(), namespace)
    assert _verdict(exercise, namespace[exercise.reference.__name__]).correct


# --- nb01: a route, added with boto3 -------------------------------------------------------


@pytest.mark.integration
def test_nb01_route_without_target_is_incorrect() -> None:
    """A route with no Target goes nowhere, and the verdict names the Target to set."""

    def answer(apigw, api_id, route_key, integration_id):
        return apigw.create_route(ApiId=api_id, RouteKey=route_key)["RouteId"]

    _incorrect(nb01.q1, answer, "has no Target", "integrations/")


@pytest.mark.integration
def test_nb01_duplicate_route_is_incorrect() -> None:
    """Creating without looking first makes a second route, which AWS refuses."""

    def answer(apigw, api_id, route_key, integration_id):
        target = f"integrations/{integration_id}"
        return apigw.create_route(ApiId=api_id, RouteKey=route_key, Target=target)["RouteId"]

    _incorrect(nb01.q1, answer, "made two 'typing' routes", "ConflictException")


# --- nb02: a conditional write and a paginated, filtered Query ---------------------------


@pytest.mark.integration
def test_nb02_put_item_that_replaces_the_row_is_incorrect() -> None:
    """Writing a whole new item loses the name and times, and says to update one attribute."""

    def answer(deps, connection_id, room):
        deps.dynamodb.put_item(
            TableName=deps.table,
            Item={"connectionId": {"S": connection_id}, "roomId": {"S": room}},
        )
        return True

    _incorrect(nb02.q1, answer, "it replaced Ada's row", "SET roomId = :room")


@pytest.mark.integration
def test_nb02_unconditional_update_is_incorrect() -> None:
    """An update without a condition brings a gone connection back, and says which condition."""

    def answer(deps, connection_id, room):
        deps.dynamodb.update_item(
            TableName=deps.table,
            Key={"connectionId": {"S": connection_id}},
            UpdateExpression="SET roomId = :room",
            ExpressionAttributeValues={":room": {"S": room}},
        )
        return True

    _incorrect(nb02.q1, answer, "created a row for a connection that has gone", "attribute_exists")


@pytest.mark.integration
def test_nb02_read_then_write_is_incorrect() -> None:
    """Checking with a read first is a race, and the verdict says to put the check on the write."""

    def answer(deps, connection_id, room):
        if get_connection(deps, connection_id) is None:
            return False
        deps.dynamodb.update_item(
            TableName=deps.table,
            Key={"connectionId": {"S": connection_id}},
            UpdateExpression="SET roomId = :room",
            ExpressionAttributeValues={":room": {"S": room}},
        )
        return True

    _incorrect(nb02.q1, answer, "it checks for the row with a read, then writes")


@pytest.mark.integration
def test_nb02_uncaught_condition_is_incorrect() -> None:
    """A conditional update that lets ConditionalCheckFailedException escape is told to catch it."""

    def answer(deps, connection_id, room):
        deps.dynamodb.update_item(
            TableName=deps.table,
            Key={"connectionId": {"S": connection_id}},
            UpdateExpression="SET roomId = :room",
            ConditionExpression="attribute_exists(connectionId)",
            ExpressionAttributeValues={":room": {"S": room}},
        )
        return True

    _incorrect(nb02.q1, answer, "raised ConditionalCheckFailedException")


@pytest.mark.integration
def test_nb02_scan_is_incorrect() -> None:
    """A Scan is refused, whatever it returns."""

    def answer(deps, room, page_size=None):
        items = deps.dynamodb.scan(TableName=deps.table)["Items"]
        return [i["connectionId"]["S"] for i in items if i["roomId"]["S"] == room]

    _incorrect(nb02.q2, answer, "it sent a Scan")


@pytest.mark.integration
def test_nb02_first_page_only_is_incorrect() -> None:
    """Reading one page and stopping says how many members were missed and what to follow."""

    def answer(deps, room, page_size=None):
        page = deps.dynamodb.query(
            TableName=deps.table,
            IndexName=ROOM_INDEX,
            KeyConditionExpression="roomId = :room",
            FilterExpression="expiresAt > :now",
            ExpressionAttributeValues={":room": {"S": room}, ":now": {"N": str(int(deps.now()))}},
            Limit=page_size,
        )
        return [item["connectionId"]["S"] for item in page["Items"]]

    _incorrect(nb02.q2, answer, "of the room's 23 live members", "LastEvaluatedKey")


@pytest.mark.integration
def test_nb02_expired_rows_are_incorrect() -> None:
    """Returning rows whose expiresAt has passed names TTL's delay and the filter to add."""

    def answer(deps, room, page_size=None):
        request = {
            "TableName": deps.table,
            "IndexName": ROOM_INDEX,
            "KeyConditionExpression": "roomId = :room",
            "ExpressionAttributeValues": {":room": {"S": room}},
        }
        if page_size:
            request["Limit"] = page_size
        ids = []
        while True:
            page = deps.dynamodb.query(**request)
            ids += [item["connectionId"]["S"] for item in page["Items"]]
            if "LastEvaluatedKey" not in page:
                return ids
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    _incorrect(nb02.q2, answer, "3 rows whose expiresAt has passed", "expiresAt > :now")


# --- nb03: $connect and sendmessage --------------------------------------------------------


@pytest.mark.integration
def test_nb03_no_validation_is_incorrect() -> None:
    """Storing every connection, valid or not, is caught on the first bad name."""

    def answer(event, deps):
        query = event.get("queryStringParameters") or {}
        connection_id = event["requestContext"]["connectionId"]
        add_connection(deps, connection_id, query.get("room", "lobby"), query.get("name", "guest"))
        return {"statusCode": 200, "body": "connected"}

    _incorrect(
        nb03.q1, answer, "returned statusCode 200, expected 400 (a space is not allowed in a name)"
    )


@pytest.mark.integration
def test_nb03_row_without_ttl_is_incorrect() -> None:
    """A row written by hand, without expiresAt, is told to use add_connection (the TTL)."""

    def answer(event, deps):
        query = event.get("queryStringParameters") or {}
        connection_id = event["requestContext"]["connectionId"]
        room = query.get("room", "lobby")
        name = query.get("name", "guest-" + connection_id[:4])
        if not (NAME.fullmatch(room) and NAME.fullmatch(name)):
            return {"statusCode": 400, "body": "bad room or name"}
        item = {
            "connectionId": {"S": connection_id},
            "roomId": {"S": room},
            "userName": {"S": name},
        }
        deps.dynamodb.put_item(TableName=deps.table, Item=item)
        return {"statusCode": 200, "body": "connected"}

    _incorrect(nb03.q1, answer, "without the right expiresAt (the TTL)", "add_connection")


@pytest.mark.integration
def test_nb03_broadcast_to_the_lobby_is_incorrect() -> None:
    """Broadcasting to a fixed room instead of the sender's reaches the wrong people."""

    def answer(event, deps):
        connection_id = event["requestContext"]["connectionId"]
        message = json.loads(event["body"]).get("message")
        sender = get_connection(deps, connection_id) or {"room": "lobby", "name": "?"}
        frame = json.dumps({"type": "message", "room": "garden", "message": message})
        broadcast(deps, "garden", frame)
        return {"statusCode": 200, "body": sender["name"]}

    _incorrect(nb03.q2, answer, "Cy, in the garden, received it")


@pytest.mark.integration
def test_nb03_no_error_frame_is_incorrect() -> None:
    """A frame without text that gets no error frame back is told to tell the sender."""

    def answer(event, deps):
        connection_id = event["requestContext"]["connectionId"]
        message = json.loads(event["body"]).get("message")
        sender = get_connection(deps, connection_id)
        if sender is None or not message:
            return {"statusCode": 400, "body": "no"}
        frame = json.dumps(
            {
                "type": "message",
                "room": sender["room"],
                "sender": sender["name"],
                "connectionId": connection_id,
                "message": message,
                "sentAt": int(deps.now() * 1000),
            }
        )
        broadcast(deps, sender["room"], frame)
        return {"statusCode": 200, "body": "sent"}

    _incorrect(nb03.q2, answer, "the sender got no error frame", "tell(deps, event, why)")


# --- nb04: the careful delete and the broadcast --------------------------------------------


@pytest.mark.integration
def test_nb04_unconditional_delete_is_incorrect() -> None:
    """Deleting every row that answered 410 removes a newcomer's, and says why not."""

    def answer(deps, connection_id):
        deps.dynamodb.delete_item(TableName=deps.table, Key={"connectionId": {"S": connection_id}})
        return True

    _incorrect(nb04.q1, answer, "connected 5 s ago", "STALE_GRACE_SECONDS")


@pytest.mark.integration
def test_nb04_read_then_delete_is_incorrect() -> None:
    """Checking the age with a read, then deleting, is a race: put the condition on the delete."""

    def answer(deps, connection_id):
        item = deps.dynamodb.get_item(
            TableName=deps.table, Key={"connectionId": {"S": connection_id}}
        ).get("Item")
        if item is None or int(item["connectedAt"]["N"]) > (deps.now() - 30) * 1000:
            return False
        deps.dynamodb.delete_item(TableName=deps.table, Key={"connectionId": {"S": connection_id}})
        return True

    _incorrect(nb04.q1, answer, "it reads the row, then deletes it", "ConditionExpression")


@pytest.mark.integration
def test_nb04_client_error_before_gone_is_incorrect() -> None:
    """The AWS SDK example's except order leaves the stale row; the verdict says why."""

    def answer(deps, room, frame):
        from botocore.exceptions import ClientError  # the file does not import it

        delivered = 0
        for connection_id in room_member_ids(deps, room):
            try:
                deps.management.post_to_connection(ConnectionId=connection_id, Data=frame)
                delivered += 1
            except ClientError:
                pass
            except deps.management.exceptions.GoneException:  # never reached
                remove_stale(deps, connection_id)
        return delivered

    _incorrect(nb04.q2, answer, "the stale connection's row is still", "catch GoneException first")


@pytest.mark.integration
def test_nb04_plain_delete_on_410_is_incorrect() -> None:
    """Deleting on 410 without the grace removes the newcomer's row, and says to use remove_stale."""

    def answer(deps, room, frame):
        def post(connection_id):
            try:
                deps.management.post_to_connection(ConnectionId=connection_id, Data=frame)
                return True
            except deps.management.exceptions.GoneException:
                key = {"connectionId": {"S": connection_id}}
                deps.dynamodb.delete_item(TableName=deps.table, Key=key)
                return False

        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            return sum(pool.map(post, room_member_ids(deps, room)))

    _incorrect(nb04.q2, answer, "connected 5 s ago was deleted", "remove_stale")


@pytest.mark.integration
def test_nb04_one_post_at_a_time_is_incorrect() -> None:
    """A sequential loop (the AWS SDK for Python example's) is told to post concurrently."""

    def answer(deps, room, frame):
        delivered = 0
        for connection_id in room_member_ids(deps, room):
            try:
                deps.management.post_to_connection(ConnectionId=connection_id, Data=frame)
                delivered += 1
            except deps.management.exceptions.GoneException:
                remove_stale(deps, connection_id)
        return delivered

    _incorrect(nb04.q2, answer, "one after another", "ThreadPoolExecutor")


@pytest.mark.integration
def test_nb04_a_thread_per_member_is_incorrect() -> None:
    """One thread per member (the JavaScript sample's Promise.all) is told to bound it."""

    def answer(deps, room, frame):
        import threading

        delivered = []

        def post(connection_id):
            try:
                deps.management.post_to_connection(ConnectionId=connection_id, Data=frame)
                delivered.append(connection_id)
            except deps.management.exceptions.GoneException:
                remove_stale(deps, connection_id)

        threads = [threading.Thread(target=post, args=(c,)) for c in room_member_ids(deps, room)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return len(delivered)

    _incorrect(nb04.q2, answer, "posts in flight at once", "Promise.all")


# --- nb09: the authorizer's answer ----------------------------------------------------------


def _policy(effect: str, resource: Any, context: Any = None, name: str = "ada") -> dict[str, Any]:
    statement = {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
    answer: dict[str, Any] = {
        "principalId": name,
        "policyDocument": {"Version": "2012-10-17", "Statement": [statement]},
    }
    if context is not None:
        answer["context"] = context
    return answer


def test_nb09_allow_everything_is_incorrect() -> None:
    """Resource "*": it works for this request, but allows every API and stage."""

    def answer(event: Any, name: str, allowed: bool) -> Any:
        return _policy("Allow" if allowed else "Deny", "*", {"name": name}, name)

    _incorrect(nb09.q1, answer, "also allows $connect on the same API's other stage")


def test_nb09_always_allow_is_incorrect() -> None:
    def answer(event: Any, name: str, allowed: bool) -> Any:
        return _policy("Allow", event["methodArn"], {"name": name}, name)

    _incorrect(nb09.q1, answer, "lets mallory in", '"Deny"')


def test_nb09_arn_written_by_hand_is_incorrect() -> None:
    """The route key without its "$", and the ARN not taken from the event."""

    def answer(event: Any, name: str, allowed: bool) -> Any:
        arn = "arn:aws:execute-api:eu-west-1:111122223333:a1b2c3d4e5/dev/connect"
        return _policy("Allow" if allowed else "Deny", arn, {"name": name}, name)

    _incorrect(nb09.q1, answer, "ada is refused with 403", "methodArn")


def test_nb09_nested_context_is_incorrect() -> None:
    def answer(event: Any, name: str, allowed: bool) -> Any:
        effect = "Allow" if allowed else "Deny"
        return _policy(effect, event["methodArn"], {"user": {"name": name}}, name)

    _incorrect(nb09.q1, answer, "would answer 500", "string, a number or a boolean")


def test_nb09_no_name_in_the_context_is_incorrect() -> None:
    def answer(event: Any, name: str, allowed: bool) -> Any:
        return _policy("Allow" if allowed else "Deny", event["methodArn"], None, name)

    _incorrect(nb09.q1, answer, "requestContext.authorizer.name", '{"name": name}')


def test_nb09_raising_unauthorized_for_a_deny_is_incorrect() -> None:
    def answer(event: Any, name: str, allowed: bool) -> Any:
        if not allowed:
            raise Exception("Unauthorized")
        return _policy("Allow", event["methodArn"], {"name": name}, name)

    _incorrect(nb09.q1, answer, "That is a 401", "403")


# --- nb05: the app, served; a client -------------------------------------------------------


@pytest.fixture
def app(tmp_path: Path) -> ChatApp:
    """A new app (every learner function a stub) in a folder of the test's own."""
    return ChatApp(tmp_path / "chat_app")


def test_nb05_app_with_stubs_is_not_attempted(app: ChatApp) -> None:
    """An app whose functions are still stubs reads "not attempted" and names them."""
    result = nb05.q1.result(app)
    assert result.status == "not attempted"
    assert "still has stubs: room_member_ids, move_connection" in result.message
    assert "catch-up cell" in result.message


@pytest.mark.integration
def test_nb05_model_app_is_correct(app: ChatApp) -> None:
    """The model answer's file, served from its template, passes every step."""
    nb05.q1.reference(app)
    assert app.stubs() == []
    assert _verdict(nb05.q1, app).correct


@pytest.mark.integration
def test_nb05_broken_broadcast_is_incorrect(app: ChatApp) -> None:
    """A sendmessage that broadcasts nowhere is caught by what a client (did not) receive."""
    app.use_model_answer(*LEARNER_FUNCTIONS)
    source = app.source("on_sendmessage").replace(
        'delivered = broadcast(deps, sender["room"], frame)', "delivered = 0"
    )
    assert "delivered = 0" in source
    app._put("on_sendmessage", source)
    _incorrect(nb05.q1, app, "Ada said 'hi, lobby' and ada, in the lobby, received []")


@pytest.mark.integration
def test_nb05_crashing_function_names_the_error(app: ChatApp) -> None:
    """A function that raises is reported with the error the gateway logged."""
    app.use_model_answer(*LEARNER_FUNCTIONS)
    app._put(
        "on_connect", 'def on_connect(event, deps):\n    raise KeyError("queryStringParameters")\n'
    )
    result = _verdict(nb05.q1, app)
    assert result.status == "incorrect"
    assert "the function raised" in result.message
    assert "KeyError" in result.message


def test_nb05_something_else_than_an_app_is_incorrect() -> None:
    """Passing a function (or anything but the app) says what to pass."""
    assert str(nb05.q1.result(_double)).startswith("incorrect: pass your app")


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

    _incorrect(nb05.q2, answer, "your message reached the lobby")


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
        result = _verdict(nb05.q2, answer)
    finally:
        for ws in kept:
            ws.close()
    assert result.status == "incorrect"
    assert "your connection was still open" in result.message


# --- nb07: a pytest test that catches a published bug ------------------------------------


@pytest.mark.integration
def test_nb07_a_test_that_cannot_fail_is_incorrect() -> None:
    """A test that serves the app and asserts nothing passes on every app, and is told so."""

    def test_gone(wsrelay_gateway, app):
        gw = wsrelay_gateway(template=app)
        ws = websocket.create_connection(gw.url, timeout=10)
        ws.close()

    _incorrect(nb07.q1, test_gone, "passed on every app", "cannot fail")


@pytest.mark.integration
def test_nb07_checking_only_the_sender_is_incorrect() -> None:
    """Asserting only that the sender keeps its row misses the dead except, and says so."""

    def test_sender_kept(wsrelay_gateway, app):
        gw = wsrelay_gateway(template=app)
        table = gw.resources["ConnectionsTable"]
        dynamodb = gw.dynamodb_client()
        ada = websocket.create_connection(gw.url, timeout=10)
        try:
            (mine,) = gw.connection_ids()
            dynamodb.put_item(TableName=table, Item={"connectionId": {"S": "Gh0stC0nnecti0n="}})
            ada.send(json.dumps({"action": "sendmessage", "data": "hi"}))
            assert ada.recv() == "hi"
            assert ada.recv() == "Data sent."
            key = {"connectionId": {"S": mine}}
            assert "Item" in dynamodb.get_item(TableName=table, Key=key)
        finally:
            ada.close()

    _incorrect(nb07.q1, test_sender_kept, "passed on dead_except", "except ClientError")


@pytest.mark.integration
def test_nb07_a_test_that_fails_on_the_fixed_app_is_incorrect() -> None:
    """Expecting the gone member's row to stay fails on the correct app, and says so."""

    def test_ghost_kept(wsrelay_gateway, app):
        gw = wsrelay_gateway(template=app)
        table = gw.resources["ConnectionsTable"]
        dynamodb = gw.dynamodb_client()
        ada = websocket.create_connection(gw.url, timeout=10)
        try:
            dynamodb.put_item(TableName=table, Item={"connectionId": {"S": "Gh0stC0nnecti0n="}})
            ada.send(json.dumps({"action": "sendmessage", "data": "hi"}))
            assert ada.recv() == "hi"
            assert ada.recv() == "Data sent."
            assert len(dynamodb.scan(TableName=table)["Items"]) == 2, "Ada's and the ghost's"
        finally:
            ada.close()

    _incorrect(nb07.q1, test_ghost_kept, "failed on the fixed app", "Ada's and the ghost's")


def test_nb07_a_test_without_app_is_incorrect() -> None:
    """A test that serves a template of its own cannot be run against the buggy apps."""

    def test_mine(wsrelay_gateway):
        wsrelay_gateway(template="template.yaml")

    _incorrect(nb07.q1, test_mine, "does not take `app`")


def test_nb07_a_function_pytest_does_not_collect_is_incorrect() -> None:
    """A function whose name does not start with test would never run."""

    def gone_member(wsrelay_gateway, app):
        wsrelay_gateway(template=app)

    _incorrect(nb07.q1, gone_member, "start with test")


def test_nb07_apps_differ_from_the_fixed_one_by_their_bug_only() -> None:
    """The buggy apps are the fixed app with one change each: the same template, and
    app.py's code (docstring aside) differs only in the 410 branch."""
    import difflib

    fixed = nb07.APPS / nb07.FIXED
    for bug in nb07.BUGS:
        buggy = nb07.APPS / bug
        assert (buggy / "template.yaml").read_text() == (fixed / "template.yaml").read_text()
        ours, theirs = ((app / "app.py").read_text().split('"""', 2)[2] for app in (fixed, buggy))
        changed = [
            line
            for line in difflib.unified_diff(ours.splitlines(), theirs.splitlines(), n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))
        ]
        assert 0 < len(changed) <= 4, changed
        assert all(
            "BUG" in line or "except" in line or "delete_item" in line or "logger" in line
            for line in changed
        ), changed


# --- nb08: the arithmetic of a big room ---------------------------------------------------


def test_nb08_floor_division_loses_the_last_page() -> None:
    """``members // page_size`` drops the last, partial page, and the verdict says to round up."""

    def answer(members, page_size, seconds_per_post):
        return max(1, members // page_size), min(members, page_size) * seconds_per_post

    _incorrect(nb08.q1, answer, "the last, partial page needs an invocation too", "math.ceil")


def test_nb08_counting_only_the_fanout_invocations_is_incorrect() -> None:
    """Forgetting the sender's own invocation is named as such."""
    import math

    def answer(members, page_size, seconds_per_post):
        return math.ceil(members / page_size) - 1, min(members, page_size) * seconds_per_post

    _incorrect(nb08.q1, answer, "count the sender's own invocation too")


def test_nb08_a_full_page_for_a_small_room_is_incorrect() -> None:
    """A room smaller than a page is posted whole, not in a page's time."""
    import math

    def answer(members, page_size, seconds_per_post):
        return max(1, math.ceil(members / page_size)), page_size * seconds_per_post

    _incorrect(nb08.q1, answer, "a full page's time", "at most the members there are")


def test_nb08_the_whole_room_in_one_invocation_is_incorrect() -> None:
    """Timing the room as one invocation misses the point of the split."""
    import math

    def answer(members, page_size, seconds_per_post):
        return max(1, math.ceil(members / page_size)), members * seconds_per_post

    _incorrect(nb08.q1, answer, "the whole room posted by one invocation")


def test_nb08_shards_summed_or_rounded_are_incorrect() -> None:
    """Adding the write shards to the read shards, or Python's round(), are named."""
    import math

    def summed(writes_per_second, reads_per_second):
        return max(1, math.ceil(writes_per_second / 1000) + math.ceil(reads_per_second / 3000))

    def rounded(writes_per_second, reads_per_second):
        return max(1, round(writes_per_second / 1000), round(reads_per_second / 3000))

    _incorrect(nb08.q2, summed, "the larger need is enough")
    _incorrect(nb08.q2, rounded, "Round up (math.ceil)")


# --- the framework -------------------------------------------------------------------------


def _checker(answer: Any) -> None:
    if core.call(answer, 2) != 4:
        raise Incorrect("double(2) should be 4")


def _double(x: int) -> int:
    """Twice ``x``."""
    return x * 2  # the whole point


DOUBLE = Exercise(
    title="double(x)",
    checker=_checker,
    hints=("multiply", "`x * …`", "shape: return x times two"),
    reference=_double,
)


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

    assert core.is_untouched_stub(add_route)
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


def test_an_app_function_sees_the_files_names_not_the_notebooks() -> None:
    """An in-app answer runs with the model file's globals: a name the file lacks fails the
    check (as it would in Lambda), with advice to import it inside the function."""

    def answer(deps, connection_id, room):
        return uses_a_notebook_helper(deps, connection_id, room)  # noqa: F821

    result = _verdict(nb02.q1, answer)
    assert result.status == "incorrect"
    assert "NameError: name 'uses_a_notebook_helper' is not defined" in result.message
    assert "sees only the file's own names" in result.message


def test_check_hint_and_solution_print_outside_jupyter(capsys: pytest.CaptureFixture[str]) -> None:
    """Without an IPython kernel, check, each hint and the model answer print in full."""
    DOUBLE.check(_double)
    DOUBLE.hint()
    DOUBLE.hint(3)
    DOUBLE.hint(4)
    DOUBLE.solution()
    out = capsys.readouterr().out
    assert out.startswith(
        "correct\nHint 1 of 3: multiply\nHint 3 of 3: shape: return x times two\n"
        "there are 3 hints: hint(1) to hint(3)\nModel answer: double(x)\n\n"
    )
    assert "def _double(x):\n" in out  # the learner's def line: no type hints
    assert '    """Twice ``x``."""\n    return x * 2  # the whole point' in out


def test_hints_and_answers_are_folded_in_jupyter() -> None:
    """In Jupyter a hint or model answer is an HTML <details>, closed; its plain-text form
    is the summary alone, so no representation shows the text before it is opened."""
    hint = core._Folded(
        "💡 Hint 1 of 3", "Hint 1 of 3: read `pages`", "<p>read <code>pages</code></p>"
    )
    html = hint._repr_html_()
    assert html.startswith('<details class="wsrelay-exercise"><summary>💡 Hint 1 of 3</summary>')
    assert " open" not in html.split(">", 1)[0]
    assert "read <code>pages</code>" in html
    assert "pages" not in repr(hint)
    assert core.inline_html("use `a < b` and **not** <script>") == (
        "use <code>a &lt; b</code> and <strong>not</strong> &lt;script&gt;"
    )


def test_model_answers_have_the_stubs_signature() -> None:
    """A model answer is shown with its stub's def line (no annotations), body unchanged."""
    shown = nb01.q1.model_answer()
    assert shown.startswith("def add_route(apigw, api_id, route_key, integration_id):\n")
    assert "# there already: AWS refuses a duplicate key" in shown
    assert nb02.q2.model_answer().startswith("def room_member_ids(deps, room, page_size=None):")


@pytest.mark.parametrize("exercise", [*FUNCTION_EXERCISES, nb05.q1], ids=lambda e: e.title)
def test_hints_build_up_and_never_give_the_code(exercise: Exercise) -> None:
    """Three hints (idea, API, shape); a hint may name a call, never reproduce the code: at
    most one short line of the model answer appears in a hint."""
    assert len(exercise.hints) == 3
    body = exercise.model_answer().splitlines()[1:]
    lines = {line.strip() for line in body if len(line.strip()) > 20}
    lines -= {line for line in lines if line.startswith(('"""', "#"))}
    for hint in exercise.hints:
        leaked = [line for line in lines if line in hint]
        assert len(leaked) <= 1, f"hint gives the code away: {leaked}"
        assert all(len(line) < 50 for line in leaked), f"hint gives the code away: {leaked}"


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
