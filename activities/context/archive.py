"""Older audit records of a long run, moved to the blob store as a chain of JSON blobs.

The run keeps its recent approvals, model events and compactions in its state (and the state query);
older ones ride in no checkpoint: each archive blob holds a batch and the digest of the previous one.
"""

from __future__ import annotations

import asyncio
import json

from temporalio import activity

from activities.context.blobs import BlobStore
from workflows.contracts import ArchiveRecordsInput, ArchiveRecordsResult


def archive_records(blobs: BlobStore, input: ArchiveRecordsInput) -> str:
    batch = {"previous": input.previous, **input.model_dump(mode="json", include={"approvals", "model_events",
                                                                                   "compactions"})}
    return blobs.put_text(json.dumps(batch, sort_keys=True, separators=(",", ":")))


def read_archive(blobs: BlobStore, head: str | None) -> dict[str, list[dict]]:
    """Every archived record, oldest first (for operators and tests)."""
    batches = []
    while head:
        batch = json.loads(blobs.get_text(head))
        batches.append(batch)
        head = batch["previous"]
    return {kind: [r for b in reversed(batches) for r in b[kind]] for kind in ("approvals", "model_events", "compactions")}


class ArchiveActivities:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    @activity.defn(name="context.archive_records")
    async def archive(self, input: ArchiveRecordsInput) -> ArchiveRecordsResult:
        return ArchiveRecordsResult(await asyncio.to_thread(archive_records, self.blobs, input))
