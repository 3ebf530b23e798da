"""The transcript as a chain of stored entries: append, load, caching, checks, and previews."""

from __future__ import annotations

import json

import pytest

from activities.context import transcript
from workflows.contracts import Message
from workflows.contracts.context import TranscriptRef, preview


def _turns(n: int, start: int = 0) -> list[Message]:
    return [Message(role="user" if i % 2 == 0 else "assistant", content=f"turn {i}") for i in range(start, start + n)]


class CountingStore:
    """Wraps a store and counts reads, to show how many entries a load touches."""

    def __init__(self, inner) -> None:
        self.inner, self.reads, self.url = inner, 0, inner.url

    def put_text(self, text: str) -> str:
        return self.inner.put_text(text)

    def put(self, data: bytes) -> str:
        return self.inner.put(data)

    def get(self, digest: str) -> bytes:
        self.reads += 1
        return self.inner.get(digest)


def test_append_then_load_returns_all_messages_in_order(store) -> None:
    """Three appends make a chain whose load is every message, oldest first."""
    ref = TranscriptRef()
    for k in range(3):
        ref = transcript.append_ref(store, ref, _turns(2, 2 * k))
    transcript.CACHE.clear()
    assert transcript.load_ref(store, ref) == _turns(6)
    assert ref.length == 6


def test_entry_names_predecessor_and_message_digests(store) -> None:
    """A stored entry holds its messages' digests and its predecessor's digest, nothing else."""
    first = transcript.append(store, None, _turns(1))
    second = transcript.append(store, first, _turns(1, 1))
    entry = json.loads(store.get(second))
    assert entry["prev"] == first
    assert [transcript.get_message(store, d) for d in entry["messages"]] == _turns(1, 1)
    assert json.loads(store.get(first))["prev"] is None


def test_same_prefix_same_head_and_messages_stored_once(store) -> None:
    """Chains are content-addressed: equal histories give equal heads; a message is one blob."""
    a = transcript.append(store, transcript.append(store, None, _turns(2)), _turns(1, 2))
    b = transcript.append(store, transcript.append(store, None, _turns(2)), _turns(1, 2))
    assert a == b
    assert transcript.append(store, a, []) == a
    big = Message(role="tool", content="x" * 10_000, name="read_file", tool_call_id="c1")
    transcript.append(store, a, [big])
    transcript.append(store, None, [big])
    sizes = [p.stat().st_size for p in store.root.rglob("*") if p.is_file()]
    assert sum(1 for s in sizes if s > 10_000) == 1


def test_load_reads_only_new_entries_once_a_prefix_is_cached(store) -> None:
    """After a head is loaded, loading its successor reads one entry and its new messages, not the chain."""
    counting = CountingStore(store)
    head = None
    for k in range(50):
        head = transcript.append(store, head, _turns(2, 2 * k))
    transcript.CACHE.clear()
    assert len(transcript.load(counting, head)) == 100
    assert counting.reads == 50 + 100  # cold: every entry and message once
    next_head = transcript.append(store, head, _turns(2, 100))
    transcript.CACHE.clear()
    transcript.load(counting, head)
    counting.reads = 0
    assert len(transcript.load(counting, next_head)) == 102
    assert counting.reads == 1 + 2


def test_length_mismatch_is_an_error(store) -> None:
    """A reference whose length disagrees with its chain raises instead of building a wrong prompt."""
    ref = transcript.append_ref(store, TranscriptRef(), _turns(3))
    with pytest.raises(transcript.TranscriptCorrupted, match="holds 3 messages"):
        transcript.load_ref(store, TranscriptRef(head=ref.head, length=4))


def test_a_non_entry_blob_is_refused(store) -> None:
    """A head that names some other blob (e.g. a message) is TranscriptCorrupted, not garbage."""
    digest = store.put_text('{"role": "user", "content": "hi"}')
    with pytest.raises(transcript.TranscriptCorrupted):
        transcript.load(store, digest)


def test_message_ref_carries_digest_and_short_preview(store) -> None:
    """A message reference is its digest, size and a one-line preview of at most 200 characters."""
    message = Message(role="tool", content="line one\n" + "y" * 1000, name="t", tool_call_id="c")
    ref = transcript.message_ref(store, message)
    assert transcript.get_message(store, ref.digest) == message
    assert len(ref.preview) == 200 and ref.preview.startswith("line one yyy") and ref.preview.endswith("…")
    assert preview("short\ntext") == "short text"


def test_decide_with_context_input_is_o1_in_run_length(store) -> None:
    """The model-call input for a 300-message run serializes to the same size as for a 3-message run."""
    from workflows.contracts import DecideInput
    from workflows.contracts.context import ContextBudget, DecideWithContextInput

    def size(n: int) -> int:
        ref = transcript.append_ref(store, TranscriptRef(), _turns(n))
        payload = DecideWithContextInput(decide=DecideInput(messages=[], tools=[]), pinned=[Message(role="system", content="s")],
                                         transcript=ref, append=_turns(2, n),
                                         budget=ContextBudget(context_window=4096, reserved_output=512))
        return len(DecideWithContextInput.model_validate_json(payload.model_dump_json()).model_dump_json())

    assert size(300) - size(3) == 6  # only digits differ: `length` (+2) and the two new turns' numbers (+4)
