"""The workbook: every notebook runs under strict nbval, is listed, clean and complete.

- nbval re-runs each notebook in a fresh kernel and compares every cell's output with the
  stored one (strict: not ``--nbval-lax``), after ``notebooks/nbval_sanitize.cfg``.
- The README's table of notebooks lists every notebook.
- No committed notebook holds an error output, a cell that was never run (nbval would skip
  its comparison) or execution timing metadata.
- Each notebook opens with "What you will learn" and "Time:", ends with a recap, and
  01-05 end with an exercise: a ``check()``, a ``hint()`` and a ``solution()`` cell.

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
import time
from pathlib import Path
from typing import Any

import pytest

from wsrelay.local.hosted import HOSTED_VARIABLES

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
SANITIZE = NOTEBOOKS / "nbval_sanitize.cfg"
PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
#: The notebooks that end with an exercise (00 checks the environment; 06 deploys to AWS).
WITH_EXERCISE = {"01", "02", "03", "04", "05"}

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
    assert last["cell_type"] == "markdown"
    assert re.match(r"#+\s*Recap", _source(last)), "end with a '## Recap' cell"


@pytest.mark.parametrize(
    "path", [p for p in PATHS if p.name[:2] in WITH_EXERCISE], ids=lambda p: p.name
)
def test_has_an_exercise_with_check_hint_and_solution(path: Path) -> None:
    """01-05 end with an exercise: a stub, then check(), hint() and solution(), in order."""
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
