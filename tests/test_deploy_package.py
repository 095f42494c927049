"""``wsrelay.deploy.package``: the Lambda zip holds what the handler imports, reproducibly.

The last test is the real proof: the zip, unpacked into a fresh virtual environment that holds
only boto3 (as the Lambda runtime does), imports ``wsrelay.handlers`` and serves ``$connect``
against a moto server.
"""

from __future__ import annotations

import ast
import importlib.metadata
import io
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
import zipfile
from pathlib import Path

import boto3
import pytest
from conftest import load_event

from wsrelay.deploy import package
from wsrelay.deploy.package import PackagingError, build_zip, handler_modules
from wsrelay.store import ConnectionStore

REAL_PACKAGE = package.PACKAGE_DIR


def _names(zip_bytes: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(zip_bytes)).namelist()


def _fake_package(root: Path, files: dict[str, str]) -> Path:
    """Write a package named ``pkg`` under ``root`` from ``{relative path: source}``."""
    pkg = root / "pkg"
    for relative, source in {"__init__.py": "", **files}.items():
        path = pkg / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return pkg


def test_handler_modules_are_core_modules_only() -> None:
    """The handler's import closure holds handlers and core modules, never local/ or deploy/."""
    modules = handler_modules()
    assert "wsrelay.handlers" in modules
    assert {"wsrelay.events", "wsrelay.protocol", "wsrelay.store", "wsrelay.broadcast"} <= set(
        modules
    )
    assert not [m for m in modules if m.startswith(("wsrelay.local", "wsrelay.deploy"))]
    assert "wsrelay" not in modules


def test_walker_skips_type_checking_and_follows_relative_imports(tmp_path: Path) -> None:
    """TYPE_CHECKING imports are skipped; relative and nested-package imports are followed."""
    pkg = _fake_package(
        tmp_path,
        {
            "entry.py": (
                "from typing import TYPE_CHECKING\nimport json\nimport boto3\n"
                "from . import helper\nimport pkg.sub.deep\n"
                "if TYPE_CHECKING:\n    import numpy\nelse:\n    import csv\n"
            ),
            "helper.py": "from .exceptions_ import Boom\n",
            "exceptions_.py": "class Boom(Exception): ...\n",
            "sub/__init__.py": "from . import other\n",
            "sub/deep.py": "",
            "sub/other.py": "",
            "unused.py": "import numpy\n",
        },
    )
    assert list(handler_modules(pkg, "pkg.entry")) == [
        "pkg.entry",
        "pkg.exceptions_",
        "pkg.helper",
        "pkg.sub",
        "pkg.sub.deep",
        "pkg.sub.other",
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("import requests\n", "imports requests, which AWS Lambda does not provide"),
        ("from pkg import Thing\n", "imports 'Thing' from the package root"),
        ("import pkg.missing\n", "pkg.missing is not a module"),
    ],
)
def test_walker_rejects_what_lambda_cannot_import(
    tmp_path: Path, source: str, message: str
) -> None:
    """A third-party import, a name from the package root or a missing module is an error."""
    pkg = _fake_package(tmp_path, {"entry.py": source})
    with pytest.raises(PackagingError, match=re.escape(message)):
        handler_modules(pkg, "pkg.entry")


def test_zip_holds_the_modules_and_a_minimal_init() -> None:
    """The zip holds each handler module and its own one-line ``__init__``, and no boto3."""
    code = build_zip()
    archive = zipfile.ZipFile(io.BytesIO(code))
    expected = sorted(
        ["wsrelay/__init__.py"]
        + [p.relative_to(REAL_PACKAGE.parent).as_posix() for p in handler_modules().values()]
    )
    assert archive.namelist() == expected
    init = ast.parse(archive.read("wsrelay/__init__.py"))
    assert [type(node) for node in init.body] == [ast.Expr]  # a docstring, nothing to run
    assert archive.read("wsrelay/handlers.py") == (REAL_PACKAGE / "handlers.py").read_bytes()
    assert not [n for n in archive.namelist() if n.startswith(("boto3", "botocore"))]


