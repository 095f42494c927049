"""Build the Lambda deployment package: ``wsrelay.handlers`` and the modules it imports.

The module list is not written by hand: ``handler_modules`` reads the handler's source with
``ast`` and follows every import inside the package, so a new import in a core module ships
without anyone editing a list. Anything imported from outside the package must be in the
standard library or be ``boto3``/``botocore``, which the Lambda Python runtime provides
(https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html); any other import is an
error, because the function would fail with ``ImportModuleError`` on its first event.
Imports under ``if TYPE_CHECKING:`` never run, so they are skipped.

The package's real ``__init__.py`` re-exports conveniences for notebooks (and may import
things Lambda lacks), so the zip gets a one-line ``wsrelay/__init__.py`` of its own; a module
that imports a name from the package root instead of from its module is therefore an error.

The zip is reproducible: the same sources give the same bytes (entries sorted, timestamps
1980-01-01, mode 0644, fixed compression), so ``CodeSha256`` tells whether code changed.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import io
import sys
import zipfile
from pathlib import Path

from wsrelay.exceptions import WsrelayError

__all__ = [
    "ENTRY_MODULE",
    "LAMBDA_PROVIDED",
    "PackagingError",
    "build_zip",
    "code_sha256",
    "handler_modules",
    "has_module",
]

ENTRY_MODULE = "wsrelay.handlers"
#: Top-level packages the Lambda Python runtime already holds; they are not bundled.
LAMBDA_PROVIDED = frozenset({"boto3", "botocore"})
PACKAGE_DIR = Path(__file__).resolve().parent.parent

_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
_INIT = b'"""wsrelay, as packaged for AWS Lambda: only what wsrelay.handlers imports."""\n'


class PackagingError(WsrelayError):
    """The handler imports something the Lambda package cannot contain."""


def _module_file(package_dir: Path, module: str) -> Path | None:
    """The source file of ``module`` (dotted, starting with the package's name), if any."""
    parts = module.split(".")[1:]
    base = package_dir.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if parts and candidate.is_file():
            return candidate
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool) -> list[tuple[str, int, list[str]]]:
    """``(module, line, names)`` for each import that runs, relative ones made absolute."""
    found: list[tuple[str, int, list[str]]] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno, []) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = module.split(".")
                parent = parent[: len(parent) - node.level + (1 if is_package else 0)]
                base = ".".join([*parent, base] if base else parent)
            found.append((base, node.lineno, [alias.name for alias in node.names]))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def handler_modules(package_dir: Path = PACKAGE_DIR, entry: str = ENTRY_MODULE) -> dict[str, Path]:
    """Find the package's modules that importing ``entry`` runs, following imports.

    Args:
        package_dir: the package's directory (its name is the package's name).
        entry: the dotted module Lambda imports first.

    Returns:
        Module name → source file, sorted by name, without the package's own ``__init__``.

    Raises:
        PackagingError: a module imports something outside the standard library and
            ``LAMBDA_PROVIDED``, or imports a name from the package root.
    """
    root = package_dir.name
    found: dict[str, Path] = {}
    pending = [entry]
    while pending:
        module = pending.pop()
        path = _module_file(package_dir, module)
        if module in found or path is None:
            if path is None and module != root:
                raise PackagingError(f"{module} is not a module of {package_dir}")
            continue
        found[module] = path
        tree = ast.parse(path.read_bytes(), filename=str(path))
        for name, line, names in _imports(tree, module, path.name == "__init__.py"):
            where = f"{path.name}:{line}"
            top = name.split(".")[0]
            if top != root:
                if top not in sys.stdlib_module_names and top not in LAMBDA_PROVIDED:
                    raise PackagingError(
                        f"{where} imports {name}, which AWS Lambda does not provide: the "
                        f"handlers may use only the standard library and boto3"
                    )
                continue
            # "import wsrelay.x.y" runs wsrelay/x/__init__.py too.
            parts = name.split(".")
            pending.extend(".".join(parts[:i]) for i in range(2, len(parts) + 1))
            for attr in names:
                if _module_file(package_dir, f"{name}.{attr}") is not None:
                    pending.append(f"{name}.{attr}")
                elif name == root:
                    raise PackagingError(
                        f"{where} imports {attr!r} from the package root, whose __init__ "
                        f"is not shipped to Lambda: import it from its own module"
                    )
    return dict(sorted(found.items()))


def build_zip(package_dir: Path = PACKAGE_DIR, entry: str = ENTRY_MODULE) -> bytes:
    """Return the deployment package: ``entry``'s modules and a minimal ``__init__.py``.

    The same sources always give the same bytes (see the module docstring).

    Raises:
        PackagingError: as ``handler_modules``.
    """
    root = package_dir.name
    files = {f"{root}/__init__.py": _INIT}
    for path in handler_modules(package_dir, entry).values():
        relative = path.relative_to(package_dir).as_posix()
        files[f"{root}/{relative}"] = path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.create_system = 3  # Unix, so external_attr is read as a file mode
            info.external_attr = 0o100644 << 16  # a regular file, rw-r--r--
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name], compresslevel=9)
    return buffer.getvalue()


def has_module(zip_bytes: bytes, module: str) -> bool:
    """Whether a Lambda zip holds ``module`` (``wsrelay.fanout`` → ``wsrelay/fanout.py``)."""
    path = module.replace(".", "/")
    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        names = set(archive.namelist())
    return f"{path}.py" in names or f"{path}/__init__.py" in names


def code_sha256(zip_bytes: bytes) -> str:
    """The zip's hash as Lambda reports it in ``CodeSha256`` (base64 of the SHA-256)."""
    return base64.b64encode(hashlib.sha256(zip_bytes).digest()).decode("ascii")
