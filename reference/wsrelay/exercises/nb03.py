"""Exercises of ``03_lambda-handlers``: two route functions of your app.

- ``q1``: ``on_connect(event, deps)``: read ``room`` (default ``lobby``) and ``name`` (default:
  a generated one) from the connect URL's query string; if either is not 1-64 characters of
  ``A-Za-z0-9_-`` return ``{"statusCode": 400, ...}`` (API Gateway then refuses the handshake
  with HTTP 400) and store nothing; otherwise store the connection with ``add_connection``
  and return ``{"statusCode": 200, ...}``.
- ``q2``: ``on_sendmessage(event, deps)``: look the sender up, build the ``message`` frame and
  broadcast it to the sender's room; a frame without text, or a sender with no row, gets an
  ``error`` frame back (``tell``) and nothing is broadcast.

Both run with the model answer's file as their globals (``in_app``), so ``add_connection``,
``get_connection``, ``broadcast`` and ``tell`` are the file's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wsrelay.exercises import _fixtures
from wsrelay.exercises.core import Exercise, Incorrect, call
from wsrelay.workbook_app import model_module

__all__ = ["CASES", "q1", "q2"]

API: dict[str, Any] = {
    "domain_name": "abcdef1234.execute-api.us-east-1.amazonaws.com",
    "stage": "dev",
    "api_id": "abcdef1234",
}

#: (query parameters, expected status, expected (room, name) or None for no row, why)
CASES: tuple[tuple[Sequence[tuple[str, str]], int, tuple[str, str | None] | None, str], ...] = (
    ((("room", "garden"), ("name", "ada")), 200, ("garden", "ada"), "a valid room and name"),
    ((("name", "bob"),), 200, ("lobby", "bob"), "no room: the room defaults to lobby"),
    ((), 200, ("lobby", None), "no query string: room lobby and a generated name"),
    ((("room", "lobby"), ("name", "bad name")), 400, None, "a space is not allowed in a name"),
    ((("room", "x" * 65), ("name", "carl")), 400, None, "a room may have at most 64 characters"),
    ((("room", "r!"), ("name", "dora")), 400, None, "'!' is not allowed in a room"),
    ((("room", "lobby"), ("name", "")), 400, None, "an empty name is not a name"),
)


def _connect_event(connection_id: str, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    from wsrelay.events import build_connect_event

    return build_connect_event(
        connection_id=connection_id,
        request_id=connection_id,
        connected_at=int(_fixtures.FIXED_CLOCK * 1000),
        query=query,
        **API,
    )


def _message_event(connection_id: str, route: str, body: str) -> dict[str, Any]:
    from wsrelay.events import build_message_event

    return build_message_event(
        route_key=route,
        body=body,
        connection_id=connection_id,
        request_id=connection_id,
        message_id=connection_id,
        connected_at=int(_fixtures.FIXED_CLOCK * 1000),
        request_time_epoch=int(_fixtures.FIXED_CLOCK * 1000),
        **API,
    )


def _query_text(query: Sequence[tuple[str, str]]) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in query) if query else "(no query string)"


def _check_connect(answer: Callable[[Mapping[str, Any], Any], object]) -> None:
    with _fixtures.moto_store("nb03") as (_, store):
        deps = _fixtures.app_deps(store, now=_fixtures.FIXED_CLOCK)
        connection_ids = _fixtures.ids(len(CASES), seed=3)
        for connection_id, (query, status, row, why) in zip(connection_ids, CASES, strict=True):
            where = f"on_connect(<$connect event for {_query_text(query)}>, deps)"
            response = call(answer, _connect_event(connection_id, query), deps, what=where)
            if not isinstance(response, Mapping) or not isinstance(response.get("statusCode"), int):
                raise Incorrect(
                    f"{where} returned {response!r}: return a dict such as "
                    '{"statusCode": 200, "body": "connected"}'
                )
            stored = store.get(connection_id)
            if response["statusCode"] != status:
                raise Incorrect(
                    f"{where} returned statusCode {response['statusCode']}, expected {status} "
                    f"({why})"
                )
            if row is None and stored is not None:
                raise Incorrect(f"{where} refused the connection but stored a row: store nothing")
            if row is None:
                continue
            if stored is None:
                raise Incorrect(
                    f"{where} stored no row: call add_connection(deps, connection_id, room, name)"
                )
            room, name = row
            if stored.room != room:
                raise Incorrect(f"{where} stored room {stored.room!r}, expected {room!r} ({why})")
            if name is not None and stored.user_name != name:
                raise Incorrect(
                    f"{where} stored name {stored.user_name!r}, expected {name!r} ({why})"
                )
            if name is None and not model_module().NAME.fullmatch(stored.user_name):
                raise Incorrect(
                    f"{where} stored the name {stored.user_name!r}: without a name in the "
                    "query, make up a valid one (such as 'guest-' and a few letters of the id)"
                )
            if stored.expires_at != int(_fixtures.FIXED_CLOCK) + model_module().TTL_SECONDS:
                raise Incorrect(
                    f"{where} stored a row without the right expiresAt (the TTL): store it with "
                    "add_connection(deps, connection_id, room, name), which sets connectedAt "
                    "and expiresAt"
                )


def _check_send(answer: Callable[[Mapping[str, Any], Any], object]) -> None:
    from wsrelay.workbook import record_posts

    with _fixtures.moto_store("nb03-send") as (aws, store):
        # moto's @connections API accepts every post and keeps it: a recorder.
        management = aws.client("apigatewaymanagementapi")
        posts = record_posts(management)
        deps = _fixtures.app_deps(store, management, now=_fixtures.FIXED_CLOCK)
        ada, bob, cy, ghost = _fixtures.ids(4, seed=33)
        names = {ada: "ada", bob: "bob", cy: "cy", ghost: "someone with no row"}
        store.add(ada, "lobby", "ada")
        store.add(bob, "lobby", "bob")
        store.add(cy, "garden", "cy")
        said = json.dumps({"action": "sendmessage", "message": "hello, lobby"})
        where = "on_sendmessage(<ada says 'hello, lobby'>, deps)"
        response = call(answer, _message_event(ada, "sendmessage", said), deps, what=where)
        delivered = {names[p.connection_id]: p.data for p in posts}
        _judge_broadcast(where, response, delivered, ada)
        for who, body, what in (
            (bob, json.dumps({"action": "sendmessage"}), "a sendmessage frame without a message"),
            (ghost, said, "a sender whose row is gone"),
        ):
            posts.clear()
            where = f"on_sendmessage(<{what}>, deps)"
            response = call(answer, _message_event(who, "sendmessage", body), deps, what=where)
            _judge_refusal(
                where, response, [(names[p.connection_id], p.data) for p in posts], names[who]
            )


def _judge_broadcast(where: str, response: object, delivered: dict[str, str], ada: str) -> None:
    if not delivered:
        raise Incorrect(
            f"after {where} nobody received anything: build the message frame and "
            "broadcast(deps, room, frame) to the sender's room"
        )
    if "cy" in delivered:
        raise Incorrect(
            f"after {where} Cy, in the garden, received it: broadcast to the sender's own "
            "room, from get_connection(deps, connection_id)"
        )
    if set(delivered) != {"ada", "bob"}:
        raise Incorrect(
            f"after {where} only {sorted(delivered)} received it: everyone in the lobby "
            "should, Ada (the sender) included"
        )
    try:
        frame = json.loads(delivered["bob"])
    except ValueError:
        raise Incorrect(f"Bob received {delivered['bob']!r}, which is not JSON") from None
    expected = {
        "type": "message",
        "room": "lobby",
        "sender": "ada",
        "connectionId": ada,
        "message": "hello, lobby",
        "sentAt": int(_fixtures.FIXED_CLOCK * 1000),
    }
    wrong = {k: frame.get(k) for k in expected if frame.get(k) != expected[k]}
    if wrong:
        raise Incorrect(
            f"Bob received {frame}; the message frame is {expected} (sentAt in epoch ms, "
            f"int(deps.now() * 1000)); these differ: {sorted(wrong)}"
        )
    if not isinstance(response, Mapping) or response.get("statusCode") != 200:
        raise Incorrect(f"{where} returned {response!r}: return statusCode 200 when it was sent")


def _judge_refusal(where: str, response: object, posts: list[tuple[str, str]], sender: str) -> None:
    others = sorted({who for who, _ in posts if who != sender})
    if others:
        raise Incorrect(f"after {where}, {others} received something: broadcast nothing")
    frames = [json.loads(data) for who, data in posts if who == sender]
    if not any(frame.get("type") == "error" for frame in frames):
        raise Incorrect(
            f"after {where} the sender got no error frame: answer with tell(deps, event, why) "
            "(a route's return value reaches no client)"
        )
    if not isinstance(response, Mapping) or response.get("statusCode") != 400:
        raise Incorrect(f"{where} returned {response!r}: return what tell(...) returns (400)")


q1 = Exercise(
    title="on_connect(event, deps)",
    checker=_check_connect,
    hints=(
        "API Gateway waits for this function before it completes the handshake: check the "
        "query string first, and refuse with a status the client sees (HTTP 400) before "
        "anything is stored.",
        '`event.get("queryStringParameters")` is the query string, and absent without one '
        '(use `or {}`); `event["requestContext"]["connectionId"]` is the id; '
        "`NAME.fullmatch(value)` says whether a room or name is valid; "
        "`add_connection(deps, connection_id, room, name)` stores the row.",
        'Shape: read room (default `"lobby"`) and name (default: `"guest-"` and a few '
        'characters of the id); for each, if it is not valid, return `{"statusCode": 400, '
        '"body": why}`; then store and return `{"statusCode": 200, "body": …}`.',
    ),
    reference=model_module().on_connect,
    in_app=True,
)

q2 = Exercise(
    title="on_sendmessage(event, deps)",
    checker=_check_send,
    hints=(
        "Who sent the frame is in the event; which room they are in is in the table, not in "
        "the frame. Build the wire protocol's message frame and hand it to the broadcaster. "
        "Anything wrong is answered with an error frame, since the return value reaches no one.",
        '`json.loads(event["body"])` is the frame; `get_connection(deps, connection_id)` gives '
        '`{"room": …, "name": …}` or None; `broadcast(deps, room, frame)` posts a JSON string '
        "to the room; `tell(deps, event, why)` sends the sender an error frame and returns 400.",
        "Shape: no text in `message` → `return tell(…)`; no row → `return tell(…)`; "
        '`frame = json.dumps({"type": "message", "room": …, "sender": …, "connectionId": …, '
        '"message": …, "sentAt": int(deps.now() * 1000)})`; broadcast it; return status 200.',
    ),
    reference=model_module().on_sendmessage,
    in_app=True,
)
