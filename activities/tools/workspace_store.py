"""Where tool calls find a run chain's files: a local directory, or a shared store any worker serves.

`LocalWorkspaces` is the embedded default: `<root>/<digest of chain id>` (workspaces.py) on this host,
or on a shared filesystem mounted at the same path on every host. `SharedWorkspaces` keeps the files
in the blob store (content-addressed, encrypted like every blob) and each chain's file list (path ->
digest, versioned) in the ledger, so any worker with the same ledger and blob store can serve any
run: a call materialises the list into a local cache directory, runs, and writes back what changed
before its receipt is recorded. A crash between the two leaves the files of an effect whose receipt
says `started`, which is exactly what reconciliation already expects on a local disk.

Not kept: empty directories, file modes, symlinks and other non-regular files (a symlink is never
followed on upload, so a tool cannot publish a file outside its workspace through one).
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import structlog

from activities.context.blobs import BlobStore
from activities.ledger import LedgerBackend
from activities.tools.workspaces import workspace_dir
from workflows.contracts.base import blob_digest

log = structlog.get_logger(__name__)
MARKER = ".store-id"


def local_store_id(directory: Path, kind: str, marker_name: str = MARKER) -> str:
    """The id of a store kept in `directory`: made once, in a marker file, on first use. A second
    host that mounts the same directory (a shared filesystem) reads the same id."""
    directory.mkdir(parents=True, exist_ok=True)
    marker = directory / marker_name
    try:
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        return marker.read_text().strip()
    value = f"{kind}-{uuid.uuid4().hex}"
    with os.fdopen(fd, "w") as f:
        f.write(value)
        f.flush()
        os.fsync(f.fileno())
    return value


class WorkspaceStore(ABC):
    kind: str

    @abstractmethod
    def store_id(self) -> str: ...

    @abstractmethod
    def checkout(self, chain_id: str) -> AbstractContextManager[Path]:
        """A context manager: the chain's workspace as a local directory for one tool attempt."""


class LocalWorkspaces(WorkspaceStore):
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def store_id(self) -> str:
        return local_store_id(self.root, "workspaces")

    @contextmanager
    def checkout(self, chain_id: str) -> Iterator[Path]:
        path = workspace_dir(self.root, chain_id)
        path.mkdir(parents=True, exist_ok=True)
        yield path


class WorkspaceSyncFailed(RuntimeError):
    """The shared store could not take a call's files: the attempt is not recorded, and is retried."""


class SharedWorkspaces(WorkspaceStore):
    kind = "shared"

    def __init__(self, ledger: LedgerBackend, blobs: BlobStore, cache_root: Path, blob_store_id: str) -> None:
        self.ledger, self.blobs, self.cache_root = ledger, blobs, Path(cache_root)
        self._blob_store_id = blob_store_id

    def store_id(self) -> str:
        return f"shared:{self.ledger.store_id()}+{self._blob_store_id}"

    @contextmanager
    def checkout(self, chain_id: str) -> Iterator[Path]:
        local = workspace_dir(self.cache_root, chain_id)
        name = local.name
        version, manifest = self.ledger.workspace_manifest(name)
        self._materialise(local, manifest)
        try:
            yield local
        finally:
            # Also after a failed handler: its writes are real, as they would be on a local disk.
            self._write_back(name, local, version, manifest)

    def _materialise(self, local: Path, manifest: dict[str, str]) -> None:
        local.mkdir(parents=True, exist_ok=True)
        present = dict(_scan(local))
        for rel, digest in manifest.items():
            if present.get(rel) == digest:
                continue  # cached from an earlier call on this worker
            target = _inside(local, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
            tmp.write_bytes(self.blobs.get(digest))
            os.replace(tmp, target)
        for rel in present.keys() - manifest.keys():
            _inside(local, rel).unlink(missing_ok=True)  # deleted by a call on another worker
        for dirpath, dirnames, filenames in os.walk(local, followlinks=False):
            for name in [*filenames, *dirnames]:
                if (Path(dirpath) / name).is_symlink():  # never in the store: not here either
                    (Path(dirpath) / name).unlink()

    def _write_back(self, name: str, local: Path, version: int, manifest: dict[str, str]) -> None:
        current: dict[str, str] = {}
        try:
            for rel, digest in _scan(local):
                if manifest.get(rel) != digest:
                    stored = self.blobs.put(_inside(local, rel).read_bytes())
                    if stored != digest:  # changed while being read: take what was stored
                        digest = stored
                current[rel] = digest
            if current != manifest:
                self.ledger.save_workspace_manifest(name, version, current)
        except Exception as e:
            log.error("workspace.sync_failed", workspace=name, error=repr(e))
            raise WorkspaceSyncFailed(f"workspace {name}: files not saved to the shared store: {e!r}") from e


def _scan(root: Path) -> Iterator[tuple[str, str]]:
    """(relative path, digest) of every regular file under root; symlinks are neither followed nor kept."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for filename in filenames:
            path = Path(dirpath) / filename
            if path.is_symlink() or not path.is_file() or filename.endswith(".tmp") and filename.startswith("."):
                continue
            yield path.relative_to(root).as_posix(), blob_digest(path.read_bytes())


def _inside(root: Path, rel: str) -> Path:
    """A manifest path under root; a manifest is written only by workers, but is checked all the same."""
    target = (root / rel).resolve()
    if not target.is_relative_to(root.resolve()):
        raise ValueError(f"workspace path escapes its root: {rel!r}")
    return root / rel
