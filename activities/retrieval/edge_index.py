"""The knowledge index on Qdrant Edge: Qdrant's engine in-process, one shard per tenant (see index.py).

A shard is opened on first use and kept open; calls are serialised because a shard is one writer and
this process's activity threads share it. Payload indexes on tenant, scope and source make the
permission filter and ingestion's per-source look-up index look-ups.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal, overload

import qdrant_edge as qe

from activities.retrieval.index import DENSE, KEYWORD_FIELDS, SPARSE, Hit, IndexPoint, tenant_slug
from activities.retrieval.sparse import SparseVector
from activities.retrieval.store import StoreError
from workflows.contracts.retrieval import Access

_BATCH = 256


class EdgeIndex:
    engine = "edge"

    def __init__(self, root: Path, dim: int) -> None:
        self.root = root
        self.dim = dim
        self._shards: dict[str, qe.EdgeShard] = {}
        self._lock = threading.RLock()
        root.mkdir(parents=True, exist_ok=True)

    def _config(self) -> qe.EdgeConfig:
        return qe.EdgeConfig(
            vectors={DENSE: qe.EdgeVectorParams(size=self.dim, distance=qe.Distance.Cosine)},
            sparse_vectors={SPARSE: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf)},
        )

    @overload
    def _shard(self, tenant: str, create: Literal[True]) -> qe.EdgeShard: ...
    @overload
    def _shard(self, tenant: str, create: bool) -> qe.EdgeShard | None: ...

    def _shard(self, tenant: str, create: bool) -> qe.EdgeShard | None:
        shard = self._shards.get(tenant)
        if shard is not None:
            return shard
        path = self.root / tenant_slug(tenant)
        if path.exists() and any(path.iterdir()):
            try:  # with the config, Edge checks that the stored vectors match the embedder's size
                shard = qe.EdgeShard.load(str(path), self._config())
            except Exception as e:  # noqa: BLE001 - the binding raises plain errors; say what to do
                raise StoreError(
                    f"the knowledge shard at {path} cannot be opened with {self.dim}-d vectors ({e}): it was "
                    "built with another embedding model, or is open in another process. Set "
                    "AGENT_KNOWLEDGE_COLLECTION to a new name and re-ingest, or stop the other process."
                ) from e
        elif create:
            shard = qe.EdgeShard.create(str(path), self._config())
            for name in KEYWORD_FIELDS:
                shard.update(qe.UpdateOperation.create_field_index(name, qe.PayloadSchemaType.Keyword))
        else:
            return None  # a tenant with no documents: nothing to search, and nothing is created
        self._shards[tenant] = shard
        return shard

    def existing_ids(self, tenant: str, scope: str, source: str) -> set[str]:
        flt = qe.Filter(must=[_match("tenant", tenant), _match("scope", scope), _match("source", source)])
        out: set[str] = set()
        with self._lock:
            shard = self._shard(tenant, create=False)
            if shard is None:
                return out
            offset = None
            while True:
                page, offset = shard.scroll(qe.ScrollRequest(offset=offset, limit=_BATCH, filter=flt,
                                                             with_payload=False, with_vector=False))
                out.update(str(r.id) for r in page)
                if offset is None:
                    return out

    def upsert(self, tenant: str, points: list[IndexPoint]) -> None:
        items = [qe.Point(id=p.id, vector={DENSE: p.dense, SPARSE: qe.SparseVector(
            indices=p.sparse.indices, values=p.sparse.values)}, payload=p.payload) for p in points]
        with self._lock:
            shard = self._shard(tenant, create=True)
            for i in range(0, len(items), _BATCH):
                shard.update(qe.UpdateOperation.upsert_points(items[i : i + _BATCH]))
            shard.flush()

    def delete(self, tenant: str, ids: list[str]) -> None:
        with self._lock:
            shard = self._shard(tenant, create=False)
            if shard is not None and ids:
                shard.update(qe.UpdateOperation.delete_points(list(ids)))
                shard.flush()

    def dense(self, access: Access, vectors: list[list[float]], limit: int) -> list[list[Hit]]:
        return self._rankings(access, [qe.Query.Nearest(v, using=DENSE) for v in vectors], limit)

    def sparse(self, access: Access, vectors: list[SparseVector], limit: int) -> list[list[Hit]]:
        queries = [qe.Query.Nearest(qe.SparseVector(indices=v.indices, values=v.values), using=SPARSE)
                   for v in vectors if v.indices]
        rankings = iter(self._rankings(access, queries, limit))
        return [next(rankings) if v.indices else [] for v in vectors]

    def _rankings(self, access: Access, queries: list[Any], limit: int) -> list[list[Hit]]:
        """One planned batch of filtered queries; hits carry no payload."""
        if not queries:
            return []
        flt = _access_filter(access)
        requests = [qe.QueryRequest(limit=limit, query=q, filter=flt, with_payload=False) for q in queries]
        with self._lock:
            shard = self._shard(access.tenant_id, create=False)
            if shard is None:
                return [[] for _ in queries]
            results = shard.query_batch(qe.QueryBatchRequest(requests)) if len(requests) > 1 else [
                shard.query(requests[0])]
        return [[_hit(p) for p in points] for points in results]

    def payloads(self, tenant: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        with self._lock:
            shard = self._shard(tenant, create=False)
            if shard is None or not ids:
                return {}
            page = shard.retrieve(list(ids), with_payload=True, with_vector=False)
        return {str(r.id): dict(r.payload or {}) for r in page}

    def all_payloads(self, tenant: str) -> dict[str, dict[str, Any]]:
        """Every point of a tenant (tests and tools; a scroll of the tenant's shard)."""
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            shard = self._shard(tenant, create=False)
            offset = None
            while shard is not None:
                page, offset = shard.scroll(qe.ScrollRequest(offset=offset, limit=_BATCH, with_payload=True,
                                                             with_vector=False))
                out.update((str(r.id), dict(r.payload or {})) for r in page)
                if offset is None:
                    break
        return out

    def unfiltered_dense(self, tenant: str, vector: list[float], limit: int) -> list[Hit]:
        """For tests only: the same query without the permission filter (the control of the leak test)."""
        with self._lock:
            shard = self._shard(tenant, create=False)
            if shard is None:
                return []
            points = shard.query(qe.QueryRequest(limit=limit, query=qe.Query.Nearest(vector, using=DENSE),
                                                 with_payload=True))
        return [_hit(p) for p in points]

    def count(self, tenant: str) -> int:
        with self._lock:
            shard = self._shard(tenant, create=False)
            return 0 if shard is None else shard.count(qe.CountRequest(exact=True))

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.flush()
                shard.close()
            self._shards.clear()


def _match(key: str, value: str) -> qe.FieldCondition:
    return qe.FieldCondition(key=key, match=qe.MatchValue(value=value))


def _access_filter(access: Access) -> qe.Filter:
    return qe.Filter(must=[_match("tenant", access.tenant_id),
                           qe.FieldCondition(key="scope", match=qe.MatchAny(any=access.scope_keys()))])


def _hit(point: Any) -> Hit:
    return Hit(str(point.id), float(point.score), dict(point.payload) if point.payload else {})
