"""The learner's own chat app: ``notebooks/chat_app/``, built in 02-04, served in 05, deployed in 06.

::

    app = ChatApp("chat_app")        # creates chat_app/ (stubs for your functions) if missing

    @app.function                    # writes the function into chat_app/lambda_function.py
    def room_member_ids(deps, room, page_size=None):
        ...

    app.catch_up("02", "03")         # stuck or late: the model answer where a stub is left
    app.use_model_answer("broadcast")  # replace one of yours with the model answer
    app.package()                    # the Lambda zip: lambda_function.py alone

The folder holds two files, copied from the model answer (``wsrelay.exercises.chat_app``):
``lambda_function.py``, whose :data:`LEARNER_FUNCTIONS` start as stubs, and ``template.yaml``,
the SAM template ``LocalGateway.from_template`` serves. It is made by running the notebooks
(each notebook that needs it creates it when it is missing), never committed.

Each function in the file is one of three things, which :meth:`ChatApp.status` reports:
*yours* (written with :meth:`ChatApp.function` or by hand), a *stub* (raises
``NotImplementedError``), or the *model answer* (copied in by :meth:`ChatApp.catch_up` or
:meth:`ChatApp.use_model_answer`, marked by the comment line :data:`MODEL_MARK` above it).
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import io
import sys
import textwrap
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import FunctionType, ModuleType
from typing import Any, TypeVar

from wsrelay.workbook import text_table

__all__ = [
    "APP_FILE",
    "HANDLER",
    "LEARNER_FUNCTIONS",
    "MODEL_MARK",
    "TEMPLATE_FILE",
    "ChatApp",
    "model_module",
    "rebind",
]

APP_FILE = "lambda_function.py"
TEMPLATE_FILE = "template.yaml"
#: The function's ``Handler`` setting: ``module.function`` inside the zip.
HANDLER = "lambda_function.lambda_handler"
#: The functions the learner writes, and the notebook that asks for each.
LEARNER_FUNCTIONS: dict[str, str] = {
    "room_member_ids": "02",
    "move_connection": "02",
    "on_connect": "03",
    "on_sendmessage": "03",
    "remove_stale": "04",
    "broadcast": "04",
}
#: The comment line above a function that is the model answer, not the learner's own.
MODEL_MARK = "# model answer (copied in by catch_up): replace it with your own any time"

_MODEL_DIR = Path(__file__).resolve().parent / "exercises" / "chat_app"
_STUB_MESSAGE = "write it in notebook {notebook}"

F = TypeVar("F", bound=Callable[..., Any])


def model_module() -> ModuleType:
    """The model answer's ``lambda_function`` module (``wsrelay.exercises.chat_app``)."""
    from wsrelay.exercises.chat_app import lambda_function

    return lambda_function


def rebind(function: F, namespace: dict[str, Any]) -> F:
    """``function`` with ``namespace`` as its module globals: what it would be in that file.

    A function written in a notebook cell sees the kernel's globals; in ``lambda_function.py``
    it sees the file's. The checkers run an answer this way, with the model answer's file as
    its globals, so it uses the given helpers (``add_connection``, ``send`` …) as it will
    in the file, and a name the file lacks fails the check as it would fail in Lambda.
    """
    if not isinstance(function, FunctionType):
        return function
    scope = dict(namespace)
    bound = FunctionType(
        function.__code__, scope, function.__name__, function.__defaults__, function.__closure__
    )
    bound.__kwdefaults__ = function.__kwdefaults__
    bound.__doc__ = function.__doc__
    scope[function.__name__] = bound  # so that it can call itself
    return bound  # type: ignore[return-value]


