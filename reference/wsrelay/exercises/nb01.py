"""Exercise of ``01_websocket-api``: route selection, as API Gateway does it.

Write ``route_for(body, route_keys)``: the route key API Gateway picks for a frame whose text
is ``body``, under the route selection expression ``$request.body.action``. ``route_keys``
holds the API's route keys and always includes ``$default``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from wsrelay.exercises.core import Exercise, Incorrect, call
from wsrelay.local.routing import select_route

__all__ = ["CASES", "ROUTE_KEYS", "q1", "route_for"]

ROUTE_KEYS = frozenset({"$connect", "$disconnect", "$default", "sendmessage", "joinroom"})

#: (frame, route keys, expected route, why) — each a rule of route selection.
CASES: tuple[tuple[str, frozenset[str], str, str], ...] = (
    (
        '{"action": "sendmessage", "message": "hi"}',
        ROUTE_KEYS,
        "sendmessage",
        'the value of "action" names the route',
    ),
    (
        '{"action":"joinroom","room":"garden"}',
        ROUTE_KEYS,
        "joinroom",
        'the value of "action" names the route',
    ),
    (
        '{"action": "dance"}',
        ROUTE_KEYS,
        "$default",
        'no route has the key "dance", so API Gateway uses $default',
    ),
    (
        '{"message": "no action here"}',
        ROUTE_KEYS,
        "$default",
        'the frame has no "action" key, so it goes to $default',
    ),
    ("hello", ROUTE_KEYS, "$default", "a frame that is not JSON goes to $default"),
    (
        '["sendmessage"]',
        ROUTE_KEYS,
        "$default",
        'a JSON array has no "action" key, so it goes to $default',
    ),
    (
        '{"action": "SendMessage"}',
        ROUTE_KEYS,
        "$default",
        "route keys are case-sensitive: SendMessage is not sendmessage",
    ),
    (
        '{"action": 7}',
        ROUTE_KEYS | {"7"},
        "7",
        'the value is turned into text: {"action": 7} selects a route "7" when one exists',
    ),
)


def route_for(body: str, route_keys: Collection[str]) -> str:
    """Reference: the route key for ``body`` under ``$request.body.action``.

    It is the local gateway's own route selection, with the expression fixed.
    """
    return select_route("$request.body.action", body, route_keys) or "$default"


def _check(answer: Callable[[str, Collection[str]], object]) -> None:
    for body, keys, expected, why in CASES:
        shown = f"route_for({body!r}, route_keys)"
        got = call(answer, body, set(keys), what=shown)
        if got != expected:
            raise Incorrect(f"{shown} returned {got!r}, expected {expected!r}: {why}")


q1 = Exercise(
    title="route_for(body, route_keys)",
    checker=_check,
    hint=(
        "Parse the frame with `json.loads` inside `try`/`except ValueError`; if you get a "
        '`dict` with an `"action"` key, turn its value into text (`str`, or `json.dumps` for '
        "non-strings) and return it when it is one of `route_keys`. Everything else goes to "
        '`"$default"`.'
    ),
    reference=route_for,
    sources=(select_route,),
    note="The reference is the local gateway's own route selection (wsrelay.local.apigateway.routing):",
)
