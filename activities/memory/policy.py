"""Memory write policy: what a proposal must satisfy, how long it lives, and how duplicates merge.

Pure functions over records, so the rules are testable without a store.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from workflows.contracts.memory import MemoryRecord, MemorySource, ProposeMemoryInput

MIN_CHARS = 8
MAX_CHARS = 1000
MIN_CONFIDENCE = 0.5
# Cosine at or above which two memories in the same subject say the same thing (MiniLM scale).
NEAR_DUPLICATE = 0.9
DEFAULT_TTL_DAYS = {"episode": 90.0}
RUN_SCOPE_TTL_DAYS = 7.0

# Credentials must never become memory: they would be replayed into every later prompt.
_SECRETS = re.compile(
    r"(sk-[A-Za-z0-9_-]{16,}|AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{30,}|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b(password|passwd|api[_ -]?key|secret|token)\b\s*[:=]\s*\S+)",
    re.IGNORECASE,
)


class MemoryRejected(ValueError):
    """A proposal that policy refuses; the reason goes back to the agent."""


def validate(proposal: ProposeMemoryInput) -> str:
    """Return the normalised content, or raise MemoryRejected with the reason."""
    content = " ".join(proposal.content.split())
    if len(content) < MIN_CHARS:
        raise MemoryRejected(f"too short to be useful ({len(content)} characters; at least {MIN_CHARS})")
    if len(content) > MAX_CHARS:
        raise MemoryRejected(f"too long ({len(content)} characters; at most {MAX_CHARS}): store a summary")
    if proposal.confidence < MIN_CONFIDENCE:
        raise MemoryRejected(f"confidence {proposal.confidence} is below {MIN_CONFIDENCE}: not worth remembering")
    if _SECRETS.search(content):
        raise MemoryRejected("looks like a credential or secret; those are never stored as memory")
    if proposal.scope == "run" and not proposal.access.run_id:
        raise MemoryRejected("a run-scoped memory needs the proposing run's id")
    return content


def expiry(proposal: ProposeMemoryInput, now: datetime) -> datetime | None:
    days = proposal.expires_in_days
    if days is None and proposal.scope == "run":
        days = RUN_SCOPE_TTL_DAYS
    if days is None:
        days = DEFAULT_TTL_DAYS.get(proposal.type)
    return now + timedelta(days=days) if days else None


def merge(existing: MemoryRecord, content: str, confidence: float, source: MemorySource,
          expires_at: datetime | None, now: datetime) -> MemoryRecord | None:
    """Fold a near-duplicate proposal into `existing`; None when it adds nothing (e.g. a retried write)."""
    if any(s.run_id == source.run_id and s.step == source.step and s.by == source.by for s in existing.sources):
        return None
    # Independent confirmations raise confidence (noisy-OR), short of certainty.
    combined = min(0.99, 1 - (1 - existing.confidence) * (1 - confidence))
    # A person's word (a correction or a pin) is never overwritten by the agent's phrasing.
    keep_content = existing.corrected_by is not None or existing.pinned or confidence <= existing.confidence
    later_expiry = None if existing.expires_at is None or expires_at is None else max(existing.expires_at, expires_at)
    return existing.model_copy(update={
        "content": existing.content if keep_content else content,
        "confidence": round(max(combined, existing.confidence), 4),
        "sources": [*existing.sources, source][-20:],  # bounded: provenance, not an event log
        "updated_at": now,
        "expires_at": None if existing.pinned else later_expiry,
    })
