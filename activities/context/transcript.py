"""The transcript as a chain of stored entries, so a model call receives one head reference.

Each entry is a small JSON blob: the digests of the messages it appends and the digest of the entry
before it. Messages are blobs of their own, so a message is stored once however many chains name it
(a compaction re-chains the surviving turns without copying them). Appending is O(new messages);
loading walks the chain back to the nearest head this process has already loaded, so a long run reads
one entry per step, not N.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict

from activities.context.blobs import BlobStore
from workflows.contracts import Message, canonical_json
from workflows.contracts.context import BlobRef, TranscriptRef, preview

ENTRY_VERSION = 1
MESSAGE_MEDIA_TYPE = "application/vnd.agent.message+json"


class TranscriptCorrupted(RuntimeError):
    pass


def put_message(store: BlobStore, message: Message) -> str:
    return store.put_text(canonical_json(message.model_dump(mode="json", exclude_none=True)))


def get_message(store: BlobStore, digest: str) -> Message:
    return Message.model_validate_json(store.get(digest))


def _stored(store: BlobStore, message: Message) -> tuple[str, Message]:
    """A new message's digest and content: stored now, or already stored by the activity that made it
    (a tool result), whose digest is all the call carried."""
    if message.stored is None:
        return put_message(store, message), message
    full = get_message(store, message.stored)  # the store checks the bytes against the digest
    if (full.role, full.tool_call_id) != (message.role, message.tool_call_id):
        raise TranscriptCorrupted(f"stored message {message.stored} is not {message.role} {message.tool_call_id}")
    return message.stored, full


def message_ref(store: BlobStore, message: Message) -> BlobRef:
    """Store one message and return what workflow state may carry for it: digest + preview."""
    data = canonical_json(message.model_dump(mode="json", exclude_none=True)).encode()
    return BlobRef(digest=store.put(data), size=len(data), media_type=MESSAGE_MEDIA_TYPE,
                   preview=preview(message.content))


class _ChainCache:
    """Loaded chains by head digest. Safe to share across stores: a digest names one content."""

    def __init__(self, max_heads: int = 256) -> None:
        self.max_heads = max_heads
        self._heads: OrderedDict[str, tuple[Message, ...]] = OrderedDict()
        self._lock = threading.Lock()  # activities may run in threads

    def get(self, head: str) -> tuple[Message, ...] | None:
        with self._lock:
            chain = self._heads.get(head)
            if chain is not None:
                self._heads.move_to_end(head)
            return chain

    def put(self, head: str, chain: tuple[Message, ...]) -> None:
        with self._lock:
            self._heads[head] = chain
            self._heads.move_to_end(head)
            while len(self._heads) > self.max_heads:
                self._heads.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._heads.clear()


CACHE = _ChainCache()


def append(store: BlobStore, head: str | None, messages: list[Message]) -> str | None:
    """Store `messages` as one entry after `head`; return the new head (the old one if nothing new)."""
    if not messages:
        return head
    stored = [_stored(store, m) for m in messages]
    messages = [m for _, m in stored]
    entry = {"v": ENTRY_VERSION, "prev": head, "messages": [digest for digest, _ in stored]}
    new_head = store.put_text(canonical_json(entry))
    cached = CACHE.get(head) if head is not None else ()
    if cached is not None:
        # The caller usually loads the new head next: keep it warm without reading it back.
        CACHE.put(new_head, (*cached, *messages))
    return new_head


def append_ref(store: BlobStore, ref: TranscriptRef, messages: list[Message]) -> TranscriptRef:
    return TranscriptRef(head=append(store, ref.head, messages), length=ref.length + len(messages))


def load(store: BlobStore, head: str | None) -> list[Message]:
    """Every message of the chain ending at `head`, oldest first."""
    if head is None:
        return []
    pending: list[list[str]] = []  # message digests of entries not cached yet, newest first
    walked: list[str] = []
    cursor: str | None = head
    base: tuple[Message, ...] = ()
    while cursor is not None:
        cached = CACHE.get(cursor)
        if cached is not None:
            base = cached
            break
        entry = _read_entry(store, cursor)
        walked.append(cursor)
        pending.append(entry["messages"])
        cursor = entry["prev"]
    chain = base
    # Rebuild forward, caching each prefix so the next step (and a sibling chain) starts from it.
    for entry_head, digests in zip(reversed(walked), reversed(pending)):
        chain = (*chain, *(get_message(store, d) for d in digests))
        CACHE.put(entry_head, chain)
    return list(chain)


def load_ref(store: BlobStore, ref: TranscriptRef) -> list[Message]:
    """Load and check the length the workflow recorded, so a wrong head is an error, not a wrong prompt."""
    messages = load(store, ref.head)
    if len(messages) != ref.length:
        raise TranscriptCorrupted(f"transcript {ref.head} holds {len(messages)} messages, the reference says {ref.length}")
    return messages


def from_messages(store: BlobStore, messages: list[Message]) -> TranscriptRef:
    """Store a whole transcript as one entry (for migrating a by-value checkpoint)."""
    return append_ref(store, TranscriptRef(), messages)


def _read_entry(store: BlobStore, digest: str) -> dict:
    try:
        entry = json.loads(store.get(digest))
    except json.JSONDecodeError as e:
        raise TranscriptCorrupted(f"{digest} is not a transcript entry: {e}") from e
    if not isinstance(entry, dict) or entry.get("v") != ENTRY_VERSION or not isinstance(entry.get("messages"), list):
        raise TranscriptCorrupted(f"{digest} is not a transcript entry (version {ENTRY_VERSION})")
    return entry
