"""The chat page (``wsrelay/local/static/``) in headless Chromium, served by a local gateway.

Debian's Chromium, driven by Playwright's Python package (``npx playwright install`` cannot
download a browser here). Each test opens its own browser contexts, so pages share nothing
but the gateway; tests use rooms of their own.
"""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import pytest

from wsrelay.local import ApiDefinition, Function, LocalGateway, Route
from wsrelay.local.api import DEFAULT_HANDLER

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google, which this
# machine's closed network refuses. Playwright gives each launch a fresh, empty profile.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
WAIT_MS = 15_000  # generous: the suite shares two cores with other test runs
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "screenshots" / "chat-page.png"
HTML = "<b>bold</b><img src=x onerror=alert(1)>"

OpenChat = Callable[..., "Page"]


def _gateway(**kwargs: Any) -> LocalGateway:
    # A table of its own: the embedded moto servers of one process share their data.
    return LocalGateway(port=0, table_name=f"wsrelay-page-{uuid.uuid4().hex[:8]}", **kwargs)


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    """The workbook's chat API on 127.0.0.1, serving the page at ``/``."""
    with _gateway() as gw:
        yield gw


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium; fails (never skips) when it is not installed."""
    if shutil.which(CHROMIUM) is None:
        pytest.fail(
            "install Debian's chromium (apt-get install chromium), as .ci/run does",
            pytrace=False,
        )
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def open_chat(browser: Browser, gateway: LocalGateway) -> Iterator[OpenChat]:
    """Open the page as ``name`` in ``room`` through ``/?room=&name=``; wait until connected."""
    contexts = []
    problems: list[str] = []

    def open_chat(
        name: str,
        room: str,
        *,
        on: LocalGateway | None = None,
        query: str = "",
        viewport: tuple[int, int] = (900, 640),
    ) -> Page:
        context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: problems.append(f"{name}: {error}"))
        page.on("dialog", lambda dialog: problems.append(f"{name}: dialog {dialog.message!r}"))
        page.goto(f"{(on or gateway).page_url}?room={room}&name={name}{query}")
        _expect_state(page, "open")
        return page

    yield open_chat
    for context in contexts:
        context.close()
    assert problems == [], "the page raised errors or opened dialogs"


def _expect_state(page: Page, state: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#status")).to_have_attribute("data-state", state)


def _say(page: Page, text: str) -> None:
    """Type ``text`` in the message box and press Enter."""
    page.get_by_label("Message", exact=True).fill(text)
    page.get_by_label("Message", exact=True).press("Enter")


def _message(page: Page, sender: str, text: str) -> Any:
    """The log entries showing ``text`` from ``sender``."""
    return page.locator(
        f'#log .entry-message[data-sender="{sender}"]',
        has=page.locator(".text", has_text=text),
    )


def _switch_room(page: Page, room: str) -> None:
    page.get_by_label("Switch to room").fill(room)
    page.get_by_label("Switch to room").press("Enter")


def test_rooms_decide_who_sees_what(open_chat: OpenChat) -> None:
    """bob (r1) sees alice's (r1) message, carol (r2) does not until she switches to r1."""
    from playwright.sync_api import expect

    alice, bob, carol = open_chat("alice", "r1"), open_chat("bob", "r1"), open_chat("carol", "r2")

    _say(alice, "hello r1")
    expect(_message(bob, "alice", "hello r1")).to_have_count(1)
    expect(_message(alice, "alice", "hello r1")).to_have_count(1)  # the sender is included
    entry = _message(bob, "alice", "hello r1")
    expect(entry.locator(".sender")).to_have_text("alice")
    expect(entry.locator("time")).to_have_text(re.compile(r"\d"))  # the time it was sent
    _say(carol, "anyone in r2?")
    expect(_message(carol, "carol", "anyone in r2?")).to_have_count(1)
    expect(carol.locator("#log .entry-message")).to_have_count(1)  # not alice's
    expect(_message(bob, "carol", "anyone in r2?")).to_have_count(0)

    _switch_room(carol, "r1")
    expect(carol.locator("#log .entry-system", has_text="Joined #r1")).to_have_count(1)
    expect(carol.locator("#current-room")).to_have_text("r1")
    assert "room=r1" in carol.url  # a reload stays in r1

    _say(alice, "welcome, carol")
    expect(_message(carol, "alice", "welcome, carol")).to_have_count(1)
    expect(_message(bob, "alice", "welcome, carol")).to_have_count(1)
    expect(_message(carol, "alice", "hello r1")).to_have_count(0)  # no history replay


