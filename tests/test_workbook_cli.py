"""``wsrelay workbook solve``: answer copies of the notebooks, made from the stubs.

These tests read the copies; ``tests/test_notebooks.py`` runs them and finds every check
reading "correct".
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import pytest

from wsrelay.cli import main
from wsrelay.exercises import nb02, nb06
from wsrelay.workbook_cli import SolveError, solve_notebook

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"


def _code(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _function(sources: list[str], name: str) -> str:
    for source in sources:
        for node in ast.parse(source).body:
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return ast.get_source_segment(source, node) or ""
    raise AssertionError(f"no function {name}")


def test_solve_fills_each_stub_with_its_model_answer(tmp_path: Path) -> None:
    """Both stubs of notebook 02 become their model answers, decorators kept, in place."""
    out = tmp_path / "02.ipynb"
    solved = solve_notebook(NOTEBOOKS / "02_connections-table.ipynb", out)
    assert solved.filled == ("move_connection", "room_member_ids")
    code = _code(out)
    assert _function(code, "move_connection") == nb02.q1.model_answer()
    assert _function(code, "room_member_ids") == nb02.q2.model_answer()
    cell = next(src for src in code if "def room_member_ids" in src)
    assert cell.startswith("@app.function\ndef room_member_ids(deps, room, page_size=None):")
    assert "raise NotImplementedError" not in "".join(code)


def test_the_copy_says_what_it_is_and_has_no_outputs(tmp_path: Path) -> None:
    """A first cell names the copy; every output and execution count of the stub's run is gone;
    everything else is the notebook as it was."""
    source = NOTEBOOKS / "06_deploy-to-aws.ipynb"
    out = tmp_path / "06.ipynb"
    solve_notebook(source, out)
    original = json.loads(source.read_text())["cells"]
    cells = json.loads(out.read_text())["cells"]
    assert "**Answer copy**" in "".join(cells[0]["source"])
    assert "06_deploy-to-aws.ipynb" in "".join(cells[0]["source"])
    assert len(cells) == len(original) + 1
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)
    unchanged = [a for a, b in zip(original, cells[1:], strict=True) if a["source"] == b["source"]]
    assert len(unchanged) == len(original) - 2  # the two exercise cells
    assert _function(_code(out), "resources_left") == nb06.q1.model_answer()


def test_a_notebook_without_a_stub_for_its_exercise_is_an_error(tmp_path: Path) -> None:
    """A notebook that lost an exercise's stub cannot be solved; the error names it."""
    notebook = json.loads((NOTEBOOKS / "02_connections-table.ipynb").read_text())
    for cell in notebook["cells"]:
        text = "".join(cell["source"])
        if "def move_connection" in text:
            cell["source"] = ["print('no stub here')\n"]
    broken = tmp_path / "02_connections-table.ipynb"
    broken.write_text(json.dumps(notebook))
    with pytest.raises(SolveError, match="no stub for move_connection"):
        solve_notebook(broken, tmp_path / "out.ipynb")


def test_solve_one_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``wsrelay workbook solve NOTEBOOK -o OUT`` writes OUT and says what it filled."""
    out = tmp_path / "answers" / "04.ipynb"
    source = NOTEBOOKS / "04_broadcaster.ipynb"
    assert main(["workbook", "solve", str(source), "-o", str(out)]) == 0
    assert capsys.readouterr().out == f"{source} → {out}: remove_stale, broadcast\n"
    assert out.is_file()


def test_solve_all_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--all DIR`` writes a copy of every notebook under its own name."""
    out = tmp_path / "answers"
    assert main(["workbook", "solve", "--all", str(out), "--notebooks", str(NOTEBOOKS)]) == 0
    names = sorted(p.name for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert sorted(p.name for p in out.iterdir()) == names
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == len(names)
    assert printed[0].endswith("00_check-environment.ipynb: no exercise to fill")
    assert printed[5].endswith("05_live-chat.ipynb: chat_once")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["workbook", "solve"], "give NOTEBOOK -o OUT, or --all DIR"),
        (["workbook", "solve", "x.ipynb"], "give NOTEBOOK -o OUT, or --all DIR"),
        (["workbook", "solve", "missing.ipynb", "-o", "o.ipynb"], "missing.ipynb does not exist"),
        (["workbook", "solve", "a.ipynb", "--all", "d"], "not both"),
    ],
)
def test_bad_arguments_say_what_to_give(
    argv: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    """Missing or conflicting arguments exit with 2 and one line on what to give."""
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
