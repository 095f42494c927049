"""No module reads or writes a private attribute of aiohttp, websockets or moto, but the adapters.

The gateway's correctness rests on these libraries' public APIs (aiohttp's low-level server,
asyncio's ``Transport.set_protocol``, websockets' sans-I/O protocol). moto's internals are
reached through ``wsrelay.local.dynamodb.moto_adapter`` (version gate, canary) and the fast
paths it installs; botocore's ``BUILTIN_HANDLERS`` through ``lambda_runtime.aws_hooks``.
This test reads every module with ``ast`` and fails on an ``obj._name`` whose ``obj`` is not
the module's own (``self``, ``cls``, a name the module defines).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import wsrelay

PACKAGE = Path(wsrelay.__file__).parent
#: The gated adapters: the one place each library's internals may be touched.
ADAPTERS = {"local/dynamodb/moto_adapter.py", "local/dynamodb/motofast.py"}
LIBRARIES = ("aiohttp", "websockets", "moto", "multidict", "yarl")


def _third_party_names(tree: ast.Module) -> set[str]:
    """The names a module binds to one of the libraries (``import x``, ``from x import y``)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in LIBRARIES:
                    names.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in LIBRARIES:
            names.update(alias.asname or alias.name for alias in node.names)
    return names


def private_uses(path: Path) -> list[tuple[int, str]]:
    """``(line, expression)`` for each private attribute read or written on a library object."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    library = _third_party_names(tree)
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        if not node.attr.startswith("_") or node.attr.startswith("__"):
            continue
        root = node.value
        while isinstance(root, ast.Attribute | ast.Call | ast.Subscript):
            root = root.value if not isinstance(root, ast.Call) else root.func
        if isinstance(root, ast.Name) and root.id in library:
            found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node.value, ast.Attribute) and node.value.attr in {
            "protocol",
            "transport",
            "_payload_parser",
        }:
            found.append((node.lineno, ast.unparse(node)))  # request.protocol._x and the like
    return found


MODULES = sorted(
    p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).as_posix() not in ADAPTERS
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_private_attributes_of_libraries(path: Path) -> None:
    """No ``aiohttp.x._y``, ``request.protocol._y`` or ``Table._y`` outside the adapters."""
    assert private_uses(path) == []


def test_the_scan_finds_one(tmp_path: Path) -> None:
    """The check itself works on the kind of code ``frames.py`` held before."""
    module = tmp_path / "old.py"
    module.write_text(
        "from aiohttp import web\n"
        "from moto.dynamodb.models.table import Table\n"
        "def f(request, ws):\n"
        "    request.protocol._payload_parser = ws\n"
        "    web.WebSocketResponse._post_start(ws)\n"
        "    Table._item_comes_before_dct\n"
    )
    assert sorted(line for line, _ in private_uses(module)) == [4, 5, 6]
