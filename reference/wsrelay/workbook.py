"""What the notebooks share: a local AWS (a moto server) with fixed, offline settings.

::

    with LocalAws(seed=1) as aws:
        apigw = aws.client("apigatewayv2")     # talks to http://127.0.0.1:PORT
        aws.endpoint                            # for --endpoint-url and LocalGateway
        aws.deploy_clients()                    # wsrelay.deploy's clients, on this server

Everything runs on 127.0.0.1 with placeholder credentials and a fixed region, so a
notebook needs no AWS account and no network, and its outputs are the same on every run.

The small helpers below keep the notebooks' own cells about the lesson: a table printer,
a wait for something the gateway does in the background, a log of the posts a handler
makes, and an artificial network delay for a management client.
"""

from __future__ import annotations

import getpass
import inspect
import json
import logging
import re
import textwrap
import time
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import boto3

from wsrelay.store import Connection

if TYPE_CHECKING:
    from wsrelay.deploy.aws import Clients

__all__ = [
    "REGION",
    "LocalAws",
    "Post",
    "add_latency",
    "captured_events",
    "connections_table",
    "personal_stack_name",
    "receive_all",
    "record_posts",
    "show_source",
    "text_table",
    "wait_until",
]

REGION = "us-east-1"


class LocalAws:
    """A moto server on 127.0.0.1 serving every AWS API the workbook calls.

    Args:
        region: the region every client uses.
        seed: seed moto's id generator, so API, route and integration ids are the same on
            every run (given the same calls in the same order).
    """

    def __init__(self, region: str = REGION, *, seed: int | None = None) -> None:
        self.region = region
        self.seed = seed
        self._server: Any = None

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``: pass it as ``endpoint_url`` (or ``--endpoint-url``)."""
        if self._server is None:
            raise RuntimeError("LocalAws is not running: use it in a with block or call start()")
        host, port = self._server.get_host_and_port()
        return f"http://{host}:{port}"

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` on this server, with placeholder credentials."""
        return boto3.client(  # type: ignore[call-overload]
            service,
            endpoint_url=self.endpoint,
            region_name=self.region,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def deploy_clients(self) -> Clients:
        """The clients ``wsrelay.deploy.deployer.deploy`` needs, all on this server."""
        from wsrelay.deploy.aws import Clients

        return Clients(
            region=self.region,
            dynamodb=self.client("dynamodb"),
            iam=self.client("iam"),
            lambda_=self.client("lambda"),
            apigatewayv2=self.client("apigatewayv2"),
            logs=self.client("logs"),
            sts=self.client("sts"),
        )

    def start(self) -> LocalAws:
        """Start the server (a few milliseconds once moto is imported)."""
        if self._server is None:
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
            if self.seed is not None:
                # moto's own API: ids drawn after this are a repeatable sequence.
                request = urllib.request.Request(
                    f"{self.endpoint}/moto-api/seed?a={self.seed}", method="POST"
                )
                with urllib.request.urlopen(request, timeout=10):
                    pass
        return self

    def stop(self) -> None:
        """Stop the server; its data is gone."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> LocalAws:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --- printing ---------------------------------------------------------------------------------


def text_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Format rows as a plain-text table with a header line, columns padded to fit."""
    cells = [[str(h) for h in headers], *([str(v) for v in row] for row in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def connections_table(rows: Iterable[Connection], *, times: bool = False) -> str:
    """The connections table as text, sorted by room then connection id.

    Args:
        rows: the rows, such as ``store.all_connections()``.
        times: add ``connectedAt`` and ``expiresAt`` (leave them out when a real clock
            made them, so the output is the same on every run).
    """
    ordered = sorted(rows, key=lambda c: (c.room, c.connection_id))
    if not ordered:
        return "(the table is empty)"
    headers = ["connectionId", "roomId", "userName"]
    if times:
        headers += ["connectedAt", "expiresAt"]
    body = []
    for c in ordered:
        row: list[object] = [c.connection_id, c.room, c.user_name]
        if times:
            row += [c.connected_at, c.expires_at]
        body.append(row)
    return text_table(headers, body)


# --- waiting ----------------------------------------------------------------------------------


def wait_until(
    condition: Callable[[], object], what: str, *, timeout: float = 10.0, interval: float = 0.02
) -> None:
    """Wait until ``condition()`` is true: for work a gateway does in the background.

    Raises:
        TimeoutError: it was still false after ``timeout`` seconds; the message says what
            was awaited.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:g} s until {what}, in vain")
        time.sleep(interval)


def receive_all(
    ws: Any, quiet: float = 0.2, *, at_least: int = 0, timeout: float = 10.0
) -> list[str]:
    """The frames a websocket-client connection has received, until ``quiet`` s pass without one.

    A broadcast the notebook sends itself has reached every member when it returns, so a
    short quiet period collects it. Frames that a *handler* sends are on their way for a
    little longer: pass ``at_least`` (how many are sure to come) to wait for them first.

    Raises:
        TimeoutError: fewer than ``at_least`` frames came within ``timeout`` seconds.
    """
    import websocket

    frames: list[str] = []
    previous = ws.gettimeout()
    deadline = time.monotonic() + timeout
    try:
        while True:
            waiting = len(frames) < at_least
            ws.settimeout(max(0.01, deadline - time.monotonic()) if waiting else quiet)
            try:
                frames.append(ws.recv())
            except (websocket.WebSocketTimeoutException, TimeoutError):
                if waiting:
                    raise TimeoutError(
                        f"received {len(frames)} frame(s) in {timeout:g} s, expected {at_least}"
                    ) from None
                return frames
            except websocket.WebSocketConnectionClosedException:
                return frames
    finally:
        if ws.connected:
            ws.settimeout(previous)


# --- looking at management clients ------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """One ``PostToConnection`` call: to whom, and the frame's text."""

    connection_id: str
    data: str


def record_posts(management: Any) -> list[Post]:
    """Record every ``PostToConnection`` call ``management`` makes, in a list it returns.

    The calls still go where the client points (a botocore ``provide-client-params`` hook
    only looks at them), so this is a spy, not a fake: what the list shows was really sent.
    """
    posts: list[Post] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        data = params.get("Data", b"")
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        posts.append(Post(str(params.get("ConnectionId", "")), text))

    management.meta.events.register(
        "provide-client-params.apigatewaymanagementapi.PostToConnection", record
    )
    return posts


def add_latency(client: Any, seconds: float) -> Any:
    """Make each of ``client``'s requests wait ``seconds`` before it is sent; return ``client``.

    A post from Lambda to API Gateway crosses a network (milliseconds); to the local gateway
    it does not. The delay (a botocore ``before-send`` hook that sleeps, then lets the request
    go) makes the cost of sending one post after another visible on one machine.
    """

    def wait(**_: Any) -> None:
        time.sleep(seconds)

    client.meta.events.register("before-send", wait)
    return client


# --- showing code and data --------------------------------------------------------------------


def show_source(*names: str, module: Any = None) -> None:
    """Display the source of ``names``, from the model answer's ``lambda_function.py`` (or
    ``module``): the tested file itself, included rather than pasted into the notebook."""
    from wsrelay.exercises.core import show_markdown

    if module is None:
        from wsrelay.workbook_app import model_module

        module = model_module()
    parts = [textwrap.dedent(inspect.getsource(getattr(module, name))).rstrip() for name in names]
    code = "\n\n\n".join(parts)
    show_markdown(f"```python\n{code}\n```", code)


def captured_events() -> dict[str, dict[str, Any]]:
    """The API Gateway events in ``tests/events/`` (real captures), by file name.

    They are test data of the repository the workbook comes in, found beside the package's
    source (``reference/../tests/events``, an editable install) or above the current folder
    (``notebooks/../tests/events``), so notebooks find them wherever they run.

    Raises:
        FileNotFoundError: neither place has them (the package without its repository).
    """
    here = Path.cwd().resolve()
    places = [Path(__file__).resolve().parents[2], here, *here.parents]
    for root in places:
        paths = sorted((root / "tests" / "events").glob("*.json"))
        if paths:
            return {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in paths}
    raise FileNotFoundError(
        "no tests/events beside the package or above this folder: the workbook needs the "
        "repository's real event captures"
    )


def personal_stack_name(user: str | None = None) -> str:
    """``wsrelay-{you}``: a stack name of your own, for an AWS account others deploy to too.

    Two people who both deploy the stack ``wsrelay`` to one account share (and overwrite)
    one set of resources; with their own names they get two. ``user`` defaults to the login
    name, cut to what a stack name allows (a letter, then letters, digits and ``-``, 32 at most).
    """
    who = user if user is not None else getpass.getuser()
    cleaned = re.sub(r"[^A-Za-z0-9-]+", "-", who).strip("-").lower() or "me"
    return f"wsrelay-{cleaned}"[:32].rstrip("-")
