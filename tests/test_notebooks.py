"""The workbook: every notebook runs under strict nbval, is listed, clean and complete.

- nbval re-runs each notebook in a fresh kernel and compares every cell's output with the
  stored one (strict: not ``--nbval-lax``), after ``notebooks/nbval_sanitize.cfg``.
- The README's table of notebooks lists every notebook.
- No committed notebook holds an error output, a cell that was never run (nbval would skip
  its comparison) or execution timing metadata.
- Each notebook opens with "What you will learn", "Time:" and what it needs from before
  (it runs on its own), and ends with a recap and a "what local mode does not show you"
  box; 01-06 have exercises: a stub with its exercise's signature, then ``check()``,
  ``hint()`` and ``solution()`` cells, whose stored hints and model answers are folded.
- The answer copies (``wsrelay workbook solve --all``) run with every check "correct", and
  notebook 05's chat runs the learner's ``chat_app/lambda_function.py``: broken there, 05's
  check and its chat fail.

When a stored output is out of date (the package changed what a cell prints), re-execute
the notebook from ``notebooks/``::

    ../.venv/bin/jupyter nbconvert --to notebook --execute --inplace NN_name.ipynb

then ``make format`` (nbstripout --keep-output --keep-count drops the run times and keeps
the outputs), and read the diff before committing it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from wsrelay.local.hosted import HOSTED_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = NOTEBOOKS / "nbval_sanitize.cfg"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
#: The notebooks with exercises (00 checks the environment).
WITH_EXERCISE = {"01", "02", "03", "04", "05", "06", "07", "08", "09"}

pytestmark = pytest.mark.notebooks


def _cells(path: Path) -> list[dict[str, Any]]:
    cells: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return cells


def _source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def test_there_are_notebooks() -> None:
    """The workbook exists: 00 and at least 01-05."""
    numbers = {path.name[:2] for path in PATHS}
    assert {"00", *WITH_EXERCISE} <= numbers


def _nbval(paths: list[Path], junit: str | None = None) -> list[str]:
    """The strict nbval command for ``paths``, run from the repository's root."""
    command = [
        sys.executable,  # the same venv: its kernel, its packages
        "-m",
        "pytest",
        "--nbval",
        *(str(path.relative_to(ROOT)) for path in paths),
        "--nbval-sanitize-with",
        str(SANITIZE.relative_to(ROOT)),
        "--nbval-current-env",  # the kernel runs this Python, whatever kernels are installed
        "-p",
        "no:cacheprovider",
        # pyproject's filterwarnings=error is for our tests, not for nbval and Jupyter's own
        # machinery in the runner; a warning *inside* a kernel still fails, as an unexpected
        # stderr output.
        "-o",
        "filterwarnings=",
        "-q",
    ]
    # `make notebooks` asks for JUnit XML; nbval's own report has a test case per cell.
    reports = os.environ.get("WSRELAY_REPORTS")
    if junit and reports:
        command.append(f"--junitxml={Path(reports, junit).resolve()}")
    return command


