"""Large outputs stored by reference: content-addressed files in the run's workspace.

The one function to swap for the blob store (context-engine issue): callers keep only the returned
reference, never the path layout.

The workspace belongs to the sandboxed command, which may have planted anything in it: `.outputs` as a
symlink to a host directory, `.outputs/<sha>.txt` as a dangling link into /etc. So every step here is
relative to a directory handle and never follows a link: the workspace is opened with O_NOFOLLOW, an
untrusted `.outputs` is moved aside rather than used, and the file is created under a fresh name with
O_EXCL|O_NOFOLLOW and renamed into place (a rename replaces a planted link, it never writes through one).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

OUTPUTS_DIR = ".outputs"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def store_output(workspace: Path, source: Path) -> dict:
    """Move `source` into `<workspace>/.outputs/<sha256>.txt`; return `{"ref", "path", "bytes"}`."""
    ws = os.open(workspace, _DIR_FLAGS)
    try:
        outputs = _open_outputs_dir(ws)
        try:
            ref, size = _copy_in(source, outputs)
        finally:
            os.close(outputs)
    finally:
        os.close(ws)
    source.unlink()
    return {"ref": ref, "path": f"{OUTPUTS_DIR}/{ref}.txt", "bytes": size}


def _open_outputs_dir(ws: int) -> int:
    """A handle on `.outputs`, a real directory owned by this process and writable by it alone.

    Root-owned and read-only to the sandbox uid: a later command may read a stored output, not alter it.
    Whatever else sits at that name (a link, a file, a directory the command made) is moved aside.
    """
    for _ in range(3):
        try:
            os.mkdir(OUTPUTS_DIR, 0o755, dir_fd=ws)
        except FileExistsError:
            pass
        try:
            fd = os.open(OUTPUTS_DIR, _DIR_FLAGS, dir_fd=ws)
        except OSError:  # ELOOP: a symlink; ENOTDIR: a file or a link to one
            fd = None
        if fd is not None:
            st = os.fstat(fd)
            if st.st_uid == os.geteuid() and not st.st_mode & 0o022:
                return fd
            os.close(fd)
        # rename acts on the entry itself, never on what a link points to.
        os.rename(OUTPUTS_DIR, f"{OUTPUTS_DIR}.untrusted-{secrets.token_hex(4)}", src_dir_fd=ws, dst_dir_fd=ws)
    raise OSError(f"cannot create a trusted {OUTPUTS_DIR} directory in the workspace")


def _copy_in(source: Path, outputs: int) -> tuple[str, int]:
    """Copy `source` into `outputs` under its digest, through handles only; return (digest, size)."""
    digest = hashlib.sha256()
    temp = f".incoming-{secrets.token_hex(8)}"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=outputs)
    size = 0
    try:
        os.fchmod(fd, 0o644)  # whatever the umask
        with source.open("rb") as src:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                _write_all(fd, chunk)
                size += len(chunk)
    except BaseException:
        os.close(fd)
        os.unlink(temp, dir_fd=outputs)
        raise
    os.close(fd)
    ref = digest.hexdigest()
    os.rename(temp, f"{ref}.txt", src_dir_fd=outputs, dst_dir_fd=outputs)
    return ref, size


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
