"""The rendered book (``make book``): every notebook with its stored outputs, no warnings.

``node book/build.mjs`` runs mystmd (``node_modules``, pinned in package.json) with the
theme in ``book/theme``. The real book is built and read; small projects of the tests' own
prove that a warning fails the build and, in headless Chromium, that Mermaid draws, that
``<details>`` outputs (exercise hints and solutions) stay collapsed and that the launch
buttons point at the notebook.
"""

from __future__ import annotations

import functools
import html
import http.server
import json
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "book" / "build.mjs"
THEME = ROOT / "book" / "theme"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

pytestmark = pytest.mark.integration


def _build(project: Path = ROOT) -> subprocess.CompletedProcess[str]:
    if not (ROOT / "node_modules" / "mystmd").is_dir():
        pytest.fail("mystmd is not installed: run npm ci (make does)", pytrace=False)
    return subprocess.run(
        ["node", str(BUILD), str(project)], capture_output=True, text=True, timeout=300
    )


def _stored_text(path: Path) -> list[str]:
    """A line of each stream output stored in the notebook (what the book must show)."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    lines = []
    for cell in cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                text = "".join(output["text"]).strip().splitlines()
                if text:
                    lines.append(text[0])
    return lines


def _notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
    for n, cell in enumerate(cells):
        cell.setdefault("id", f"cell-{n}")
        cell.setdefault("metadata", {})
        if cell["cell_type"] == "code":
            cell.setdefault("execution_count", n + 1)
            cell.setdefault("outputs", [])
    return {
        "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def _project(folder: Path, cells: list[dict[str, Any]], extra_md: str = "") -> Path:
    (folder / "notebooks").mkdir(parents=True)
    (folder / "notebooks" / "01_try.ipynb").write_text(json.dumps(_notebook(cells)))
    (folder / "intro.md").write_text(f"# A test book\n\n{extra_md}\n")
    (folder / "myst.yml").write_text(
        "version: 1\nproject:\n  title: Test book\n  github: https://github.com/example/book\n"
        "  toc:\n    - file: intro.md\n    - file: notebooks/01_try.ipynb\n"
        f"site:\n  template: {THEME}\n  options:\n    branch: trunk\n"
    )
    return folder


def test_every_notebook_is_in_the_table_of_contents() -> None:
    """myst.yml lists each notebook, in order, after the introduction; then the instructors' guide."""
    toc = re.findall(r"^\s+- file: (\S+)$", (ROOT / "myst.yml").read_text(), re.MULTILINE)
    notebooks = [f"notebooks/{p.name}" for p in NOTEBOOKS]
    assert toc == ["book/intro.md", *notebooks, "docs/instructor.md"]


@pytest.mark.slow
def test_the_book_has_every_notebook_with_its_stored_outputs() -> None:
    """``make book``'s build succeeds with no warning; each notebook's page shows the outputs
    stored in it, including run-specific ones (ports), so nothing was executed."""
    result = _build()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "no warnings" in result.stdout
    config = json.loads((ROOT / "_build" / "html" / "config.json").read_text())
    pages = {
        page["slug"]: page["title"] for page in config["projects"][0]["pages"] if page.get("slug")
    }
    for path in NOTEBOOKS:
        title = json.loads(path.read_text())["cells"][0]["source"][0].lstrip("# ").strip()
        (slug,) = [slug for slug, shown in pages.items() if shown == title]
        page = html.unescape((ROOT / "_build" / "html" / slug / "index.html").read_text())
        for line in _stored_text(path):
            assert line in page, f"{path.name}: stored output {line!r} is not on its page"
    broadcaster = (ROOT / "_build" / "html" / "broadcaster" / "index.html").read_text()
    stored = (ROOT / "notebooks" / "04_broadcaster.ipynb").read_text()
    port = re.search(r"ws://127\.0\.0\.1:(\d+)/dev", stored)
    assert port and port.group(0) in broadcaster  # the port of the stored run
    # The exercises' hints and model answers are on the page, each in its own <details>
    # (they fold themselves, so the theme does not fold them again).
    exercise = broadcaster.index("Exercise 2: the broadcast")
    hint = broadcaster.index(
        '<details class="wsrelay-exercise"><summary>💡 Hint 2 of 3 (then hint(3))</summary>',
        exercise,
    )
    solution = broadcaster.index("<summary>🔑 Model answer: broadcast(deps, room, frame)</summary>")
    assert hint < broadcaster.index("<code>room_member_ids(deps, room)</code>", hint) < solution
    answer = broadcaster.index("def broadcast(deps, room, frame):", solution)
    assert answer < broadcaster.index("</details>", solution)
    assert '<details class="exercise hint">' not in broadcaster


