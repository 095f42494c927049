"""Exercise of ``05_live-chat``: a client that joins a room and says something.

Write ``chat_once(url, name, room, message)``: connect to the WebSocket API at ``url`` as
``name``, move to ``room`` with a ``joinroom`` frame, send ``message`` with a ``sendmessage``
frame, wait until your own message comes back (a room's broadcast includes its sender), then
close the connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from wsrelay.exercises import _fixtures
from wsrelay.exercises.core import Exercise, Incorrect, call

__all__ = ["chat_once", "q1"]

ROOM = "kitchen"
NAME = "learner"
MESSAGE = "hello from the exercise"


def chat_once(url: str, name: str, room: str, message: str) -> None:
    """Reference: one short chat session with websocket-client."""
    import websocket

    ws = websocket.create_connection(f"{url}?{urlencode({'name': name})}", timeout=10)
    try:
        ws.send(json.dumps({"action": "joinroom", "room": room}))
        while json.loads(ws.recv()).get("type") != "joined":
            pass  # frames from the lobby may arrive before the confirmation
        ws.send(json.dumps({"action": "sendmessage", "message": message}))
        while True:
            frame = json.loads(ws.recv())
            if frame.get("type") == "error":
                raise RuntimeError(frame["error"])
            if frame.get("type") == "message" and frame.get("sender") == name:
                return  # our own message came back: the room has it
    finally:
        ws.close()


def _check(answer: Callable[[str, str, str, str], object]) -> None:
    from wsrelay.workbook import wait_until

    with _fixtures.running_gateway("nb05") as gateway:
        observer = _fixtures.connect(gateway, ROOM, "observer")
        lobby = _fixtures.connect(gateway, "lobby", "lobbyist")
        try:
            where = f'chat_once(gw.url, "{NAME}", "{ROOM}", "{MESSAGE}")'
            call(answer, gateway.url, NAME, ROOM, MESSAGE, what=where)
            seen = _fixtures.receive(observer, 0.3, at_least=1)
            stray = _fixtures.receive(lobby, 0.2)
            try:
                wait_until(lambda: len(gateway.connection_ids()) <= 2, "it closed", timeout=5)
                still_open = False
            except TimeoutError:
                still_open = True
        finally:
            observer.close()
            lobby.close()
    _judge(where, seen, stray, still_open)


def _judge(
    where: str, seen: list[dict[str, Any]], stray: list[dict[str, Any]], still_open: bool
) -> None:
    said = [f for f in stray if f.get("type") == "message" and f.get("sender") == NAME]
    if said:
        raise Incorrect(
            f"your message reached the lobby, not {ROOM}: send the joinroom frame first, "
            f'{{"action": "joinroom", "room": room}}, and wait for the "joined" reply'
        )
    mine = [f for f in seen if f.get("type") == "message" and f.get("sender") == NAME]
    if not mine:
        raise Incorrect(
            f"after {where}, nobody in {ROOM} saw a message from {NAME}: connect with "
            f'?name={NAME}, send {{"action": "joinroom", "room": "{ROOM}"}}, then '
            f'{{"action": "sendmessage", "message": "{MESSAGE}"}}'
        )
    if mine[0].get("message") != MESSAGE:
        raise Incorrect(f"{ROOM} received {mine[0].get('message')!r}, expected {MESSAGE!r}")
    if len(mine) > 1:
        raise Incorrect(f"{ROOM} received your message {len(mine)} times: send it once")
    if still_open:
        raise Incorrect(
            "your connection was still open after chat_once returned: close it (ws.close()), "
            "or the gateway keeps it for up to 2 hours"
        )


q1 = Exercise(
    title="chat_once(url, name, room, message)",
    checker=_check,
    hint=(
        "`ws = websocket.create_connection(f'{url}?name={name}')`, then `ws.send(json.dumps("
        "{'action': 'joinroom', 'room': room}))` and read frames with `json.loads(ws.recv())` "
        "until one has `type` `joined`; send the `sendmessage` frame; read until your own "
        "message comes back; `ws.close()` in a `finally:`."
    ),
    reference=chat_once,
)
