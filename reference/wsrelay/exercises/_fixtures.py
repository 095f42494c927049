"""What the checkers run answers against: a moto table, a local gateway, WebSocket clients.

Every fixture makes its own uniquely named table: moto servers in one process share their
data, and a notebook's kernel may already run one.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from wsrelay.store import ConnectionStore

__all__ = [
    "FIXED_CLOCK",
    "Calls",
    "app_deps",
    "connect",
    "ids",
    "moto_store",
    "receive",
    "record_calls",
    "running_gateway",
]

#: 2027-01-15 08:00:00 UTC: a fixed "now" for rows the checkers write.
FIXED_CLOCK = 1_800_000_000.0


def ids(count: int, seed: int) -> list[str]:
    """``count`` AWS-shaped connection ids, the same for the same seed."""
    from wsrelay.events import new_aws_id

    rng = random.Random(seed)
    return [new_aws_id(rng) for _ in range(count)]


def _table_name(purpose: str) -> str:
    return f"exercise-{purpose}-{uuid.uuid4().hex[:8]}"


@contextmanager
def moto_store(purpose: str) -> Iterator[tuple[Any, ConnectionStore]]:
    """A moto server and a fresh connections table on it: yields (LocalAws, store)."""
    from wsrelay.workbook import LocalAws

    with LocalAws() as aws:
        store = ConnectionStore(
            aws.client("dynamodb"), _table_name(purpose), clock=lambda: FIXED_CLOCK
        )
        store.create_table()
        yield aws, store


@contextmanager
def running_gateway(purpose: str) -> Iterator[Any]:
    """A local gateway (its own embedded moto and table) serving the chat API."""
    from wsrelay.local import LocalGateway

    with LocalGateway(port=0, table_name=_table_name(purpose)) as gateway:
        yield gateway


def connect(gateway: Any, room: str, name: str) -> Any:
    """A websocket-client connection to ``gateway`` in ``room`` as ``name``."""
    import websocket

    return websocket.create_connection(f"{gateway.url}?room={room}&name={name}", timeout=10)


def app_deps(store: ConnectionStore, management: Any = None, now: float | None = None) -> Any:
    """The model app's ``Deps`` on ``store``'s table: what ``lambda_handler`` would build."""
    from wsrelay.workbook_app import model_module

    clock = (lambda: now) if now is not None else time.time
    return model_module().Deps(
        dynamodb=store.client, table=store.table_name, management=management, now=clock
    )


#: (operation name, its parameters) of each call a client made.
Calls = list[tuple[str, dict[str, Any]]]


def record_calls(client: Any) -> Calls:
    """Record every call ``client`` makes (a botocore hook that only looks): a list it fills."""
    calls: Calls = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        calls.append((model.name, dict(params)))

    service = client.meta.service_model.service_id.hyphenize()
    client.meta.events.register(f"provide-client-params.{service}", record)
    return calls


def receive(ws: Any, quiet: float, *, at_least: int = 0) -> list[dict[str, Any]]:
    """The frames ``ws`` receives, parsed: until ``quiet`` s pass without one, and for up to
    5 s until ``at_least`` have come (fewer is the answer's fault, which the verdict names).
    """
    from wsrelay.workbook import receive_all

    deadline = time.monotonic() + 5.0
    texts = receive_all(ws, quiet)
    while len(texts) < at_least and time.monotonic() < deadline and ws.connected:
        texts += receive_all(ws, quiet)
    return [json.loads(text) for text in texts]
