"""Memory records in Qdrant: proposals validated, de-duplicated and merged; recall by relevance and recency.

Reads go through the same permission filter as documents (tenant + scope keys, inside the query).
Deleting a memory removes its point; a tombstone (digest and vector, no content) stays in a separate
collection that recall never queries, so a deleted memory is never retrieved again and the agent cannot
quietly re-learn it: a near-duplicate proposal of a deleted memory is refused.
"""

from __future__ import annotations

import builtins  # `list` below names MemoryStore.list inside the class: annotations say builtins.list
import uuid
from datetime import UTC, datetime
from typing import Any, Literal, cast

import structlog
from qdrant_client import models

from activities.memory import policy
from activities.retrieval.embedding_cache import CachedEmbedder, text_digest
from activities.retrieval.permissions import access_filter, exact_scope_filter
from activities.retrieval.store import DENSE, QdrantStore
from workflows.contracts.memory import (
    MemoryRecord,
    MemoryScope,
    MemorySource,
    MemoryType,
    ProposeMemoryInput,
    ProposeMemoryResult,
    RecalledMemory,
)
from workflows.contracts.retrieval import TENANT_SCOPE, Access, run_scope, team_scope, user_scope

log = structlog.get_logger(__name__)
_ID_NAMESPACE = uuid.UUID("0b6d1d4a-3c2e-4f7a-9e51-2d8c7b6a5f40")
RECENCY_HALF_LIFE_DAYS = 30.0
RELEVANCE_WEIGHT = 0.8
PIN_BOOST = 0.2
MIN_RELEVANCE = 0.15


class MemoryNotFound(LookupError):
    pass


def subject_for(scope: MemoryScope, tenant_or_id: str | None) -> str:
    if scope == "tenant":
        return TENANT_SCOPE
    if not tenant_or_id:
        raise ValueError(f"a {scope}-scoped memory needs the {scope} id")
    return {"user": user_scope, "team": team_scope, "run": run_scope}[scope](tenant_or_id)


