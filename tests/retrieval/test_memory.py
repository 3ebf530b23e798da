"""Memory: proposals validated, de-duplicated and merged; recall in scope by relevance and recency; people in control."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from activities.memory.store import MemoryNotFound
from activities.retrieval.runtime import KnowledgeBase
from workflows.contracts.memory import ProposeMemoryInput
from workflows.contracts.retrieval import Access

ALICE = Access(tenant_id="acme", user_id="alice", run_id="run-1")
BOB = Access(tenant_id="acme", user_id="bob", run_id="run-2")
GLOBEX_ALICE = Access(tenant_id="globex", user_id="alice", run_id="run-3")
T0 = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)


def propose(kb: KnowledgeBase, access: Access, content: str, now: datetime | None = None, **kw) -> object:
    fields = {"type": "preference", "confidence": 0.8, "step": 1, **kw}
    return kb.memory.propose(ProposeMemoryInput(access=access, content=content, **fields), now=now)


def test_proposal_is_stored_and_a_retry_changes_nothing(kb: KnowledgeBase) -> None:
    """The same proposal twice (a retried activity) yields one record with one source."""
    first = propose(kb, ALICE, "Alice prefers executive summaries before details.")
    again = propose(kb, ALICE, "Alice prefers executive summaries before details.")
    assert first.outcome == "created" and again.outcome == "unchanged"
    records = kb.memory.list("acme")
    assert len(records) == 1 and len(records[0].sources) == 1
    assert records[0].sources[0].run_id == "run-1" and records[0].subject == "user:alice"


def test_near_duplicate_is_merged(kb: KnowledgeBase) -> None:
    """A paraphrase from a later step merges into the record: one memory, two sources, higher confidence."""
    created = propose(kb, ALICE, "Alice likes short summaries.")
    merged = propose(kb, ALICE, "Alice likes brief summaries.", step=4)
    assert merged.outcome == "merged" and merged.memory_id == created.memory_id
    [record] = kb.memory.list("acme")
    assert len(record.sources) == 2 and record.confidence > 0.8
    assert propose(kb, ALICE, "Alice wants long detailed reports with appendices.", step=5).outcome == "created"


@pytest.mark.parametrize("content, confidence, reason", [
    ("my api_key = sk-abcdefghijklmnopqrstuvwx", 0.9, "secret"),
    ("Alice might like green.", 0.2, "confidence"),
    ("ok", 0.9, "short"),
])
def test_invalid_proposals_are_rejected(kb: KnowledgeBase, content: str, confidence: float, reason: str) -> None:
    """Secrets, low-confidence guesses and fragments never become memory."""
    result = propose(kb, ALICE, content, confidence=confidence)
    assert result.outcome == "rejected" and reason in result.reason
    assert kb.memory.list("acme") == []


def test_recall_stays_in_scope(kb: KnowledgeBase) -> None:
    """A user's memory reaches only that user; tenant memory reaches the tenant; nothing crosses tenants."""
    propose(kb, ALICE, "Alice prefers tables over bullet lists in reports.")
    kb.memory.add("acme", "tenant", None, "fact", "Reports for acme go to the finance channel.", by="ops")
    query = "how should I format and deliver the report?"
    alice = {m.record.content for m in kb.memory.recall(ALICE, query)}
    bob = {m.record.content for m in kb.memory.recall(BOB, query)}
    assert alice == {"Alice prefers tables over bullet lists in reports.", "Reports for acme go to the finance channel."}
    assert bob == {"Reports for acme go to the finance channel."}
    assert kb.memory.recall(GLOBEX_ALICE, query) == []


def test_recency_breaks_ties_and_expired_memories_are_not_recalled(kb: KnowledgeBase) -> None:
    """Of two equally relevant memories the newer ranks first; an expired one is filtered out in the query."""
    propose(kb, ALICE, "Alice deploys on Tuesdays.", type="fact", now=T0 - timedelta(days=120))
    propose(kb, ALICE, "Alice deploys to staging first.", type="fact", step=2, now=T0)
    propose(kb, ALICE, "Alice is on call this week for deploys.", type="episode", step=3,
            expires_in_days=7, now=T0 - timedelta(days=30))
    recalled = [m.record.content for m in kb.memory.recall(ALICE, "when and how does Alice deploy?", now=T0)]
    assert recalled[0] == "Alice deploys to staging first."
    assert "Alice is on call this week for deploys." not in recalled


def test_people_correct_pin_and_delete(kb: KnowledgeBase) -> None:
    """A correction wins over later agent phrasing, a pin survives expiry, and a deleted memory never returns."""
    created = propose(kb, ALICE, "Alice's timezone is UTC.", type="fact", expires_in_days=1, now=T0)
    fixed = kb.memory.correct("acme", created.memory_id, "Alice's timezone is Europe/Berlin.", by="alice")
    assert fixed.corrected_by == "alice" and fixed.confidence == 1.0
    propose(kb, ALICE, "Alice's timezone is Europe/Berlin time.", type="fact", step=9, confidence=0.95)
    assert kb.memory.get("acme", created.memory_id).content == "Alice's timezone is Europe/Berlin."
    kb.memory.pin("acme", created.memory_id, True, by="alice")
    later = T0 + timedelta(days=30)
    assert [m.record.memory_id for m in kb.memory.recall(ALICE, "which timezone?", now=later)] == [created.memory_id]

    kb.memory.delete("acme", created.memory_id, by="alice")
    assert kb.memory.recall(ALICE, "which timezone?", now=later) == []
    assert kb.memory.list("acme") == []
    with pytest.raises(MemoryNotFound):
        kb.memory.get("acme", created.memory_id)
    relearn = propose(kb, ALICE, "Alice's timezone is Europe/Berlin.", type="fact", step=12)
    assert relearn.outcome == "rejected" and "deleted" in relearn.reason
    assert kb.memory.recall(ALICE, "which timezone?", now=later) == []


def test_other_tenant_cannot_touch_a_memory_by_id(kb: KnowledgeBase) -> None:
    """Administration is tenant-scoped too: a memory id from acme is unknown in globex."""
    created = propose(kb, ALICE, "Alice prefers dark mode in dashboards.")
    with pytest.raises(MemoryNotFound):
        kb.memory.delete("globex", created.memory_id, by="mallory")
    assert len(kb.memory.list("acme")) == 1
