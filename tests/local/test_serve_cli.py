"""``wsrelay serve``: prints its URLs, serves a chat, warns when exposed, stops on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import websocket

from wsrelay.local.cli import exposure_warning

from .support import WAIT, without_aws_credentials

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_need_no_warning(host: str) -> None:
    """Addresses that only this machine can reach print no warning."""
    assert exposure_warning(host, 8765) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "workshop.local"])
def test_other_hosts_are_warned_about(host: str) -> None:
    """Binding anything else says who can reach it and what they can do."""
    warning = exposure_warning(host, 8765)
    assert warning is not None
    assert f"binding {host}" in warning and "port 8765" in warning
    assert "@connections API" in warning and "signed" in warning


def test_serve_prints_its_urls_serves_and_stops(tmp_path: Path) -> None:
    """On a machine with no AWS credentials, the printed WebSocket URL chats; SIGTERM stops
    it cleanly with exit status 0."""
    server = subprocess.Popen(
        [sys.executable, "-m", "wsrelay.cli", "serve", "--port", "0", "--stage", "demo", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=without_aws_credentials(os.environ, tmp_path),
    )
    try:
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(5)]
        text = "".join(lines)
        url = re.search(r"WebSocket URL:\s+(ws://127\.0\.0\.1:\d+/demo)\n", text)
        assert url, text
        assert re.search(r"@connections URL:\s+http://127\.0\.0\.1:\d+/demo\n", text)
        assert re.search(r"Chat page:\s+http://127\.0\.0\.1:\d+/\n", text)
        assert "WARNING" not in text
        ws = websocket.create_connection(f"{url.group(1)}?room=cli&name=ada", timeout=WAIT)
        ws.send(json.dumps({"action": "sendmessage", "message": "served"}))
        assert json.loads(ws.recv())["message"] == "served"
        ws.close()
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=WAIT) == 0
        assert "stopped" in server.stdout.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        for stream in (server.stdout, server.stderr):
            if stream:
                stream.close()


def test_serve_on_a_busy_port_says_what_to_do() -> None:
    """A port already taken gives one clear line and exit status 1."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "wsrelay.cli", "serve", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stdout
    assert "--port 0" in result.stdout


BROKEN_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Stage:
    Type: String
    AllowedPattern: "[a-z]+"
Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: chat, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  Route:
    Type: AWS::ApiGatewayV2::Route
    Properties: {ApiId: !Ref Api, RouteKey: $default, Target: !Sub "integrations/${Integration}"}
  Integration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref Api
      IntegrationType: INTEGRATION_TYPE
      IntegrationUri: URI
  ApiStage:
    Type: AWS::ApiGatewayV2::Stage
    Properties: {ApiId: !Ref Api, StageName: !Ref Stage}
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      Handler: app.handler
      Runtime: python3.12
      Role: ROLE
      Code: {ZipFile: "def handler(event, context): return {}"}
"""


@pytest.mark.parametrize(
    ("changes", "arguments", "expected"),
    [
        ({"ROLE": "!GetAtt Missing.Arn"}, ["Stage=dev"], r"Fn .*Missing"),
        ({}, [], r"Stage.*(no value|missing|not given)"),
        ({}, ["Stage=Dev1"], r"Stage.*AllowedPattern"),
        ({"INTEGRATION_TYPE": "HTTP_PROXY", "URI": "https://example.com"}, ["Stage=dev"],
         r"Integration .*HTTP_PROXY"),
    ],
    ids=["unknown reference", "missing parameter", "failed pattern", "unsupported integration"],
)  # fmt: skip
def test_a_template_error_is_one_line_naming_the_resource(
    tmp_path: Path, changes: dict[str, str], arguments: list[str], expected: str
) -> None:
    """Every template mistake refuses to start with one line: which resource, what, what to do."""
    text = BROKEN_TEMPLATE
    defaults = {"ROLE": "arn:aws:iam::123456789012:role/r", "INTEGRATION_TYPE": "AWS_PROXY"}
    defaults["URI"] = (
        "!Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"
    )
    for key, value in {**defaults, **changes}.items():
        text = text.replace(key, value)
    template = tmp_path / "template.yaml"
    template.write_text(text)
    command = [
        sys.executable,
        "-m",
        "wsrelay.cli",
        "serve",
        "--port",
        "0",
        "--template",
        str(template),
    ]
    if arguments:
        command += ["--parameter-overrides", *arguments]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stdout
    assert str(template) in lines[0] and re.search(expected, lines[0]), lines[0]
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="process groups and SIGINT are POSIX")
def test_ctrl_c_stops_serve_and_its_environments_quietly() -> None:
    """Ctrl-C reaches the whole process group (the environments too): it stops with status 0
    and no traceback from anyone."""
    server = subprocess.Popen(
        [sys.executable, "-m", "wsrelay.cli", "serve", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert server.stdout is not None
    seen = []
    while not seen or not seen[-1].startswith("Press Ctrl-C"):
        line = server.stdout.readline()
        assert line, "".join(seen)
        seen.append(line)
    os.killpg(server.pid, signal.SIGINT)
    output, _ = server.communicate(timeout=60)
    assert server.returncode == 0, output
    assert "Traceback" not in output and "stopped" in output, output