def test_a_warning_fails_the_build(tmp_path: Path) -> None:
    """A link mystmd only warns about (its target does not exist) fails the build, and the
    warning is shown; mystmd alone would exit 0."""
    project = _project(
        tmp_path / "book",
        [{"cell_type": "markdown", "source": ["# Try\n", "See [there](#no-such-label)."]}],
    )
    result = _build(project)
    assert result.returncode == 1
    assert "1 warning(s) or error(s) (mystmd exited with status 0)" in result.stderr
    assert "no-such-label" in result.stderr.split("warning(s) or error(s)")[1]


def _theme_servers() -> set[int]:
    """Running processes of the book theme's server (``node server.mjs``)."""
    import psutil

    found = set()
    for process in psutil.process_iter(["cmdline"]):
        if (process.info["cmdline"] or [])[-1:] == ["server.mjs"]:
            found.add(process.pid)
    return found


def test_a_build_leaves_no_theme_server_behind(tmp_path: Path) -> None:
    """mystmd exits without ending the theme's server (it started it through a shell): the
    server ends itself when mystmd's pipe to it closes, so a build leaves nothing running."""
    before = _theme_servers()
    project = _project(tmp_path / "book", [{"cell_type": "markdown", "source": ["# Try\n"]}])
    result = _build(project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    deadline = time.monotonic() + 10
    while _theme_servers() - before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _theme_servers() - before


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A test book built from a notebook with collapsed outputs and a Mermaid diagram, served
    over HTTP on 127.0.0.1 (as any static host would serve _build/html)."""
    details = (
        "<details><summary>Solution: room_members()</summary>"
        "<pre>return list(store.room_members(room))</pre></details>"
    )
    cells = [
        {
            "cell_type": "markdown",
            "source": ["# 01 · Try\n", "\n", "```mermaid\nflowchart LR\n  A --> B\n```\n"],
        },
        {
            "cell_type": "code",
            "source": ["ex.q1.solution()"],
            "outputs": [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"text/html": [details], "text/plain": ["Solution: room_members()"]},
                }
            ],
        },
        {
            "cell_type": "code",
            "source": ["ex.q1.hint()"],
            "outputs": [
                {
                    "output_type": "display_data",
                    "metadata": {},
                    "data": {"text/markdown": ["**Hint:** read the room page by page"]},
                }
            ],
        },
        {
            "cell_type": "code",
            "metadata": {"tags": ["hide-output"]},
            "source": ["print('folded by its tag')"],
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["tagged output\n"]}],
        },
    ]
    project = _project(tmp_path / "book", cells)
    result = _build(project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(project / "_build" / "html")
    )
    handler.log_message = lambda *args: None  # type: ignore[assignment,method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def browser() -> Iterator[Browser]:
    from test_chat_page import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail("install Debian's chromium (apt-get install chromium)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.mark.browser
def test_solutions_stay_collapsed_diagrams_draw_and_launch_buttons_point_at_the_notebook(
    served: str, browser: Browser
) -> None:
    """In Chromium: a ``<details>`` solution output, a Markdown hint (folded by the theme)
    and a hide-output cell are closed until clicked; Mermaid has drawn an SVG; Binder opens
    this notebook on the configured branch."""
    from playwright.sync_api import expect

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{served}/try/")
    solution = page.locator("details", has=page.locator("summary", has_text="Solution"))
    expect(solution).to_have_count(1)
    assert solution.evaluate("el => el.open") is False
    expect(solution.locator("pre")).to_be_hidden()
    solution.locator("summary").click()
    expect(solution.locator("pre")).to_be_visible()

    assert page.locator("details details").count() == 0  # a <details> output is not re-folded

    hint = page.locator("details.exercise.hint")
    assert hint.evaluate("el => el.open") is False
    expect(hint.locator("summary")).to_have_text("Show the hint")
    expect(hint.get_by_text("read the room page by page")).to_be_hidden()
    hint.locator("summary").click()
    expect(hint.get_by_text("read the room page by page")).to_be_visible()

    tagged = page.locator("details.hidden-output")
    assert tagged.evaluate("el => el.open") is False
    expect(tagged.get_by_text("tagged output")).to_be_hidden()

    expect(page.locator("pre.mermaid svg")).to_have_count(1, timeout=15_000)

    binder = page.get_by_role("link", name="Launch on Binder")
    assert binder.get_attribute("href") == (
        "https://mybinder.org/v2/gh/example/book/trunk?urlpath=lab%2Ftree%2Fnotebooks%2F01_try.ipynb"
    )
    assert errors == []
    page.close()


def _mermaid_blocks() -> list[tuple[str, str]]:
    """``(where, diagram)`` for every Mermaid block of the README and the notebooks."""
    fence = re.compile(r"```mermaid\n(.*?)```", re.DOTALL)
    blocks = [("README.md", b) for b in fence.findall((ROOT / "README.md").read_text())]
    for path in NOTEBOOKS:
        for n, cell in enumerate(json.loads(path.read_text())["cells"]):
            if cell["cell_type"] == "markdown":
                blocks += [
                    (f"{path.name} cell {n}", b) for b in fence.findall("".join(cell["source"]))
                ]
    return blocks


def test_the_workbook_has_its_pictures() -> None:
    """The diagrams the workbook promises are there: the architecture in the README and 01,
    the message sequence in 03 and 04, the table and its index in 02, the deploy order in 06."""
    where = {w.split(" cell ")[0] for w, _ in _mermaid_blocks()}
    assert {
        "README.md",
        *(p.name for p in NOTEBOOKS if p.name[:2] in {"01", "02", "03", "04", "06"}),
    } <= where
    kinds = {(w.split(" cell ")[0], b.split()[0]) for w, b in _mermaid_blocks()}
    assert ("03_lambda-handlers.ipynb", "sequenceDiagram") in kinds
    assert ("04_broadcaster.ipynb", "sequenceDiagram") in kinds


@pytest.mark.browser
def test_every_mermaid_diagram_parses(browser: Browser) -> None:
    """Each Mermaid block of the README and the notebooks is valid Mermaid (the pinned
    mermaid.js parses it in Chromium), so GitHub, JupyterLab and the book all draw it."""
    script = ROOT / "node_modules" / "mermaid" / "dist" / "mermaid.min.js"
    if not script.is_file():
        pytest.fail("mermaid is not installed: run npm ci (make does)", pytrace=False)
    page = browser.new_page()
    page.set_content("<html><body></body></html>")
    page.add_script_tag(path=str(script))
    failures = []
    for where, diagram in _mermaid_blocks():
        error = page.evaluate(
            "async (text) => { try { await mermaid.parse(text); return null; }"
            " catch (e) { return String(e.message || e); } }",
            diagram,
        )
        if error:
            failures.append(f"{where}: {error.splitlines()[0]}")
    page.close()
    assert failures == []
    assert len(_mermaid_blocks()) >= 7