def _local_environment() -> dict[str, str]:
    """This environment less the hosted-Jupyter variables: the stored outputs are those of a
    learner's own machine, also when the tests run in Codespaces or on a hub."""
    return {k: v for k, v in os.environ.items() if k not in HOSTED_VARIABLES}


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_notebooks_run_under_strict_nbval(capsys: pytest.CaptureFixture[str]) -> None:
    """Every notebook runs end to end and reproduces its stored outputs (strict nbval)."""
    started = time.monotonic()
    run = subprocess.run(
        _nbval([NOTEBOOKS], junit="nbval.xml"),
        cwd=ROOT,
        env=_local_environment(),
        capture_output=True,
        text=True,
        timeout=850,
    )
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nnbval: {len(PATHS)} notebooks in {elapsed:.0f} s")
    assert run.returncode == 0, (
        f"nbval failed ({elapsed:.0f} s):\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.skipif(sys.platform == "win32", reason="open-file limits are POSIX (RLIMIT_NOFILE)")
def test_broadcaster_notebook_runs_with_macos_default_open_file_limit(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Notebook 04 (200 clients and their 200 server-side sockets in one kernel) passes with
    a soft limit of 256 open files, macOS's default (``ulimit -Sn 256``): the gateway raises it."""
    import resource

    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]

    def macos_default() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    started = time.monotonic()
    run = subprocess.run(
        _nbval([NOTEBOOKS / "04_broadcaster.ipynb"], junit="nbval-256-open-files.xml"),
        cwd=ROOT,
        env=_local_environment(),
        preexec_fn=macos_default,
        capture_output=True,
        text=True,
        timeout=550,
    )
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nnbval: 04 with 256 open files in {elapsed:.0f} s")
    assert run.returncode == 0, (
        f"nbval failed ({elapsed:.0f} s):\n{run.stdout[-20000:]}\n{run.stderr[-5000:]}"
    )


def test_readme_lists_every_notebook() -> None:
    """The README's table of notebooks links each one: ``[…](notebooks/NN_name.ipynb)``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"\]\((?:\./)?notebooks/(\d\d_[A-Za-z0-9_-]+\.ipynb)\)", readme))
    missing = [path.name for path in PATHS if path.name not in listed]
    assert missing == [], f"add a row to the README's table of notebooks for: {', '.join(missing)}"


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_no_error_outputs(path: Path) -> None:
    """A committed notebook holds no error output (a deliberate error is caught and printed)."""
    errors = [
        f"cell {n}: {output.get('ename')}: {output.get('evalue')}"
        for n, cell in enumerate(_cells(path))
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_every_code_cell_was_run_and_timing_is_stripped(path: Path) -> None:
    """Each code cell has an execution count (else nbval skips it) and no timing metadata."""
    unrun = [
        n
        for n, cell in enumerate(_cells(path))
        if cell["cell_type"] == "code" and cell.get("execution_count") is None
    ]
    timed = [n for n, cell in enumerate(_cells(path)) if "execution" in cell.get("metadata", {})]
    assert unrun == [], "cells never run, so their outputs are never checked"
    assert timed == [], "strip metadata.execution (run times) from these cells"


@pytest.mark.parametrize("path", PATHS, ids=[p.name for p in PATHS])
def test_opens_with_goals_and_time_and_ends_with_a_recap(path: Path) -> None:
    """The first cell says what you will learn and how long it takes; the last recaps."""
    cells = _cells(path)
    first, last = cells[0], cells[-1]
    assert first["cell_type"] == "markdown"
    assert "What you will learn" in _source(first)
    assert re.search(r"Time:\**\s*~?\d+", _source(first)), "say 'Time: ~N minutes'"
    assert "You need from before" in _source(first), "say what it needs from before"
    assert last["cell_type"] == "markdown"
    assert re.match(r"#+\s*Recap", _source(last)), "end with a '## Recap' cell"
    assert "What local mode does not show you" in _source(last)


@pytest.mark.parametrize(
    "path", [p for p in PATHS if p.name[:2] in WITH_EXERCISE], ids=lambda p: p.name
)
def test_has_an_exercise_with_check_hint_and_solution(path: Path) -> None:
    """01-06 have an exercise: a stub, then check(), hint() and solution(), in order."""
    code = [_source(cell) for cell in _cells(path) if cell["cell_type"] == "code"]
    stub = next((n for n, src in enumerate(code) if "raise NotImplementedError" in src), None)
    assert stub is not None, "no exercise stub (a function that raises NotImplementedError)"
    positions = []
    for call in (".check(", ".hint()", ".solution()"):
        found = [n for n, src in enumerate(code) if call in src and n > stub]
        assert found, f"no {call} cell after the stub"
        positions.append(found[0])
    assert positions == sorted(positions), "check(), hint(), solution(), in that order"


#: What `make format` runs on the notebooks and `make lint` verifies.
NBSTRIPOUT_FLAGS = ["--keep-output", "--keep-count", "--keep-id"]


def test_nbstripout_drops_run_times_and_keeps_what_nbval_compares(tmp_path: Path) -> None:
    """The Makefile's nbstripout restores a notebook that gained run-time metadata to the
    committed bytes: outputs, execution counts and cell ids untouched."""
    makefile = (ROOT / "Makefile").read_text()
    assert makefile.count(f"nbstripout {' '.join(NBSTRIPOUT_FLAGS)} ") == 2  # format and lint
    original = (NOTEBOOKS / "04_broadcaster.ipynb").read_text(encoding="utf-8")
    notebook = json.loads(original)
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["metadata"]["execution"] = {"iopub.execute_input": "2026-12-01T10:00:00.000Z"}
    copy = tmp_path / "04_broadcaster.ipynb"
    copy.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    nbstripout = [sys.executable, "-m", "nbstripout", *NBSTRIPOUT_FLAGS]
    verify = subprocess.run([*nbstripout, "--verify", copy], capture_output=True)
    assert verify.returncode != 0, "nbstripout --verify did not notice the run times"
    subprocess.run([*nbstripout, copy], check=True)
    assert copy.read_text(encoding="utf-8") == original


def _exercises(path: Path) -> list[Any]:
    """The notebook's exercises (``wsrelay.exercises.nbNN``'s ``q1``, ``q2`` …)."""
    import importlib

    from wsrelay.exercises.core import Exercise

    module = importlib.import_module(f"wsrelay.exercises.nb{path.name[:2]}")
    return [value for value in vars(module).values() if isinstance(value, Exercise)]


def _outputs_text(output: dict[str, Any]) -> dict[str, str]:
    """Each representation of a stored output, as text: mime type (or stream) → text."""
    if output.get("output_type") == "stream":
        return {"stream": "".join(output.get("text", ""))}
    data = output.get("data", {})
    return {mime: "".join(v) if isinstance(v, list) else str(v) for mime, v in data.items()}


@pytest.mark.parametrize(
    "path", [p for p in PATHS if p.name[:2] in WITH_EXERCISE], ids=lambda p: p.name
)
def test_hints_and_model_answers_stay_folded_until_opened(path: Path) -> None:
    """An opened notebook shows no hint and no model answer: each hint() and solution() cell
    stored an HTML <details> (closed) whose plain-text form is its summary alone, and no
    output anywhere else in the notebook holds a hint's text or a line of a model answer."""
    import html

    from wsrelay.workbook_app import ChatApp

    # The lines the file gives (shown in 02 and 03 on purpose) are no one's secret.
    given = ChatApp(Path(tempfile.mkdtemp()) / "chat_app").text()
    secrets: list[str] = []
    for exercise in _exercises(path):
        secrets += list(exercise.hints)
        answer = exercise.model_answer().splitlines()[1:]
        secrets += [line.strip() for line in answer if len(line.strip()) > 30]
    secrets = [s for s in secrets if s not in given]
    folded = 0
    for n, cell in enumerate(_cells(path)):
        if cell["cell_type"] != "code":
            continue
        reveals = re.search(r"\.(hint|solution)\(", _source(cell))
        for output in cell.get("outputs", []):
            shown = _outputs_text(output)
            if reveals:
                assert set(shown) == {"text/html", "text/plain"}, f"cell {n}: {sorted(shown)}"
                opening = shown["text/html"].split(">", 1)[0]
                assert opening == '<details class="wsrelay-exercise"', f"cell {n}: {opening}"
                assert shown["text/plain"].endswith("(folded: open it in Jupyter)")
                body = shown["text/html"].split("</summary>", 1)[1]
                assert body.endswith("</details>"), f"cell {n}: not one closed <details>"
                folded += 1
                shown = {"text/plain": shown["text/plain"]}  # what shows before opening
            for mime, text in shown.items():
                visible = html.unescape(text)
                leaked = [s for s in secrets if s in visible or html.escape(s) in text]
                assert leaked == [], f"cell {n} ({mime}) shows {leaked[0]!r} unasked"
    hints = sum(len(e.hints) for e in _exercises(path))
    assert folded == hints + len(_exercises(path)), "one cell per hint and per model answer"


