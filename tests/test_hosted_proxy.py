"""The chat page behind a hosted Jupyter's proxy, as on Binder or a JupyterHub.

A real Jupyter server with jupyter-server-proxy forwards ``/proxy/PORT/`` to a local
gateway on 127.0.0.1; headless Chromium opens the chat page at that path, logged in to
Jupyter as a learner is (the proxy refuses a WebSocket upgrade without the login cookie),
and two pages chat through the proxy's WebSocket.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from test_chat_page import CHROMIUM, CHROMIUM_ARGS, WAIT_MS, _message, _say

from wsrelay.local import LocalGateway
from wsrelay.local.hosts import free_port

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


class Jupyter:
    """A Jupyter server on 127.0.0.1 with a token, in its own folders."""

    def __init__(self, folder: Path) -> None:
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "HOME": str(folder),
            "JUPYTER_CONFIG_DIR": str(folder / "config"),
            "JUPYTER_DATA_DIR": str(folder / "data"),
            "JUPYTER_RUNTIME_DIR": str(folder / "runtime"),
        }
        self.log = (folder / "jupyter.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={self.token}",
                f"--ServerApp.root_dir={folder}",
                *(["--allow-root"] if hasattr(os, "getuid") and os.getuid() == 0 else []),
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        """Wait until the server answers its status API."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                request = urllib.request.Request(
                    f"{self.url}/api/status", headers={"Authorization": f"token {self.token}"}
                )
                with urllib.request.urlopen(request, timeout=5):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"Jupyter did not start:\n{self.output()}") from None
                time.sleep(0.3)

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    """A Jupyter server with jupyter-server-proxy, as Binder runs one."""
    server = Jupyter(tmp_path_factory.mktemp("jupyter"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    """The workbook's gateway on 127.0.0.1, where the proxy reaches it."""
    with LocalGateway(port=0, table_name=f"wsrelay-proxy-{uuid.uuid4().hex[:8]}") as gw:
        yield gw


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium (fails, never skips, without it)."""
    if not Path(CHROMIUM).exists():
        pytest.fail("install Debian's chromium (apt-get install chromium)", pytrace=False)
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_the_proxy_serves_the_chat_page(jupyter: Jupyter, gateway: LocalGateway) -> None:
    """``/proxy/PORT/`` is the gateway's page and ``static/chat.js`` resolves beside it."""
    headers = {"Authorization": f"token {jupyter.token}"}
    base = f"{jupyter.url}/proxy/{gateway.port}/"
    for path, wanted in [("", "<title>wsrelay chat</title>"), ("static/chat.js", "endpointUrl")]:
        request = urllib.request.Request(base + path, headers=headers)
        with urllib.request.urlopen(request, timeout=10) as reply:
            assert reply.status == 200
            assert wanted in reply.read().decode()


def test_two_pages_chat_through_the_proxy_path(
    jupyter: Jupyter, gateway: LocalGateway, browser: Browser
) -> None:
    """Opened at ``/proxy/PORT/``, the page connects to ``/proxy/PORT/dev`` and chats."""
    from playwright.sync_api import expect

    base = f"{jupyter.url}/proxy/{gateway.port}/"
    contexts = []
    pages = {}
    problems: list[str] = []
    try:
        for name in ("ada", "linus"):
            context = browser.new_context()
            context.set_default_timeout(WAIT_MS)
            contexts.append(context)
            page = context.new_page()
            page.on("pageerror", lambda error, name=name: problems.append(f"{name}: {error}"))
            # As a learner's browser is: logged in to Jupyter (the token sets its cookie).
            page.goto(f"{jupyter.url}/api/status?token={jupyter.token}")
            assert json.loads(page.inner_text("body"))["started"]
            page.goto(f"{base}?room=proxied&name={name}")
            expect(page.locator("#status")).to_have_attribute("data-state", "open")
            pages[name] = page
        expect(pages["ada"].locator("#endpoint")).to_have_text(
            f"ws://127.0.0.1:{jupyter.port}/proxy/{gateway.port}/dev"
        )
        _say(pages["ada"], "hello through the proxy")
        expect(_message(pages["linus"], "ada", "hello through the proxy")).to_have_count(1)
        _say(pages["linus"], "and back")
        expect(_message(pages["ada"], "linus", "and back")).to_have_count(1)
        assert problems == []
    finally:
        for context in contexts:
            context.close()


def test_without_a_jupyter_login_the_page_is_not_served(
    jupyter: Jupyter, gateway: LocalGateway, browser: Browser
) -> None:
    """Not logged in to Jupyter, ``/proxy/PORT/`` sends the browser to Jupyter's login page:
    the chat page is reached through Jupyter's own authentication, as on a hub."""
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(f"{jupyter.url}/proxy/{gateway.port}/?room=proxied&name=eve")
        assert page.url.startswith(f"{jupyter.url}/login?next=%2Fproxy%2F{gateway.port}%2F")
        assert page.locator("#status").count() == 0
    finally:
        context.close()
