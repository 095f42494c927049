"""Exercises of ``07_test-your-app``: a pytest test that catches a published bug.

``q1``: ``test_a_gone_member_is_forgotten(wsrelay_gateway, app)``: a pytest test of the sample
chat (:data:`APPS`), where ``app`` is the path of the template under test. It serves the app
with the ``wsrelay_gateway`` fixture, connects real WebSocket clients, writes a row for a
connection that is gone, has a client send a message, and asserts on the frames and on the
table's rows once the function has answered.

The checker writes the learner's function into a test file of its own (after :data:`HEADER`,
the imports the notebook's test file has), beside a ``conftest.py`` whose ``app`` fixture runs
it once per app, and runs pytest on it in a subprocess, as a project's CI would. It must pass
on the ``fixed`` app and fail on each buggy one (:data:`BUGS`): a test that passes on a buggy
app cannot catch that bug.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable
from pathlib import Path
from typing import Any

import websocket

from wsrelay.exercises.core import Exercise, Incorrect, learner_source

__all__ = [
    "APPS",
    "BUGS",
    "CONFTEST",
    "FIXED",
    "HEADER",
    "PYTEST",
    "PYTEST_ENVIRONMENT",
    "TIMEOUT",
    "q1",
    "run_tests",
    "test_a_gone_member_is_forgotten",
]

#: The sample chat, three times: ``fixed`` and a copy of it with each published bug.
APPS = Path(__file__).parent / "sample_chat"
FIXED = "fixed"
#: The buggy apps, and what each does wrong (the checker's message names it).
BUGS = {
    "deletes_sender": (
        "deletes the sender's row instead of the gone member's (simple-websockets-chat-app's "
        "410 branch)"
    ),
    "dead_except": (
        "never deletes the gone member's row: `except ClientError` comes first and catches "
        "GoneException (the AWS SDK for Python example's order)"
    ),
}
#: What the test file imports before the learner's function (as the notebook's file does).
HEADER = "import json\n\nimport pytest\nimport websocket\n"
#: How the checker (and the notebook) runs pytest: quiet, nothing cached, and only the
#: wsrelay plugin loaded, whatever other plugins the environment has (some reorder tests).
PYTEST = [
    sys.executable,
    "-m",
    "pytest",
    "-q",
    "-p",
    "no:cacheprovider",
    "-p",
    "wsrelay.pytest_plugin",
]
PYTEST_ENVIRONMENT = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
#: Seconds the checker's pytest run may take (three gateways take about 15).
TIMEOUT = 180
#: The checker's conftest: ``app`` is the template of each app in turn.
CONFTEST = '''\
from pathlib import Path

import pytest
import websocket

APPS = Path({apps!r})
# A recv() that waits for a frame that never comes fails after 10 s, instead of never.
websocket.setdefaulttimeout(10)


@pytest.fixture(params={names!r})
def app(request):
    """The template of the app under test: each test that takes it runs once per app."""
    return str(APPS / request.param / "template.yaml")
'''


def test_a_gone_member_is_forgotten(wsrelay_gateway: Any, app: str) -> None:
    """Model answer: a post that answers 410 deletes the gone member's row, and no other."""
    gw = wsrelay_gateway(template=app)
    table = gw.resources["ConnectionsTable"]
    dynamodb = gw.dynamodb_client()
    ada = websocket.create_connection(gw.url, timeout=10)
    bob = websocket.create_connection(gw.url, timeout=10)
    try:
        live = set(gw.connection_ids())  # Ada's and Bob's, with a row each
        # A row for a connection the gateway never had: a post to it answers 410.
        dynamodb.put_item(TableName=table, Item={"connectionId": {"S": "Gh0stC0nnecti0n="}})
        ada.send(json.dumps({"action": "sendmessage", "data": "hello"}))
        assert bob.recv() == "hello"
        assert ada.recv() == "hello"
        assert ada.recv() == "Data sent."  # the function has returned
        rows = dynamodb.scan(TableName=table)["Items"]
        assert {row["connectionId"]["S"] for row in rows} == live
    finally:
        ada.close()
        bob.close()


