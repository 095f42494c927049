"""A function's DynamoDB calls on the fast path answer exactly as over HTTP, and skip HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .support import custom_api, recv_json, running_gateway

pytestmark = pytest.mark.integration


def run_script(tmp_path: Path, *, fast_path: bool) -> tuple[dict[str, object], int]:
    """The script's answers, and how many HTTP requests reached the embedded DynamoDB meanwhile."""
    tmp_path.mkdir()

    def api(table: str, record_file: Path):  # type: ignore[no-untyped-def]
        return custom_api(record_file, {"$default": ("dynamodb_script", True)}, table=table)

    with running_gateway(tmp_path, api, fast_path=fast_path) as harness:
        embedded = harness.gw._backends.dynamodb  # type: ignore[union-attr]
        ws = harness.connect()
        before = embedded.http_requests
        ws.send(json.dumps({"tag": "t"}))
        answers = recv_json(ws)
        return answers, embedded.http_requests - before


def test_the_fast_path_answers_as_http_does(tmp_path: Path) -> None:
    """Items, pages (LastEvaluatedKey), modelled errors with their fields, and timestamps are the
    same both ways."""
    fast, fast_requests = run_script(tmp_path / "fast", fast_path=True)
    slow, slow_requests = run_script(tmp_path / "http", fast_path=False)
    assert fast == slow
    assert fast["conditional"] == "ConditionalCheckFailedException"
    # The errors' modelled fields, which botocore parses in a second pass over an error.
    assert fast["conditional_item"] == {
        "connectionId": {"S": "t-1"},
        "roomId": {"S": "room-t"},
        "n": {"N": "1"},
    }
    assert fast["transaction"] == ["ConditionalCheckFailed"]
    assert fast["missing_table"] == "ResourceNotFoundException"
    assert fast["created_is_datetime"] == "datetime"
    query = fast["query"]
    assert isinstance(query, dict) and query["Count"] == 2 and "LastEvaluatedKey" in query
    assert fast_requests == 0, "the fast path sent DynamoDB calls over HTTP"
    assert slow_requests >= 9