class MemoryStore:
    def __init__(self, store: QdrantStore, embedder: CachedEmbedder, collection: str) -> None:
        self.store = store
        self.embedder = embedder
        self.collection = collection
        self.tombstones = f"{collection}_deleted"
        store.ensure_collection(self.tombstones, embedder.dim, sparse=False)

    # ---- the agent's path: propose -> validate -> de-duplicate -> merge or store ---------------

    def propose(self, proposal: ProposeMemoryInput, now: datetime | None = None) -> ProposeMemoryResult:
        now = now or datetime.now(UTC)
        try:
            content = policy.validate(proposal)
        except policy.MemoryRejected as e:
            return ProposeMemoryResult(outcome="rejected", reason=str(e))
        access = proposal.access
        subject = user_scope(access.user_id) if proposal.scope == "user" else run_scope(access.run_id or "")
        vector = self.embedder.embed([content])[0]
        if self._nearest(self.tombstones, access.tenant_id, subject, vector, proposal.type) is not None:
            return ProposeMemoryResult(outcome="rejected", reason="a person deleted a memory like this one")
        source = MemorySource(run_id=access.run_id, step=proposal.step, by="agent")
        expires_at = policy.expiry(proposal, now)
        duplicate = self._nearest(self.collection, access.tenant_id, subject, vector, proposal.type)
        if isinstance(duplicate, MemoryRecord):  # the live collection holds records; True comes from tombstones
            merged = policy.merge(duplicate, content, proposal.confidence, source, expires_at, now)
            if merged is None:
                return ProposeMemoryResult(outcome="unchanged", memory_id=duplicate.memory_id,
                                           reason="this proposal is already recorded")
            self._save(merged, None if merged.content == duplicate.content else vector)
            log.info("memory.merged", memory_id=merged.memory_id, tenant=access.tenant_id, subject=subject)
            return ProposeMemoryResult(outcome="merged", memory_id=merged.memory_id,
                                       reason="merged into a near-duplicate memory")
        # Same run, step and content give the same id: a retried activity overwrites, never duplicates.
        memory_id = str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join(
            [access.tenant_id, subject, str(access.run_id), str(proposal.step), text_digest(content)])))
        record = MemoryRecord(
            memory_id=memory_id, tenant_id=access.tenant_id, scope=proposal.scope, subject=subject,
            type=proposal.type, content=content, sources=[source], confidence=proposal.confidence,
            created_at=now, updated_at=now, expires_at=expires_at,
        )
        self._save(record, vector)
        log.info("memory.created", memory_id=memory_id, tenant=access.tenant_id, subject=subject, type=proposal.type)
        return ProposeMemoryResult(outcome="created", memory_id=memory_id)

    # ---- people's path (the CLI): add, list, correct, pin, delete -----------------------------

    def add(self, tenant_id: str, scope: MemoryScope, subject_id: str | None, type: MemoryType, content: str,
            by: str, pinned: bool = False, now: datetime | None = None) -> MemoryRecord:
        now = now or datetime.now(UTC)
        subject = subject_for(scope, subject_id)
        record = MemoryRecord(
            memory_id=str(uuid.uuid4()), tenant_id=tenant_id, scope=scope, subject=subject, type=type,
            content=" ".join(content.split()), sources=[MemorySource(by=f"person:{by}")], confidence=1.0,
            created_at=now, updated_at=now, pinned=pinned, corrected_by=by,
        )
        self._save(record, self.embedder.embed([record.content])[0])
        return record

    def list(self, tenant_id: str, subject: str | None = None) -> list[MemoryRecord]:
        must: builtins.list[models.Condition] = [
            models.FieldCondition(key="tenant", match=models.MatchValue(value=tenant_id))]
        if subject:
            must.append(models.FieldCondition(key="scope", match=models.MatchValue(value=subject)))
        records = [_record(r.payload) for r in self.store.scroll_all(self.collection, models.Filter(must=must))]
        return sorted(records, key=lambda r: r.updated_at, reverse=True)

    def get(self, tenant_id: str, memory_id: str) -> MemoryRecord:
        found = self.store.call(self.store.client.retrieve, self.collection, ids=[_point_id(memory_id)],
                                with_payload=True)
        if not found or (found[0].payload or {}).get("tenant") != tenant_id:
            raise MemoryNotFound(f"no memory {memory_id} in tenant {tenant_id!r}")
        return _record(found[0].payload)

    def correct(self, tenant_id: str, memory_id: str, content: str, by: str,
                now: datetime | None = None) -> MemoryRecord:
        record = self.get(tenant_id, memory_id)
        fixed = record.model_copy(update={
            "content": " ".join(content.split()), "confidence": 1.0, "corrected_by": by,
            "updated_at": now or datetime.now(UTC),
            "sources": [*record.sources, MemorySource(by=f"person:{by}")][-20:],
        })
        self._save(fixed, self.embedder.embed([fixed.content])[0])
        log.info("memory.corrected", memory_id=memory_id, tenant=tenant_id, by=by)
        return fixed

    def pin(self, tenant_id: str, memory_id: str, pinned: bool, by: str) -> MemoryRecord:
        record = self.get(tenant_id, memory_id)
        # A pinned memory does not expire; unpinning does not bring an old expiry back.
        updated = record.model_copy(update={"pinned": pinned, "expires_at": None if pinned else record.expires_at})
        self._save(updated, None)
        log.info("memory.pinned" if pinned else "memory.unpinned", memory_id=memory_id, tenant=tenant_id, by=by)
        return updated

    def delete(self, tenant_id: str, memory_id: str, by: str, now: datetime | None = None) -> MemoryRecord:
        record = self.get(tenant_id, memory_id)
        point = self.store.call(self.store.client.retrieve, self.collection, ids=[_point_id(memory_id)],
                                with_vectors=[DENSE])[0]
        tombstone = {"tenant": tenant_id, "scope": record.subject, "type": record.type,
                     "digest": text_digest(record.content), "deleted_by": by,
                     "created_at": (now or datetime.now(UTC)).timestamp()}
        self.store.call(self.store.client.upsert, self.tombstones, wait=True, points=[
            # with_vectors=[DENSE] returns the named vectors as a dict
            models.PointStruct(id=_point_id(memory_id), vector={DENSE: cast(dict[str, Any], point.vector)[DENSE]},
                               payload=tombstone)])
        self.store.call(self.store.client.delete, self.collection, wait=True,
                        points_selector=models.PointIdsList(points=[_point_id(memory_id)]))
        log.info("memory.deleted", memory_id=memory_id, tenant=tenant_id, by=by)
        return record

    # ---- recall: relevance and recency, inside the caller's scope ------------------------------

    def recall(self, access: Access, query: str, limit: int = 5,
               now: datetime | None = None) -> builtins.list[RecalledMemory]:
        now = now or datetime.now(UTC)
        live = models.Filter(should=[
            models.IsEmptyCondition(is_empty=models.PayloadField(key="expires_at")),
            models.FieldCondition(key="expires_at", range=models.Range(gt=now.timestamp())),
        ])
        response = self.store.call(
            self.store.client.query_points, self.collection, query=self.embedder.embed([query])[0],
            using=DENSE, query_filter=access_filter(access, live), limit=max(limit * 4, 20), with_payload=True,
        )
        scored = []
        for point in response.points:
            record = _record(point.payload)
            if point.score < MIN_RELEVANCE and not record.pinned:
                continue
            age_days = max((now - record.updated_at).total_seconds(), 0) / 86400
            recency = 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS)
            score = RELEVANCE_WEIGHT * point.score + (1 - RELEVANCE_WEIGHT) * recency
            scored.append(RecalledMemory(record=record, score=round(score + (PIN_BOOST if record.pinned else 0), 6)))
        scored.sort(key=lambda m: m.score, reverse=True)
        return scored[:limit]

    # ---- storage helpers -----------------------------------------------------------------------

    def _nearest(self, collection: str, tenant_id: str, subject: str, vector: builtins.list[float],
                 type: MemoryType) -> MemoryRecord | Literal[True] | None:
        same_type = models.FieldCondition(key="type", match=models.MatchValue(value=type))
        response = self.store.call(
            self.store.client.query_points, collection, query=vector, using=DENSE, limit=1, with_payload=True,
            query_filter=exact_scope_filter(tenant_id, subject, same_type),
            score_threshold=policy.NEAR_DUPLICATE,
        )
        if not response.points:
            return None
        payload = response.points[0].payload or {}
        return _record(payload) if "memory_id" in payload else True

    def _save(self, record: MemoryRecord, vector: builtins.list[float] | None) -> None:
        payload = record.model_dump(mode="json")
        # Filtered fields as the store expects them: tenant/scope keywords, times as epoch seconds.
        payload.update(tenant=record.tenant_id, scope=record.subject, scope_kind=record.scope,
                       created_at=record.created_at.timestamp(), updated_at=record.updated_at.timestamp(),
                       expires_at=record.expires_at.timestamp() if record.expires_at else None)
        pid = _point_id(record.memory_id)
        if vector is None:
            self.store.call(self.store.client.overwrite_payload, self.collection, payload=payload,
                            points=[pid], wait=True)
        else:
            self.store.call(self.store.client.upsert, self.collection, wait=True,
                            points=[models.PointStruct(id=pid, vector={DENSE: vector}, payload=payload)])


def _point_id(memory_id: str) -> str:
    try:
        return str(uuid.UUID(memory_id))
    except ValueError as e:
        raise MemoryNotFound(f"{memory_id!r} is not a memory id") from e


def _record(payload: dict | None) -> MemoryRecord:
    p = dict(payload or {})
    for key in ("created_at", "updated_at", "expires_at"):
        if isinstance(p.get(key), (int, float)):
            p[key] = datetime.fromtimestamp(p[key], UTC)
    p["scope"] = p.pop("scope_kind")
    p.pop("tenant", None)
    return MemoryRecord.model_validate(p)