def test_html_in_a_message_is_shown_as_text(open_chat: OpenChat) -> None:
    """A message holding HTML shows as literal text; no element or script comes of it."""
    from playwright.sync_api import expect

    alice, bob = open_chat("alice", "html"), open_chat("bob", "html")
    _say(alice, HTML)
    entry = _message(bob, "alice", "<b>bold</b>")
    expect(entry).to_have_count(1)
    assert entry.locator(".text").text_content() == HTML
    for page in (alice, bob):
        assert page.locator("#log b, #log img").count() == 0
    # No alert(1): the open_chat fixture fails the test on any dialog.


def test_error_frames_are_shown(open_chat: OpenChat) -> None:
    """The server's error frame is shown; a message too big for one frame is refused first."""
    from playwright.sync_api import expect

    dave = open_chat("dave", "errors")
    _switch_room(dave, "no spaces!")
    error = dave.locator("#log .entry-error", has_text='room "no spaces!" contains')
    expect(error).to_have_count(1)
    expect(error).to_contain_text("use 1-64 letters, digits")
    expect(dave.locator("#current-room")).to_have_text("errors")

    # 140 KB: API Gateway allows 32 KB per frame, and a browser sends a message as one
    # frame, so the gateway would close the connection (1009). The page says so instead.
    _say(dave, "x" * 140_000)
    refused = dave.locator("#log .entry-error", has_text="Not sent")
    expect(refused).to_contain_text("32,768 bytes (32 KB) per WebSocket frame")
    _expect_state(dave, "open")
    assert len(dave.get_by_label("Message", exact=True).input_value()) == 140_000  # kept

    _say(dave, "still here")
    expect(_message(dave, "dave", "still here")).to_have_count(1)


def test_gateway_frames_are_shown(open_chat: OpenChat) -> None:
    """API Gateway's own ``Internal server error`` and ``Forbidden`` frames are shown.

    The API's stage is ``prod``: the page finds it through ``?stage=prod``.
    """
    from playwright.sync_api import expect

    table = f"wsrelay-page-{uuid.uuid4().hex[:8]}"
    chat = Function(name="chat", handler=DEFAULT_HANDLER, environment={"CONNECTIONS_TABLE": table})
    # Any function that fails when called as handler(event, context) will do.
    broken = Function(name="broken", handler="wsrelay.protocol.error_frame")
    api = ApiDefinition(
        name="half-broken",
        routes={
            "$connect": Route(key="$connect", function="chat"),
            "$disconnect": Route(key="$disconnect", function="chat"),
            "sendmessage": Route(key="sendmessage", function="broken"),
            # no joinroom and no $default: a joinroom frame is Forbidden
        },
        functions={"chat": chat, "broken": broken},
    )
    with LocalGateway(port=0, stage="prod", api=api, table_name=table) as half_broken:
        erin = open_chat("erin", "gw", on=half_broken, query="&stage=prod")
        expect(erin.locator("#endpoint")).to_have_text(f"ws://127.0.0.1:{half_broken.port}/prod")
        _say(erin, "hello?")
        failed = erin.locator("#log .entry-error", has_text="Internal server error")
        expect(failed).to_contain_text("API Gateway:")
        expect(failed).to_contain_text("request ")
        _switch_room(erin, "elsewhere")
        forbidden = erin.locator("#log .entry-error", has_text="Forbidden")
        expect(forbidden).to_contain_text("no route matched")
        _expect_state(erin, "open")


def test_ws_parameter_overrides_where_the_page_connects(
    open_chat: OpenChat, gateway: LocalGateway
) -> None:
    """``?ws=`` names the API to use, as for a deployed ``wss://`` one; its query is kept."""
    from playwright.sync_api import expect

    override = f"ws://localhost:{gateway.port}/{gateway.stage}?via=override"
    hana = open_chat("hana", "elsewhere", query=f"&ws={quote(override, safe='')}")
    expect(hana.locator("#endpoint")).to_have_text(override)
    _say(hana, "through the override")
    expect(_message(hana, "hana", "through the override")).to_have_count(1)


