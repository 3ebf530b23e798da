"""Which stores this worker uses, and binding a run chain to them.

A run's effects must go through one ledger, its files through one workspace store and its
transcript through one blob store. With per-host defaults (SQLite, local directories) two workers on
one task queue hold different stores, and a run whose step 4 lands on the other host would find no
receipt (a second effect) and none of its files. So each worker computes its stores' identity
(ids kept inside the stores themselves: a row in the ledger, a marker file or the S3 location), a
run's first activity (`stores.bind`) records it in the run's state, and every later activity of the
run goes to a task queue named after it: `<queue>@stores-<digest>`. Only workers with those same
stores poll that queue, so a worker with other stores never sees the run's tasks. Workers that share
every store (the multi-host profile) compute the same queue and all serve it. If no worker with the
run's stores is up, the run waits, visibly (its pending activity names the queue), instead of acting
on the wrong ledger. `tools.execute` checks the id again (StoreMismatch) as a second line of defence.
"""

from __future__ import annotations

import hashlib
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context.blobs import BlobStore, LocalBlobStore
from activities.tools.workspace_store import local_store_id
from workflows.contracts import BindStoresInput, StoreBinding


@dataclass(frozen=True)
class StoreIdentity:
    ledger_id: str
    workspace_store_id: str
    blob_store_id: str
    retrieval_store_id: str

    @property
    def store_id(self) -> str:
        parts = "|".join((self.ledger_id, self.workspace_store_id, self.blob_store_id, self.retrieval_store_id))
        return "stores-" + hashlib.sha256(parts.encode()).hexdigest()[:16]

    def task_queue(self, base: str) -> str:
        return f"{base}@{self.store_id}"


def blob_store_id(blobs: BlobStore) -> str:
    """A local store's marker id; an S3 store is named by where it is (endpoint, bucket, prefix)."""
    if isinstance(blobs, LocalBlobStore):
        # Beside the root, not in it: every file in the root is a blob named by its digest.
        return local_store_id(blobs.root.parent, "blobs", f".{blobs.root.name}.store-id")
    return f"url:{blobs.url}"


def retrieval_store_id(qdrant_url: str, qdrant_path: Path | None) -> str:
    """A Qdrant server by URL; local mode by a marker beside its folder (not inside: that is Qdrant's);
    "off" for a worker that serves no retrieval."""
    if qdrant_url:
        return f"url:{qdrant_url.rstrip('/')}"
    if qdrant_path is None:
        return "off"
    return local_store_id(qdrant_path.parent, "qdrant", f".{qdrant_path.name}.store-id")


class StoreMismatch(ApplicationError):
    pass


def refuse_other_stores(bound: str | None, mine: str) -> None:
    """Raise a retryable StoreMismatch when a run bound to other stores reaches this worker: no effect
    happens here, and Temporal's retry may land on a worker that has the run's stores."""
    if bound is not None and bound != mine:
        raise StoreMismatch(
            f"this run is bound to stores {bound}, this worker ({socket.gethostname()}) has {mine}: "
            "refusing to act on another ledger or workspace; a worker with the run's stores will take it",
            type="StoreMismatch", non_retryable=False)


class StoresNotShared(ApplicationError):
    pass


class StoreActivities:
    def __init__(self, identity: StoreIdentity, task_queue: str | None = None) -> None:
        self.identity = identity
        self.task_queue = task_queue  # set when this worker also polls the store queue
        # Why this worker must not bind new runs now (worker/queue_peers.py), or None; set by the worker.
        self.refusal: Callable[[], str | None] = lambda: None

    @activity.defn(name="stores.bind")
    async def bind(self, input: BindStoresInput = BindStoresInput()) -> StoreBinding:
        """Bind the run that asks to this worker's stores (a default input: runs recorded before sent none).

        Refused, retryably, while other workers serve the queue and none shares these stores: the retry
        goes to a worker whose stores the queue shares, and the run is never tied to this host alone."""
        if why := self.refusal():
            raise StoresNotShared(why, type="StoresNotShared", non_retryable=False)
        i = self.identity
        return StoreBinding(store_id=i.store_id, task_queue=self.task_queue, ledger_id=i.ledger_id,
                            workspace_store_id=i.workspace_store_id, blob_store_id=i.blob_store_id,
                            retrieval_store_id=i.retrieval_store_id, bound_by=socket.gethostname())
