"""Code as folders: zips extracted once into a content-addressed cache, inline code as index.py."""

from __future__ import annotations

import hashlib
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from wsrelay.local.lambda_runtime.code import CodeError, cache_root, code_folder, inline_code_folder


def make_zip(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_a_folder_is_used_where_it_is(tmp_path: Path) -> None:
    """A folder is its own code folder: nothing is copied."""
    assert code_folder(tmp_path) == tmp_path


def test_a_zip_is_extracted_into_the_cache(tmp_path: Path) -> None:
    """A zip's files appear in ``{tempdir}/wsrelay-code/{sha256 prefix}``."""
    folder = code_folder(
        make_zip(tmp_path / "fn.zip", {"app.py": "X = 1\n", "pkg/mod.py": "Y = 2\n"})
    )
    assert folder.parent == cache_root()
    assert (folder / "app.py").read_text() == "X = 1\n"
    assert (folder / "pkg" / "mod.py").read_text() == "Y = 2\n"


def test_the_cache_is_reused_for_the_same_bytes(tmp_path: Path) -> None:
    """The same zip (even under another name) gives the same folder, not extracted again."""
    first = code_folder(make_zip(tmp_path / "a.zip", {"app.py": "reuse = True\n"}))
    (first / "marker").write_text("left by the first extraction")
    second = code_folder(make_zip(tmp_path / "b.zip", {"app.py": "reuse = True\n"}))
    assert second == first and (second / "marker").exists()


def test_different_zips_get_different_folders(tmp_path: Path) -> None:
    """Other bytes, another folder."""
    one = code_folder(make_zip(tmp_path / "a.zip", {"app.py": "V = 1\n"}))
    two = code_folder(make_zip(tmp_path / "b.zip", {"app.py": "V = 2\n"}))
    assert one != two


def test_a_bad_zip_is_a_clear_error(tmp_path: Path) -> None:
    """A .zip that is not a zip says so."""
    bad = tmp_path / "fn.zip"
    bad.write_bytes(b"PK not really a zip")
    with pytest.raises(CodeError, match=r"fn\.zip is not a valid zip file"):
        code_folder(bad)


def test_a_zip_member_may_not_escape(tmp_path: Path) -> None:
    """A member named ../x is refused (and nothing is left in the cache)."""
    archive = make_zip(tmp_path / "evil.zip", {"../escaped.py": "X = 1\n"})
    with pytest.raises(CodeError, match="points outside"):
        code_folder(archive)
    assert not (cache_root().parent / "escaped.py").exists()


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    """A code path that does not exist."""
    with pytest.raises(CodeError, match="does not exist"):
        code_folder(tmp_path / "missing")


def test_inline_code_is_index_py() -> None:
    """Inline code is written to index.py, once per text."""
    folder = inline_code_folder("def handler(event, context):\n    return 'inline'\n")
    assert (folder / "index.py").read_text().endswith("return 'inline'\n")
    assert inline_code_folder("def handler(event, context):\n    return 'inline'\n") == folder


def test_the_cache_folder_is_named_by_the_zips_hash(tmp_path: Path) -> None:
    """``wsrelay-code/{first 16 hex digits of the zip's SHA-256}``."""
    archive = make_zip(tmp_path / "fn.zip", {"app.py": "named = True\n"})
    expected = hashlib.sha256(archive.read_bytes()).hexdigest()[:16]
    assert code_folder(archive) == cache_root() / expected


def test_concurrent_extractions_agree(tmp_path: Path) -> None:
    """Several extractions of one new zip at once all get the same complete folder."""
    archive = make_zip(
        tmp_path / "fn.zip",
        {f"m{i}.py": f"N = {i}\n" * 200 for i in range(30)} | {"id": str(tmp_path)},
    )
    with ThreadPoolExecutor(max_workers=8) as pool:
        folders = set(pool.map(lambda _: code_folder(archive), range(8)))
    (folder,) = folders
    assert len(list(folder.glob("m*.py"))) == 30
    assert not [p for p in folder.parent.glob(f".{folder.name}-*")]  # no half-built copies left
