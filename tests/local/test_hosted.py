"""``wsrelay.local.hosted``: the address a hosted learner's browser opens, and ``wsrelay serve``'s line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from wsrelay.local.hosted import browser_url, serve_line

from .support import WAIT, without_aws_credentials

CODESPACE = {
    "CODESPACES": "true",
    "CODESPACE_NAME": "ada-workshop-5g4x",
    "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN": "app.github.dev",
}


def test_a_local_machine_needs_nothing_else() -> None:
    """With none of the hosted variables, 127.0.0.1 is the address: ``None``."""
    assert browser_url(8765, environ={}) is None
    assert serve_line(8765, environ={"HOME": "/root"}) is None


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        ("/user/ada/", "/user/ada/proxy/8765/"),
        ("/", "/proxy/8765/"),
        ("/user/ada", "/user/ada/proxy/8765/"),  # a hand-set prefix without its slash
    ],
)
def test_jupyterhub_and_binder_go_through_the_server_proxy(prefix: str, expected: str) -> None:
    """Under a hub the address is ``{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/``."""
    assert browser_url(8765, environ={"JUPYTERHUB_SERVICE_PREFIX": prefix}) == expected


def test_the_query_is_kept() -> None:
    """A query (room, name) follows the trailing slash, so the page reads it."""
    env = {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"}
    assert browser_url(9000, "?room=garden&name=you", env) == (
        "/user/ada/proxy/9000/?room=garden&name=you"
    )


def test_codespaces_uses_the_forwarded_port_address() -> None:
    """In a codespace the address is ``https://{name}-{port}.{domain}/``."""
    assert browser_url(8765, environ=CODESPACE) == "https://ada-workshop-5g4x-8765.app.github.dev/"
    assert serve_line(8765, CODESPACE) == (
        "In your browser:  https://ada-workshop-5g4x-8765.app.github.dev/"
    )


def test_codespaces_needs_all_three_variables() -> None:
    """A half-set Codespaces environment is not taken for one (it would print a dead link)."""
    partial = {
        k: v for k, v in CODESPACE.items() if k != "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN"
    }
    assert browser_url(8765, environ=partial) is None


def test_the_hub_line_says_where_the_path_goes() -> None:
    """A path alone is not a link: the line says it goes on JupyterLab's host."""
    line = serve_line(8765, {"JUPYTERHUB_SERVICE_PREFIX": "/user/ada/"})
    assert (
        line == "In your browser:  /user/ada/proxy/8765/  (on the host in JupyterLab's address bar)"
    )


@pytest.mark.integration
def test_serve_prints_the_hosted_address(tmp_path: Path) -> None:
    """``wsrelay serve`` under Binder prints the proxy path after its usual lines."""
    env = without_aws_credentials(os.environ, tmp_path)
    env["JUPYTERHUB_SERVICE_PREFIX"] = "/user/ada/"
    server = subprocess.Popen(
        [sys.executable, "-m", "wsrelay.cli", "serve", "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = server.stdout.readline()
            assert line, f"serve ended early: {lines}"
            lines.append(line)
        port = lines[2].rsplit(":", 1)[1].strip("/\n")
        assert lines[2].startswith("Chat page:")
        assert lines[3] == (
            f"In your browser:  /user/ada/proxy/{port}/  (on the host in JupyterLab's address bar)\n"
        )
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=WAIT) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if server.stdout:
            server.stdout.close()