def run_tests(source: str, apps: list[str], folder: Path) -> dict[str, tuple[str, str]]:
    """Run the test ``source`` against each of ``apps`` with pytest, in a subprocess.

    Returns:
        app → (outcome, message): outcome ``passed``, ``failed``, ``error`` or ``skipped``;
        the message is pytest's first line about it. An app with no result is missing.

    Raises:
        Incorrect: pytest collected nothing (the message has pytest's own words).
    """
    (folder / "pytest.ini").write_text("[pytest]\n")  # a project of its own: no outer config
    (folder / "conftest.py").write_text(CONFTEST.format(apps=str(APPS), names=apps))
    (folder / "test_yours.py").write_text(f"{HEADER}\n\n{source}\n")
    report = folder / "report.xml"
    try:
        run = subprocess.run(
            [*PYTEST, f"--junitxml={report}", "test_yours.py"],
            cwd=folder,
            env={**os.environ, **PYTEST_ENVIRONMENT},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise Incorrect(
            f"pytest was still running your test after {TIMEOUT} s: something waits for "
            "ever (a recv() for a frame that never comes? give it a timeout)"
        ) from None
    results: dict[str, tuple[str, str]] = {}
    if report.exists():
        for case in ElementTree.parse(report).getroot().iter("testcase"):
            name = case.get("name", "")
            app = name.partition("[")[2].rstrip("]")
            outcome, message = "passed", ""
            for kind in ("failure", "error", "skipped"):
                found = case.find(kind)
                if found is not None:
                    outcome = {"failure": "failed"}.get(kind, kind)
                    lines = (found.get("message") or "").strip().splitlines()
                    message = lines[0] if lines else ""
                    break
            results[app] = (outcome, message)
    if not results:
        tail = "\n".join((run.stdout + run.stderr).strip().splitlines()[-3:])
        raise Incorrect(f"pytest ran no test from your function: {tail}")
    return results


def _check(answer: Callable[..., object]) -> None:
    name = getattr(answer, "__name__", "")
    if not name.startswith("test"):
        raise Incorrect(
            f"pytest collects only functions whose names start with test; yours is {name!r}"
        )
    if "app" not in inspect.signature(answer).parameters:
        raise Incorrect(
            "your test does not take `app`, the template of the app under test: add it to "
            "the parameters and serve it (wsrelay_gateway(template=app)), so that the same "
            "test runs against the fixed app and the buggy ones"
        )
    try:
        source = learner_source(answer)
    except (OSError, TypeError) as exc:
        raise Incorrect(f"write your test with def, in a cell of its own ({exc})") from None
    apps = [FIXED, *BUGS]
    with tempfile.TemporaryDirectory(prefix="wsrelay-nb07-") as folder:
        results = run_tests(source, apps, Path(folder))
    _judge(results)


def _judge(results: dict[str, tuple[str, str]]) -> None:
    outcome, message = results.get(FIXED, ("missing", ""))
    if outcome != "passed":
        raise Incorrect(
            f"your test {outcome} on the fixed app, which is right: {message or 'no message'}. "
            "A test must pass on a correct app: check what it asserts, and that it reads the "
            'table only after the sender has received "Data sent." (before, the function may '
            "still be running)"
        )
    passed = [app for app in BUGS if results.get(app, ("missing",))[0] == "passed"]
    if passed == list(BUGS):
        raise Incorrect(
            "your test passed on every app, the buggy ones too: a test that cannot fail "
            "catches nothing. Write a row for a connection that is gone, send a message, "
            "and once the function has answered, assert on the table's rows"
        )
    if passed:
        app = passed[0]
        raise Incorrect(
            f"your test passed on {app}, which {BUGS[app]}: it cannot catch that bug. "
            "Assert that the rows left are exactly the live connections' rows"
        )
    for app in BUGS:
        outcome, message = results.get(app, ("missing", "no result"))
        if outcome != "failed":
            raise Incorrect(f"your test did not run on {app}: {outcome}, {message}")


q1 = Exercise(
    title="test_a_gone_member_is_forgotten(wsrelay_gateway, app)",
    checker=_check,
    hints=(
        "A gone member is a row whose connection no longer exists: write one yourself, then "
        "make the app broadcast. The function works after the frames arrive, so wait for its "
        "answer before you read the table; then compare the rows with the live connections.",
        "`gw = wsrelay_gateway(template=app)`; `gw.resources['ConnectionsTable']`, "
        "`gw.dynamodb_client()` and its `put_item` / `scan`; `gw.connection_ids()` (the live "
        'ones); `websocket.create_connection(gw.url, timeout=10)`; `"Data sent."` is the '
        "sender's last frame.",
        "Shape: serve, connect two clients, note the live ids, put a row for a made-up id, "
        "send `sendmessage` from one, `recv()` the message on both and the answer on the "
        "sender, scan, assert the ids equal the live ones; close both in a `finally:`.",
    ),
    reference=test_a_gone_member_is_forgotten,
)