@pytest.mark.parametrize(
    "path", [p for p in PATHS if p.name[:2] in WITH_EXERCISE], ids=lambda p: p.name
)
def test_each_stub_has_its_exercises_signature(path: Path) -> None:
    """Each function exercise has one stub in the notebook, whose def line is the model
    answer's (so ``wsrelay workbook solve`` and the checker agree on what is written)."""
    import ast

    stubs: dict[str, list[str]] = {}
    for cell in _cells(path):
        if cell["cell_type"] != "code" or "NotImplementedError" not in _source(cell):
            continue
        source = _source(cell)
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef):
                line = source.splitlines()[node.lineno - 1]
                stubs.setdefault(node.name, []).append(line)
    for exercise in _exercises(path):
        if exercise.accepts != "function":
            continue
        name = exercise.reference.__name__
        assert stubs.get(name) == [exercise.model_answer().splitlines()[0]], name


def _execute(
    path: Path, folder: Path, *, allow_errors: bool = False, until: str | None = None
) -> dict[str, Any]:
    """Run a notebook in ``folder`` with a kernel of this Python; return it with its outputs.

    ``until``: run the cells up to the first whose source holds this text, and no further.
    """
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(path, as_version=4)
    if until is not None:
        last = next(n for n, c in enumerate(notebook.cells) if until in _source(c))
        del notebook.cells[last + 1 :]
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    return dict(notebook)


