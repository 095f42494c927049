"""The ``wsrelay_gateway`` fixture, used the way another project uses it: a test suite of its own.

Each test writes a test file into a fresh folder and runs pytest on it in a subprocess, so
the plugin is found through its ``pytest11`` entry point, as in any project that installs
wsrelay, and not through this suite's own conftest.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.integration

APP = Path(__file__).parent / "apps" / "sam_chat"

USER_TESTS = """
import json

import websocket


def test_my_app(wsrelay_gateway):
    gw = wsrelay_gateway(template="sam_chat/template.yaml")
    a = websocket.create_connection(gw.url + "?room=r", timeout=30)
    b = websocket.create_connection(gw.url + "?room=r", timeout=30)
    a.send(json.dumps({"action": "sendmessage", "data": "hi"}))
    assert json.loads(b.recv()) == {"room": "r", "data": "hi"}
    rows = gw.dynamodb_client().scan(TableName=gw.resources["ConnectionsTable"])["Items"]
    assert len(rows) == 2
    assert gw.endpoint_url.startswith("http://127.0.0.1:")
    assert gw.management_url.endswith("/prod")
    a.close()
    b.close()
    pytest_gateway.append(gw)


def test_the_chat_without_a_template(wsrelay_gateway):
    gw = wsrelay_gateway()
    ws = websocket.create_connection(gw.url + "?name=ada", timeout=30)
    ws.send(json.dumps({"action": "sendmessage", "message": "hello"}))
    assert json.loads(ws.recv())["message"] == "hello"
    ws.close()
    pytest_gateway.append(gw)


def test_gateways_stopped_at_teardown():
    assert len(pytest_gateway) == 2
    assert not any(gw.running for gw in pytest_gateway)


pytest_gateway = []
"""


def test_the_fixture_serves_a_template_and_stops_it(pytester: pytest.Pytester) -> None:
    """A project's own test gets a started gateway for its template; it is stopped afterwards."""
    shutil.copytree(APP, pytester.path / "sam_chat")
    pytester.makepyfile(test_user=USER_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=300)
    result.assert_outcomes(passed=3)


def test_parameters_without_a_template_are_an_error(pytester: pytest.Pytester) -> None:
    """``parameters=`` belong to a template: without one the fixture says so."""
    pytester.makepyfile(
        test_user="""
import pytest

def test_it(wsrelay_gateway):
    with pytest.raises(TypeError, match="template"):
        wsrelay_gateway(parameters={"Stage": "x"})
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-q", timeout=120)
    result.assert_outcomes(passed=1)
