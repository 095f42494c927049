"""The public API: ``wsrelay.__all__`` is sorted, importable, and covers what notebooks use."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import wsrelay

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def _top_level_imports_in_notebooks() -> set[str]:
    names: set[str] = set()
    for notebook in sorted(NOTEBOOKS.glob("*.ipynb")):
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            try:
                tree = ast.parse(
                    "\n".join(
                        line for line in source.splitlines() if not line.startswith(("%", "!"))
                    )
                )
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.module == "wsrelay":
                    names.update(alias.name for alias in node.names)
    return names


def test_all_is_sorted() -> None:
    """``__all__`` is sorted, so additions are easy to review."""
    assert wsrelay.__all__ == sorted(wsrelay.__all__)


def test_every_exported_name_exists() -> None:
    """Each name in ``__all__`` is an attribute of the package."""
    missing = [name for name in wsrelay.__all__ if not hasattr(wsrelay, name)]
    assert missing == []


def test_notebooks_import_only_exported_names() -> None:
    """Every ``from wsrelay import X`` in a notebook names something in ``__all__``."""
    assert _top_level_imports_in_notebooks() <= set(wsrelay.__all__)
