"""Exercise of ``03_lambda-handlers``: a ``$connect`` handler that refuses bad names.

Write ``on_connect(event, deps)``: read ``room`` (default ``lobby``) and ``name`` (default: a
generated one) from the connect URL's query string; if either is not 1-64 characters of
``A-Za-z0-9_-`` return ``{"statusCode": 400, ...}`` (API Gateway then refuses the handshake
with HTTP 400) and store nothing; otherwise store the connection with ``deps.store.add`` and
return ``{"statusCode": 200, ...}``.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wsrelay import protocol
from wsrelay.exceptions import ProtocolError
from wsrelay.exercises import _fixtures
from wsrelay.exercises.core import Exercise, Incorrect, call
from wsrelay.handlers import on_connect

__all__ = ["CASES", "on_connect", "q1"]

#: (query parameters, expected status, expected (room, name) or None for no row, why)
CASES: tuple[tuple[Sequence[tuple[str, str]], int, tuple[str, str | None] | None, str], ...] = (
    ((("room", "garden"), ("name", "ada")), 200, ("garden", "ada"), "a valid room and name"),
    ((("name", "bob"),), 200, ("lobby", "bob"), "no room: the room defaults to lobby"),
    ((), 200, ("lobby", None), "no query string: room lobby and a generated name"),
    (
        (("room", "lobby"), ("name", "bad name")),
        400,
        None,
        "a space is not allowed in a name",
    ),
    ((("room", "x" * 65), ("name", "carl")), 400, None, "a room may have at most 64 characters"),
    ((("room", "r!"), ("name", "dora")), 400, None, "'!' is not allowed in a room"),
    ((("room", "lobby"), ("name", "")), 400, None, "an empty name is not a name"),
)


def _event(connection_id: str, query: Sequence[tuple[str, str]]) -> dict[str, Any]:
    from wsrelay.events import build_connect_event

    return build_connect_event(
        connection_id=connection_id,
        request_id=connection_id,
        connected_at=int(_fixtures.FIXED_CLOCK * 1000),
        domain_name="abcdef1234.execute-api.us-east-1.amazonaws.com",
        stage="dev",
        api_id="abcdef1234",
        query=query,
    )


def _query_text(query: Sequence[tuple[str, str]]) -> str:
    return "?" + "&".join(f"{k}={v}" for k, v in query) if query else "(no query string)"


def _check(answer: Callable[[Mapping[str, Any], Any], object]) -> None:
    from wsrelay.broadcast import Broadcaster
    from wsrelay.handlers import Dependencies

    with _fixtures.moto_store("nb03") as (aws, store):
        deps = Dependencies(
            store=store,
            broadcaster=Broadcaster(aws.client("apigatewaymanagementapi"), store),
            clock=lambda: _fixtures.FIXED_CLOCK,
            rng=random.Random(3),
        )
        connection_ids = _fixtures.ids(len(CASES), seed=3)
        for connection_id, (query, status, row, why) in zip(connection_ids, CASES, strict=True):
            where = f"on_connect(<$connect event for {_query_text(query)}>, deps)"
            response = call(answer, _event(connection_id, query), deps, what=where)
            if not isinstance(response, Mapping) or not isinstance(response.get("statusCode"), int):
                raise Incorrect(
                    f"{where} returned {response!r}: return a dict such as "
                    f'{{"statusCode": 200, "body": "connected"}}'
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
                raise Incorrect(f"{where} stored no row: call deps.store.add(connection_id, ...)")
            room, name = row
            if stored.room != room:
                raise Incorrect(f"{where} stored room {stored.room!r}, expected {room!r} ({why})")
            if name is not None and stored.user_name != name:
                raise Incorrect(
                    f"{where} stored name {stored.user_name!r}, expected {name!r} ({why})"
                )
            if name is None and not _is_valid_name(stored.user_name):
                raise Incorrect(
                    f"{where} stored the name {stored.user_name!r}: without a name in the "
                    f"query, generate a valid one (protocol.generate_name(deps.rng))"
                )


q1 = Exercise(
    title="on_connect(event, deps)",
    checker=_check,
    hint=(
        "`query_parameters(event)` gives the query string as a dict (empty when there is "
        "none). `validate_room(...)` and `validate_name(...)` return the value or raise "
        '`ProtocolError`: catch it and return `{"statusCode": 400, "body": str(exc)}`. '
        "Without a room use `DEFAULT_ROOM`; without a name, `generate_name(deps.rng)`. Then "
        "`deps.store.add(connection_id(event), room, name)` and return status 200."
    ),
    reference=on_connect,
    note="The reference is the handler that runs in Lambda and in the local gateway:",
)


def _is_valid_name(name: str) -> bool:
    """The protocol's own rule for names (one source of truth)."""
    try:
        protocol.validate_name(name)
    except ProtocolError:
        return False
    return True