class ChatApp:
    """The learner's chat app in ``folder`` (relative to the notebook): created when missing.

    Args:
        folder: where the app lives; the notebooks use ``chat_app``.
    """

    def __init__(self, folder: str | Path = "chat_app") -> None:
        self.folder = Path(folder)
        self.path = self.folder / APP_FILE
        self.template = self.folder / TEMPLATE_FILE
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            self.path.write_text(_starter(), encoding="utf-8")
        if not self.template.exists():
            self.template.write_text(
                (_MODEL_DIR / TEMPLATE_FILE).read_text(encoding="utf-8"), encoding="utf-8"
            )

    def __repr__(self) -> str:
        return f"ChatApp({str(self.folder)!r})"

    # --- reading the file -------------------------------------------------------------------

    def text(self) -> str:
        """The file's text."""
        return self.path.read_text(encoding="utf-8")

    def state(self, name: str) -> str:
        """``yours``, ``stub``, ``model answer`` or ``missing``: what the file holds for ``name``."""
        return _state(self.text(), name)

    def source(self, name: str) -> str:
        """The source of the function ``name`` as the file has it (without the model mark)."""
        text = self.text()
        found = _find(text, name)
        if found is None:
            raise KeyError(f"{self.path} has no function {name}")
        start, end, _ = found
        lines = text.splitlines(keepends=True)[start:end]
        return "".join(line for line in lines if line.rstrip("\n") != MODEL_MARK)

    def load(self) -> ModuleType:
        """The file as a fresh module (not cached in ``sys.modules``): what Lambda imports."""
        name = f"_chat_app_{uuid.uuid4().hex[:8]}"
        spec = importlib.util.spec_from_file_location(name, self.path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look the module up while it runs
        try:
            spec.loader.exec_module(module)
        finally:
            del sys.modules[name]
        return module

    # --- writing it -------------------------------------------------------------------------

    def function(self, function: F) -> F:
        """Decorator: write ``function`` into the file, replacing its previous version.

        Returns the function as the file now defines it (its globals are the file's), so
        trying it in the notebook is trying the code Lambda will run.
        """
        name = function.__name__
        source = _definition(inspect.getsource(function), name)
        self._put(name, source)
        print(f"✎ {name} → {self.path}")
        written: F = getattr(self.load(), name)
        return written

    def catch_up(self, *notebooks: str) -> None:
        """Copy the model answer in for every function of ``notebooks`` that is still a stub
        (or missing); leave the learner's own alone. Shows what the file holds then."""
        wanted = [n for n, nb in LEARNER_FUNCTIONS.items() if nb in notebooks]
        for name in wanted:
            if self.state(name) in {"stub", "missing"}:
                self._put(name, _model_source(name), mark=True)
        self.status(*notebooks)

    def use_model_answer(self, *names: str) -> None:
        """Replace the functions ``names`` (yours too) with the model answer."""
        unknown = sorted(set(names) - set(LEARNER_FUNCTIONS))
        if unknown:
            raise ValueError(f"not one of the app's exercises: {', '.join(unknown)}")
        for name in names:
            self._put(name, _model_source(name), mark=True)
        self.status()

    def status(self, *notebooks: str) -> None:
        """Print each learner function of ``notebooks`` (default: all) and what the file holds."""
        rows = [
            (name, nb, _describe(self.state(name), nb))
            for name, nb in LEARNER_FUNCTIONS.items()
            if not notebooks or nb in notebooks
        ]
        print(text_table(["function", "notebook", f"in {self.path}"], rows))

    def _put(self, name: str, source: str, *, mark: bool = False) -> None:
        text = self.text()
        block = (MODEL_MARK + "\n" if mark else "") + source.rstrip() + "\n"
        found = _find(text, name)
        lines = text.splitlines(keepends=True)
        if found is not None:
            start, end, _ = found
            lines[start:end] = [block]
        else:
            at = _insertion_line(text)
            lines[at:at] = [block, "\n\n"]
        new = "".join(lines)
        compile(new, str(self.path), "exec")  # never write a file Lambda could not import
        self.path.write_text(new, encoding="utf-8")

    # --- shipping it ------------------------------------------------------------------------

    def package(self) -> bytes:
        """The Lambda zip: ``lambda_function.py`` alone, byte for byte the same each time."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            info = zipfile.ZipInfo(APP_FILE, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, self.path.read_bytes(), compresslevel=9)
        return buffer.getvalue()

    def stubs(self) -> list[str]:
        """The learner functions the file still holds as stubs (or lacks)."""
        return [n for n in LEARNER_FUNCTIONS if self.state(n) in {"stub", "missing"}]


# --- the file's text --------------------------------------------------------------------------


def _describe(state: str, notebook: str) -> str:
    return {
        "yours": "yours",
        "model answer": "the model answer",
        "stub": f"a stub: write it in notebook {notebook}",
        "missing": f"missing: write it in notebook {notebook}",
    }[state]


def _find(text: str, name: str) -> tuple[int, int, ast.FunctionDef] | None:
    """``(first line, end line, node)`` (0-based, end exclusive) of the top-level function
    ``name``, its decorators and the model mark above it included."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            lines = text.splitlines()
            if start > 0 and lines[start - 1] == MODEL_MARK:
                start -= 1
            assert node.end_lineno is not None
            return start, node.end_lineno, node
    return None


def _is_stub(node: ast.FunctionDef) -> bool:
    """Whether the body only raises ``NotImplementedError`` (after an optional docstring)."""
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc
    target = exc.func if isinstance(exc, ast.Call) else exc
    return isinstance(target, ast.Name) and target.id == "NotImplementedError"


def _state(text: str, name: str) -> str:
    found = _find(text, name)
    if found is None:
        return "missing"
    start, _, node = found
    if _is_stub(node):
        return "stub"
    if text.splitlines()[start] == MODEL_MARK:
        return "model answer"
    return "yours"


def _definition(source: str, name: str) -> str:
    """The ``def`` of ``name`` from a cell's source, without ``@app.function``-style decorators."""
    source = textwrap.dedent(source)
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            lines = source.splitlines(keepends=True)
            kept = [
                "".join(lines[d.lineno - 1 : d.end_lineno])
                for d in node.decorator_list
                if not (isinstance(d, ast.Attribute) and d.attr == "function")
            ]
            assert node.end_lineno is not None
            return "".join(kept) + "".join(lines[node.lineno - 1 : node.end_lineno])
    raise ValueError(f"no function {name} in its own source")


def _model_source(name: str) -> str:
    return textwrap.dedent(inspect.getsource(getattr(model_module(), name)))


def _stub_source(name: str) -> str:
    """The model answer's signature and docstring, with a body that raises."""
    source = _model_source(name)
    node = ast.parse(source).body[0]
    assert isinstance(node, ast.FunctionDef)
    lines = source.splitlines(keepends=True)
    first = node.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
    keep_until = first.end_lineno if has_doc else first.lineno - 1
    assert keep_until is not None
    head = "".join(lines[:keep_until])
    message = _STUB_MESSAGE.format(notebook=LEARNER_FUNCTIONS[name])
    return f'{head}    raise NotImplementedError("{message}")\n'


def _starter() -> str:
    """The model answer's file with every learner function a stub: a new app."""
    text = (_MODEL_DIR / APP_FILE).read_text(encoding="utf-8")
    for name in LEARNER_FUNCTIONS:
        found = _find(text, name)
        assert found is not None, name
        start, end, _ = found
        lines = text.splitlines(keepends=True)
        lines[start:end] = [_stub_source(name)]
        text = "".join(lines)
    return text


def _insertion_line(text: str) -> int:
    """Where a new function goes: before ``ROUTES = {…}`` (0-based line)."""
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "ROUTES" for t in node.targets
        ):
            return node.lineno - 1
    return len(text.splitlines())
