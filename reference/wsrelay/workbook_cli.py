"""``wsrelay workbook solve``: copies of the notebooks with every exercise filled in.

::

    wsrelay workbook solve notebooks/02_connections-table.ipynb -o answers/02.ipynb
    wsrelay workbook solve --all answers/          # every notebooks/NN_*.ipynb, same names

An exercise's stub is a function in a code cell whose body only raises
``NotImplementedError``; its model answer is the one its checker is proven against
(``wsrelay.exercises.nbNN``, ``Exercise.model_answer``). The stub's ``def`` and body are
replaced by the model answer; decorators (``@app.function``) and the rest of the cell stay.
The copy's outputs are cleared (they were the stub's), and a first cell says what it is:
instructors get answer notebooks, and a team that grades gets a known-good run (run it with
``jupyter nbconvert --execute``: every ``check()`` then reads "correct").
"""

from __future__ import annotations

import argparse
import ast
import importlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wsrelay.exceptions import WsrelayError

__all__ = ["SolveError", "Solved", "register", "run", "solve_notebook"]

NOTEBOOK_GLOB = "[0-9][0-9]_*.ipynb"

_BANNER = (
    "**Answer copy** (made by `wsrelay workbook solve`): every exercise below holds its model "
    "answer, and the outputs were cleared. Run it from the top: each `check()` reads "
    '"correct". The learner\'s notebook is `{name}`.'
)


class SolveError(WsrelayError):
    """A notebook's exercises and stubs do not match (the message says which)."""


@dataclass(frozen=True)
class Solved:
    """What was filled in one notebook: the model answers' names, in cell order."""

    source: Path
    output: Path
    filled: tuple[str, ...]


def _exercises(number: str) -> dict[str, Any]:
    """Function name → Exercise, for the exercises of notebook ``number`` that take a function."""
    from wsrelay.exercises.core import Exercise

    try:
        module = importlib.import_module(f"wsrelay.exercises.nb{number}")
    except ModuleNotFoundError:
        return {}
    found = {}
    for value in vars(module).values():
        if isinstance(value, Exercise) and value.accepts == "function":
            found[value.reference.__name__] = value
    return found


def _is_stub(node: ast.FunctionDef) -> bool:
    from wsrelay.workbook_app import _is_stub as is_stub

    return is_stub(node)


def _solve_cell(source: str, exercises: dict[str, Any]) -> tuple[str, list[str]]:
    """The cell's source with its stubs replaced, and the names replaced."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, []  # IPython magics: no exercise cell has them
    lines = source.splitlines(keepends=True)
    filled = []
    for node in reversed(tree.body):  # from the end, so earlier line numbers stay valid
        if not (isinstance(node, ast.FunctionDef) and node.name in exercises and _is_stub(node)):
            continue
        assert node.end_lineno is not None
        answer = exercises[node.name].model_answer().rstrip("\n") + "\n"
        lines[node.lineno - 1 : node.end_lineno] = [answer]
        filled.append(node.name)
    return "".join(lines), filled[::-1]


def solve_notebook(source: Path, output: Path) -> Solved:
    """Write ``output``: ``source`` with every exercise filled with its model answer.

    Raises:
        SolveError: an exercise of the notebook has no stub in it, or two.
    """
    notebook = json.loads(source.read_text(encoding="utf-8"))
    exercises = _exercises(source.name[:2])
    filled: list[str] = []
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        text = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        solved, names = _solve_cell(text, exercises)
        if names:
            cell["source"] = solved.splitlines(keepends=True)
            filled += names
        cell["outputs"] = []
        cell["execution_count"] = None
    missing = sorted(set(exercises) - set(filled))
    twice = sorted({n for n in filled if filled.count(n) > 1})
    if missing or twice:
        problem = f"no stub for {', '.join(missing)}" if missing else f"two stubs of {twice}"
        raise SolveError(
            f"{source}: {problem} (exercises of wsrelay.exercises.nb{source.name[:2]})"
        )
    banner = {
        "cell_type": "markdown",
        "id": f"answers-{source.name[:2]}",
        "metadata": {},
        "source": [_BANNER.format(name=source.name)],
    }
    notebook["cells"].insert(0, banner)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return Solved(source, output, tuple(filled))


def register(name: str, parser: argparse.ArgumentParser) -> None:
    """Add ``wsrelay workbook``'s sub-commands to ``parser``."""
    commands = parser.add_subparsers(dest="workbook_command", required=True, metavar="COMMAND")
    solve = commands.add_parser(
        "solve",
        help="copy notebooks with every exercise filled with its model answer",
        description="Copy a notebook (or all of them) with every exercise filled with its "
        "model answer, outputs cleared.",
    )
    solve.add_argument("notebook", nargs="?", type=Path, help="the notebook to solve")
    solve.add_argument("-o", "--output", type=Path, help="where to write the solved notebook")
    solve.add_argument(
        "--all",
        metavar="DIR",
        type=Path,
        help=f"solve every notebook ({NOTEBOOK_GLOB}) of --notebooks into DIR, same names",
    )
    solve.add_argument(
        "--notebooks",
        metavar="DIR",
        type=Path,
        default=Path("notebooks"),
        help="where the workbook's notebooks are, for --all (default: notebooks)",
    )


def run(args: argparse.Namespace) -> int:
    """Run ``wsrelay workbook solve``; 0 on success, 1 when a notebook cannot be solved,
    2 for a bad argument."""
    if args.all is not None:
        if args.notebook is not None or args.output is not None:
            print(
                "wsrelay workbook solve: give NOTEBOOK -o OUT, or --all DIR, not both",
                file=sys.stderr,
            )
            return 2
        sources = sorted(args.notebooks.glob(NOTEBOOK_GLOB))
        if not sources:
            print(
                f"wsrelay workbook solve: no {NOTEBOOK_GLOB} in {args.notebooks}", file=sys.stderr
            )
            return 2
        jobs = [(path, args.all / path.name) for path in sources]
    else:
        if args.notebook is None or args.output is None:
            print("wsrelay workbook solve: give NOTEBOOK -o OUT, or --all DIR", file=sys.stderr)
            return 2
        if not args.notebook.is_file():
            print(f"wsrelay workbook solve: {args.notebook} does not exist", file=sys.stderr)
            return 2
        jobs = [(args.notebook, args.output)]
    for source, output in jobs:
        try:
            solved = solve_notebook(source, output)
        except SolveError as exc:
            print(f"wsrelay workbook solve: {exc}", file=sys.stderr)
            return 1
        what = ", ".join(solved.filled) if solved.filled else "no exercise to fill"
        print(f"{source} → {output}: {what}")
    return 0
