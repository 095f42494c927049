"""The public API is what the notebooks import: each name they take is in its module's ``__all__``.

A notebook imports ``from wsrelay.<module> import <name>`` (never from the package root), so
the check reads every notebook's code cells and holds each such name against ``__all__`` of
the module it comes from (a submodule, such as ``wsrelay.exercises.nb01``, counts as a name
of its package). Every module's ``__all__`` is also sorted and importable
(httpx ``tests/test_exported_members.py``, websockets ``tests/test_exports.py``).
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import json
import pkgutil
from pathlib import Path

import pytest

import wsrelay

NOTEBOOKS = Path(__file__).parent.parent / "notebooks"


def notebook_imports() -> dict[tuple[str, str], list[str]]:
    """(module, name) → the notebooks importing it, for every ``from wsrelay… import name``."""
    found: dict[tuple[str, str], list[str]] = {}
    for notebook in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        for cell in json.loads(notebook.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "\n".join(
                line
                for line in "".join(cell["source"]).splitlines()
                if not line.lstrip().startswith(("%", "!"))
            )
            for node in ast.walk(ast.parse(source)):
                if (
                    isinstance(node, ast.ImportFrom)
                    and (node.module or "").split(".")[0] == "wsrelay"
                ):
                    for alias in node.names:
                        key = (str(node.module), alias.name)
                        found.setdefault(key, []).append(notebook.name)
    return found


IMPORTS = notebook_imports()


def test_the_notebooks_import_something() -> None:
    """The scan finds the workbook's imports (it would pass vacuously otherwise)."""
    assert ("wsrelay.local", "LocalGateway") in IMPORTS
    assert len(IMPORTS) > 20


@pytest.mark.parametrize(("module", "name"), sorted(IMPORTS), ids=lambda v: str(v))
def test_each_name_a_notebook_imports_is_exported(module: str, name: str) -> None:
    """``from <module> import <name>`` in a notebook: ``name`` is in ``<module>.__all__``."""
    imported = importlib.import_module(module)
    if hasattr(imported, "__path__") and importlib.util.find_spec(f"{module}.{name}") is not None:
        return  # a submodule of a package (``from wsrelay.exercises import nb01``)
    exported = getattr(imported, "__all__", None)
    assert exported is not None, f"{module} has no __all__ ({IMPORTS[(module, name)]})"
    assert name in exported, f"{IMPORTS[(module, name)]} import {name} from {module}"
    assert hasattr(imported, name)


def _isort_style(name: str) -> tuple[int, str]:
    """Ruff's order for ``__all__`` (RUF022): CONSTANTS, then Classes, then the rest."""
    group = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    return group, name


MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(wsrelay.__path__, "wsrelay.")
    if not info.name.endswith("__main__")
)


@pytest.mark.parametrize("module", MODULES)
def test_all_is_sorted_and_importable(module: str) -> None:
    """``__all__`` is sorted as ruff sorts it, so additions are easy to review; each name exists."""
    imported = importlib.import_module(module)
    exported = getattr(imported, "__all__", None)
    if exported is None:
        return
    assert list(exported) == sorted(exported, key=_isort_style)
    assert [name for name in exported if not hasattr(imported, name)] == []