def test_reconnects_with_backoff_after_the_connection_is_deleted(
    open_chat: OpenChat, gateway: LocalGateway
) -> None:
    """DeleteConnection drops the page; it shows it is reconnecting, then reconnects."""
    from playwright.sync_api import expect

    before = set(gateway.connection_ids())
    frank = open_chat("frank", "again")
    deadline = time.monotonic() + WAIT_MS / 1000
    # The page may see its handshake complete just before the gateway records the connection.
    while not (new := set(gateway.connection_ids()) - before):
        assert time.monotonic() < deadline, "the page's connection never showed up"
        time.sleep(0.02)
    (connection_id,) = new
    # Record every status the page shows: the reconnect wait is shorter than a poll.
    frank.evaluate(
        """() => {
            window.seenStatus = [];
            const status = document.getElementById("status");
            new MutationObserver(() => window.seenStatus.push(
                [status.dataset.state, status.textContent])).observe(
                status, {attributes: true, childList: true, characterData: true, subtree: true});
        }"""
    )

    gateway.management_client().delete_connection(ConnectionId=connection_id)

    expect(frank.locator("#log .entry-system", has_text="Disconnected (1000")).to_have_count(1)
    expect(frank.locator("#log .entry-system", has_text="Connected to #again")).to_have_count(2)
    _expect_state(frank, "open")
    seen = frank.evaluate("window.seenStatus")
    waiting = [text for state, text in seen if state == "reconnecting"]
    assert waiting, f"the page never showed that it was reconnecting: {seen}"
    assert waiting[0].startswith("Reconnecting in ")
    assert "(attempt 1)" in waiting[0]
    assert connection_id not in gateway.connection_ids()

    _say(frank, "back again")
    expect(_message(frank, "frank", "back again")).to_have_count(1)


def test_joining_from_the_form_on_a_phone_width_screen(
    browser: Browser, gateway: LocalGateway
) -> None:
    """At 375 px the labelled join form works, Shift+Enter adds a line, nothing scrolls sideways."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 375, "height": 700}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{gateway.page_url}?room=phone")
        page.get_by_label("Your name").fill("grace")
        expect(page.get_by_label("Room", exact=True)).to_have_value("phone")
        page.get_by_role("button", name="Join").click()
        _expect_state(page, "open")
        message_box = page.get_by_label("Message", exact=True)
        message_box.fill("line one")
        message_box.press("Shift+Enter")  # a new line, not a send
        message_box.press_sequentially("line two")
        message_box.press("Enter")
        expect(_message(page, "grace", "line one")).to_have_count(1)
        assert _message(page, "grace", "line one").locator(".text").text_content() == (
            "line one\nline two"
        )
        _say(page, "a long word: " + "supercalifragilistic" * 8)
        expect(page.get_by_role("log", name="Messages")).to_contain_text("a long word")
        expect(page.get_by_role("log")).to_have_attribute("aria-live", "polite")
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    finally:
        context.close()


def test_screenshot_of_a_lively_page(open_chat: OpenChat, tmp_path: Path) -> None:
    """Two people chat; a screenshot is taken (the README's, with WSRELAY_UPDATE_SCREENSHOT=1).

    The committed PNG changes only on request, since the time and port in it differ on
    every run and a test run should leave the tree clean.
    """
    from playwright.sync_api import expect

    ada = open_chat("ada", "workshop", viewport=(960, 600))
    linus = open_chat("linus", "workshop")
    conversation = [
        (ada, "Morning! Is everyone connected to the local gateway?"),
        (linus, "Yes: wsrelay serve, then this page. My wscat sees your messages too."),
        (ada, "Try sending some HTML."),
        (linus, "<b>not bold</b>: it arrives as text"),
        (ada, "Next: wsrelay deploy, and the same page with ?ws=wss://…/prod"),
    ]
    for page, text in conversation:
        _say(page, text)
        expect(ada.locator("#log .entry-message", has_text=text)).to_have_count(1)
    ada.get_by_label("Message", exact=True).fill("Sounds good")
    target = SCREENSHOT if os.environ.get("WSRELAY_UPDATE_SCREENSHOT") else tmp_path / "chat.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    ada.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
