"""Exercises of ``05_live-chat``: your app end to end, and a client of your own.

- ``q1``: ``check(app)``: the chat in ``chat_app/`` (a :class:`~wsrelay.workbook_app.ChatApp`),
  served from its template by a local gateway of the checker's own, with real clients: a bad
  name is refused, a message reaches its room and only its room, ``joinroom`` moves, a stale
  row is cleaned up, a bad frame gets an error frame. Not attempted while a stub is left.
- ``q2``: ``chat_once(url, name, room, message)``: connect to the WebSocket API at ``url`` as
  ``name``, move to ``room`` with a ``joinroom`` frame, send ``message``, wait until your own
  message comes back (a room's broadcast includes its sender), then close the connection.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

from wsrelay.exercises import _fixtures
from wsrelay.exercises.core import Exercise, Incorrect, NotAttempted, call

__all__ = ["chat_once", "check_app", "q1", "q2"]

ROOM = "kitchen"
NAME = "learner"
MESSAGE = "hello from the exercise"


def check_app(app: Any) -> None:
    """Model answer of ``q1``: every function of the app the model answer's."""
    from wsrelay.workbook_app import LEARNER_FUNCTIONS

    app.use_model_answer(*LEARNER_FUNCTIONS)


# --- q1: the app, served -------------------------------------------------------------------


@contextmanager
def _errors() -> Iterator[list[str]]:
    """The gateway's error lines (a function that raised) while the block runs."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    log = logging.getLogger("wsrelay.local")
    handler = Keep(logging.ERROR)
    log.addHandler(handler)
    try:
        yield lines
    finally:
        log.removeHandler(handler)


def _frames(ws: Any, count: int = 1) -> list[dict[str, Any]]:
    return _fixtures.receive(ws, 0.1, at_least=count)


def _check_app(app: Any) -> None:
    from wsrelay.local import LocalGateway
    from wsrelay.workbook_app import ChatApp

    if not isinstance(app, ChatApp):
        raise Incorrect(f"pass your app (app = ChatApp('chat_app')), not {type(app).__name__}")
    stubs = app.stubs()
    if stubs:
        raise NotAttempted(
            f"{app.path} still has stubs: {', '.join(stubs)}. Write them in notebooks 02-04, "
            "or run the catch-up cell at the top of this notebook"
        )
    from wsrelay.local.templates import TemplateError

    try:
        gateway = LocalGateway.from_template(app.template, stack_name="check-05", port=0)
    except TemplateError as exc:
        raise Incorrect(f"the gateway cannot serve {app.template}: {exc}") from None
    clients: list[Any] = []
    with _errors() as errors, gateway:
        try:
            _scenario(gateway, clients, errors)
        finally:
            for ws in clients:  # before the gateway stops, which would wait for them
                ws.close()


def _scenario(gateway: Any, clients: list[Any], errors: list[str]) -> None:
    import websocket

    def join(room: str, name: str) -> Any:
        query = urlencode({"room": room, "name": name})
        ws = websocket.create_connection(f"{gateway.url}?{query}", timeout=10)
        clients.append(ws)
        return ws

    def failed(what: str) -> Incorrect:
        why = f"; the function raised: {errors[-1].splitlines()[0]}" if errors else ""
        return Incorrect(f"{what}{why}")

    try:
        refused = join("lobby", "bad name")
    except websocket.WebSocketBadStatusException as exc:
        if exc.status_code != 400:
            raise failed(
                f"a connection as 'bad name' was refused with {exc.status_code}, not 400"
            ) from None
    else:
        refused.close()
        raise Incorrect("a connection as 'bad name' was accepted: on_connect must return 400")
    ada, bob, cy = join("lobby", "ada"), join("lobby", "bob"), join("garden", "cy")
    ada.send(json.dumps({"action": "sendmessage", "message": "hi, lobby"}))
    for name, ws in (("ada", ada), ("bob", bob)):
        got = _frames(ws)
        if not got or got[0].get("message") != "hi, lobby" or got[0].get("sender") != "ada":
            raise failed(f"Ada said 'hi, lobby' and {name}, in the lobby, received {got}")
    if _fixtures.receive(cy, 0.2):
        raise Incorrect("Ada's message to the lobby reached Cy in the garden")
    table = gateway.resources["ConnectionsTable"]
    from wsrelay.store import ConnectionStore

    store = ConnectionStore(gateway.dynamodb_client(), table)
    (ghost,) = _fixtures.ids(1, seed=505)
    store.add(ghost, "garden", "ghost", connected_at=int(time.time() * 1000) - 3_600_000)
    bob.send(json.dumps({"action": "joinroom", "room": "garden"}))
    got = _frames(bob)
    if not got or got[0] != {"type": "joined", "room": "garden"}:
        raise failed(f"Bob sent joinroom garden and received {got}, not a joined frame")
    bob.send(json.dumps({"action": "sendmessage", "message": "hi, garden"}))
    for name, ws in (("bob", bob), ("cy", cy)):
        got = _frames(ws)
        if not got or got[0].get("message") != "hi, garden":
            raise failed(f"Bob said 'hi, garden' and {name} received {got}")
    if _fixtures.receive(ada, 0.2):
        raise Incorrect("Bob moved to the garden, yet his message reached Ada in the lobby")
    if store.get(ghost) is not None:
        raise Incorrect("a stale row in the garden (410) was still there after Bob's message")
    cy.send("hello?")
    got = _frames(cy)
    if not got or got[0].get("type") != "error":
        raise failed(f"Cy sent 'hello?' (not JSON) and received {got}, not an error frame")


# --- q2: a client --------------------------------------------------------------------------


def chat_once(url: str, name: str, room: str, message: str) -> None:
    """Model answer: one short chat session with websocket-client."""
    import json
    from urllib.parse import urlencode

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


def _check_client(answer: Callable[[str, str, str, str], object]) -> None:
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
    _judge_client(where, seen, stray, still_open)


def _judge_client(
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
            "or API Gateway keeps it (and bills its minutes) until 10 idle minutes pass"
        )


q1 = Exercise(
    title="your chat app, served (chat_app/)",
    checker=_check_app,
    hints=(
        "This one checks the file, not a function: every function you wrote in 02-04 runs "
        "together, behind a real gateway. An incorrect verdict names what a client saw, and "
        "the error the function raised, if it raised one.",
        "To see your function fail yourself: run the chat cells of this notebook and look at "
        "the frames, or `app.load()` and call the function with a `Deps` of your own. "
        "`app.status()` says which functions are yours and which are the model answer.",
        'To put one function back as the model answer: `app.use_model_answer("name")`, then '
        "run the check again; the last function you replaced is the broken one.",
    ),
    reference=check_app,
    accepts="app",
)

q2 = Exercise(
    title="chat_once(url, name, room, message)",
    checker=_check_client,
    hints=(
        "A client speaks the wire protocol over one connection: say who you are in the URL, "
        "then send frames and read frames until the one you are waiting for arrives.",
        "`websocket.create_connection(url, timeout=10)`; `ws.send(json.dumps({…}))`; "
        "`json.loads(ws.recv())` blocks for the next frame; `ws.close()`. The frames are "
        '`{"action": "joinroom", "room": …}` (answered by `{"type": "joined"}`) and '
        '`{"action": "sendmessage", "message": …}`.',
        "Shape: connect with `?name=…`; send joinroom and read until a `joined` frame; send "
        "the message and read until a `message` frame whose `sender` is you; close in a "
        "`finally:`.",
    ),
    reference=chat_once,
)
