"""A function's code as a folder on this machine: a folder as is, a zip or inline code extracted once.

Lambda runs a function from its deployment package unpacked in ``/var/task``. Locally a
folder is used where it is; a ``.zip`` is extracted, and inline code (``Code.ZipFile``) is
written to ``index.py`` as CloudFormation writes it for Python
(https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-lambda-function-code.html),
each into a content-addressed cache, ``{tempdir}/wsrelay-code/{sha256 prefix}``: the same
bytes give the same folder, so a second start reuses it. A folder is built beside its final
place and renamed into it, so two processes extracting the same zip never see each other's
half-written files (the second rename loses and uses the winner's folder).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

__all__ = [
    "CodeError",
    "cache_root",
    "code_folder",
    "folder_for_code_sha256",
    "inline_code_folder",
    "zip_bytes_folder",
]

#: How many hex digits of the SHA-256 name a cached folder.
_PREFIX = 16


class CodeError(ValueError):
    """Code that cannot be made into a folder (missing path, bad zip); the reader adds where."""


def cache_root() -> Path:
    """``{tempdir}/wsrelay-code``: where extracted code lives."""
    return Path(tempfile.gettempdir()) / "wsrelay-code"


def _cached(digest: str, fill: Callable[[Path], None]) -> Path:
    """The cache folder for ``digest``, filled by ``fill`` the first time only."""
    final = cache_root() / digest[:_PREFIX]
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        fill(building)
        os.rename(building, final)
    except OSError:
        # Another process renamed its copy first: use it, drop ours.
        shutil.rmtree(building, ignore_errors=True)
        if not final.is_dir():
            raise
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return final


def _extract(archive: Path, into: Path) -> None:
    with zipfile.ZipFile(archive) as zipped:
        for member in zipped.infolist():
            # A member may not escape the folder ("zip slip"): ../x or /x.
            target = (into / member.filename).resolve()
            if not target.is_relative_to(into.resolve()):
                raise CodeError(
                    f"{archive}: member {member.filename!r} points outside the zip's folder"
                )
        zipped.extractall(into)


def code_folder(path: Path) -> Path:
    """A local code path as a folder: the folder itself, or a zip extracted into the cache.

    Raises:
        CodeError: the path does not exist, or is neither a folder nor a valid zip.
    """
    if path.is_dir():
        return path
    if not path.is_file():
        raise CodeError(f"{path} does not exist")
    if not zipfile.is_zipfile(path):
        if path.suffix.lower() == ".zip":
            raise CodeError(f"{path} is not a valid zip file")
        raise CodeError(f"{path} is neither a folder nor a .zip file")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    try:
        return _cached(digest, lambda into: _extract(path, into))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise CodeError(f"{path} is not a valid zip file ({exc})") from None


def zip_bytes_folder(data: bytes) -> Path:
    """A deployment package given as bytes (what ``wsrelay deploy`` uploads), extracted once.

    Keyed like :func:`code_folder` by the SHA-256 of the zip, which is also what Lambda
    reports as the function's ``CodeSha256`` (base64), so :func:`folder_for_code_sha256`
    finds it again from the deployed function's configuration.

    Raises:
        CodeError: the bytes are not a valid zip.
    """
    digest = hashlib.sha256(data).hexdigest()

    def fill(into: Path) -> None:
        archive = into / ".package.zip"
        archive.write_bytes(data)
        try:
            _extract(archive, into)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
            raise CodeError(f"the package is not a valid zip file ({exc})") from None
        finally:
            archive.unlink(missing_ok=True)

    return _cached(digest, fill)


def folder_for_code_sha256(code_sha256: str) -> Path | None:
    """The cached folder of the package whose Lambda ``CodeSha256`` (base64) this is, if any."""
    try:
        digest = base64.b64decode(code_sha256, validate=True).hex()
    except (ValueError, binascii.Error):
        return None
    folder = cache_root() / digest[:_PREFIX]
    return folder if folder.is_dir() else None


def inline_code_folder(source: str) -> Path:
    """A folder holding inline code (``Code.ZipFile``) as ``index.py``."""
    digest = hashlib.sha256(b"index.py\0" + source.encode()).hexdigest()

    def write(into: Path) -> None:
        (into / "index.py").write_text(source, encoding="utf-8")

    return _cached(digest, write)