def test_zip_is_reproducible(tmp_path: Path) -> None:
    """Same sources, same bytes: whatever the files' times and modes, entries are fixed."""
    first = build_zip()
    copy = tmp_path / "wsrelay"
    shutil.copytree(REAL_PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    for path in copy.rglob("*.py"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
        path.chmod(0o755)
    assert build_zip(copy) == first
    for info in zipfile.ZipFile(io.BytesIO(first)).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert info.external_attr >> 16 == 0o100644
        assert info.compress_type == zipfile.ZIP_DEFLATED


# --- the zip in a clean environment -------------------------------------------------------


def _distribution_closure(name: str) -> list[importlib.metadata.Distribution]:
    """The installed distribution ``name`` and everything it requires (extras excluded)."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    pending = [name]
    while pending:
        dist = importlib.metadata.distribution(pending.pop())
        key = dist.metadata["Name"].lower()
        if key in seen:
            continue
        seen[key] = dist
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                match = re.match(r"[A-Za-z0-9._-]+", requirement)
                assert match is not None
                pending.append(match.group(0))
    return list(seen.values())


def _clean_venv(root: Path) -> Path:
    """A venv without pip whose site-packages holds only boto3 and its requirements.

    The packages are linked from this environment (same versions, no network), which is
    what the Lambda runtime offers a function: the standard library and boto3.
    """
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = root / "lib" / version / "site-packages"
    for dist in _distribution_closure("boto3"):
        tops = {Path(str(f)).parts[0] for f in dist.files or [] if not str(f).startswith("..")}
        for top in tops - {"__pycache__"}:
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (site / top).exists():
                (site / top).symlink_to(source)
    return root / "bin" / "python"


_PROBE = """
import importlib.util, json, sys
import wsrelay.handlers
event = json.loads(sys.argv[1])
result = wsrelay.handlers.lambda_handler(event, None)
print(json.dumps({
    "result": result,
    "modules": sorted(m for m in sys.modules if m.split(".")[0] == "wsrelay"),
    "file": wsrelay.__file__,
    "moto": importlib.util.find_spec("moto") is not None,
}))
"""


@pytest.mark.integration
def test_zip_serves_connect_in_a_clean_environment(tmp_path: Path, moto_endpoint: str) -> None:
    """Unpacked beside boto3 alone, the zip imports the handler and stores a $connect."""
    python = _clean_venv(tmp_path / "venv")
    task = tmp_path / "task"
    zipfile.ZipFile(io.BytesIO(build_zip())).extractall(task)
    table = f"zip-{uuid.uuid4().hex[:8]}"
    dynamodb = boto3.client("dynamodb", endpoint_url=moto_endpoint)
    store = ConnectionStore(dynamodb, table)
    store.create_table()
    event = load_event("apiGatewayWebSocketApiConnect")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),  # no ~/.aws of the developer's
        "PYTHONPATH": str(task),  # Lambda puts /var/task on sys.path
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "CONNECTIONS_TABLE": table,
        "AWS_ENDPOINT_URL_DYNAMODB": moto_endpoint,
    }
    done = subprocess.run(
        [str(python), "-c", _PROBE, json.dumps(event)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    probe = json.loads(done.stdout)
    assert probe["result"]["statusCode"] == 200, probe
    assert Path(probe["file"]).parent == task / "wsrelay"
    assert not probe["moto"]
    # What the import really loaded is exactly what the zip holds.
    zipped = sorted(n.removesuffix(".py").replace("/", ".") for n in _names(build_zip()))
    assert probe["modules"] == [m.removesuffix(".__init__") for m in zipped]
    row = store.get(event["requestContext"]["connectionId"])
    assert row is not None and row.room == "lobby"