def _checks(notebook: dict[str, Any]) -> list[tuple[str, str]]:
    """``(cell source, verdict text)`` of every ``.check(`` cell."""
    found = []
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and ".check(" in _source(cell):
            texts = [_outputs_text(o).get("text/plain", "") for o in cell.get("outputs", [])]
            found.append((_source(cell), " ".join(texts)))
    return found


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_solved_notebooks_run_with_every_check_correct(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``wsrelay workbook solve --all`` copies run end to end, in order, in a folder of their
    own (their own chat_app/), and every check() in them reads "correct"."""
    from wsrelay.cli import main

    answers = tmp_path / "answers"
    assert main(["workbook", "solve", "--all", str(answers), "--notebooks", str(NOTEBOOKS)]) == 0
    capsys.readouterr()
    started = time.monotonic()
    verdicts = []
    for path in sorted(answers.glob("[0-9][0-9]_*.ipynb")):
        verdicts += [(path.name, *check) for check in _checks(_execute(path, answers))]
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(f"\nsolved notebooks: {len(verdicts)} checks in {elapsed:.0f} s")
    expected = sum(len(_exercises(p)) for p in PATHS if p.name[:2] in WITH_EXERCISE)
    assert len(verdicts) == expected
    wrong = [(name, source, verdict) for name, source, verdict in verdicts if verdict != "correct"]
    assert wrong == []


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_notebook_05_chats_through_the_learners_file(tmp_path: Path) -> None:
    """05's chat is served from chat_app/lambda_function.py: with a broken on_sendmessage
    there, 05's check of the app reads incorrect and its first message reaches no one; with
    the model answer put back, the check reads correct."""
    import shutil

    from wsrelay.exercises import nb05
    from wsrelay.workbook_app import LEARNER_FUNCTIONS, ChatApp

    app = ChatApp(tmp_path / "chat_app")
    app.use_model_answer(*LEARNER_FUNCTIONS)
    model = app.text()
    broken = app.source("on_sendmessage").replace(
        'delivered = broadcast(deps, sender["room"], frame)', "delivered = 0  # broken: no one"
    )
    app._put("on_sendmessage", broken)
    shutil.copy(NOTEBOOKS / "05_live-chat.ipynb", tmp_path)
    first = 'say("ada", "hi, lobby")'
    notebook = _execute(tmp_path / "05_live-chat.ipynb", tmp_path, allow_errors=True, until=first)
    (app_check,) = [v for s, v in _checks(notebook) if "check(app)" in s]
    assert app_check.startswith(
        "incorrect: Ada said 'hi, lobby' and ada, in the lobby, received []"
    )
    (first_message,) = [c for c in notebook["cells"] if first in _source(c)]
    errors = [o for o in first_message["outputs"] if o.get("output_type") == "error"]
    assert errors and errors[0]["ename"] == "TimeoutError"  # Ada's own message never came back
    app.use_model_answer("on_sendmessage")  # restored
    assert app.text() == model
    assert nb05.q1.result(app).correct
