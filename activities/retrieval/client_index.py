"""The knowledge index through qdrant-client: a Qdrant server by URL, or qdrant-client's local mode.

One collection per tenant, `<prefix>__<tenant slug>` (see index.py for why). On a server, payload
indexes make the filter and the per-source look-up cheap; local mode is pure Python and scans every
point of the tenant's collection on each filtered call (measured in docs/retrieval.md).
"""

from __future__ import annotations

import warnings
from typing import Any

from qdrant_client import models

from activities.retrieval.index import DENSE, KEYWORD_FIELDS, SPARSE, Hit, IndexPoint, tenant_slug
from activities.retrieval.permissions import access_filter, exact_scope_filter
from activities.retrieval.sparse import SparseVector
from activities.retrieval.store import QdrantStore, StoreError
from workflows.contracts.retrieval import Access


class ClientIndex:
    def __init__(self, store: QdrantStore, prefix: str, dim: int) -> None:
        self.store = store
        self.prefix = prefix
        self.dim = dim
        self.engine = "local" if store.local else "server"
        self._ready: set[str] = set()

    def collection(self, tenant: str) -> str:
        return f"{self.prefix}__{tenant_slug(tenant)}"

    def _ensure(self, tenant: str, create: bool) -> str | None:
        name = self.collection(tenant)
        if name in self._ready:
            return name
        if self.store.call(self.store.client.collection_exists, name):
            vectors = self.store.call(self.store.client.get_collection, name).config.params.vectors
            existing = vectors.get(DENSE) if isinstance(vectors, dict) else None
            if existing is None or existing.size != self.dim:
                raise StoreError(f"collection {name!r} at {self.store.where} holds vectors of another size than "
                                 f"the configured embedder's {self.dim}: set AGENT_KNOWLEDGE_COLLECTION to a new "
                                 "name and re-ingest, or switch AGENT_EMBEDDINGS back")
        elif not create:
            return None
        else:
            self.store.call(
                self.store.client.create_collection, name,
                vectors_config={DENSE: models.VectorParams(size=self.dim, distance=models.Distance.COSINE)},
                sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
            )
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Payload indexes have no effect")
                for key in KEYWORD_FIELDS:
                    self.store.call(self.store.client.create_payload_index, name, key,
                                    models.PayloadSchemaType.KEYWORD)
        self._ready.add(name)
        return name

    def existing_ids(self, tenant: str, scope: str, source: str) -> set[str]:
        name = self._ensure(tenant, create=False)
        if name is None:
            return set()
        flt = exact_scope_filter(tenant, scope, models.FieldCondition(key="source", match=models.MatchValue(value=source)))
        return {str(r.id) for r in self.store.scroll_all(name, flt, with_payload=False)}

    def upsert(self, tenant: str, points: list[IndexPoint]) -> None:
        name = self._ensure(tenant, create=True)
        structs = [models.PointStruct(id=p.id, payload=p.payload, vector={
            DENSE: p.dense, SPARSE: models.SparseVector(indices=p.sparse.indices, values=p.sparse.values)})
            for p in points]
        for i in range(0, len(structs), 128):
            self.store.call(self.store.client.upsert, name, points=structs[i : i + 128], wait=True)

    def delete(self, tenant: str, ids: list[str]) -> None:
        name = self._ensure(tenant, create=False)
        if name and ids:
            self.store.call(self.store.client.delete, name, points_selector=models.PointIdsList(points=[*ids]), wait=True)

    def dense(self, access: Access, vectors: list[list[float]], limit: int) -> list[list[Hit]]:
        return self._rankings(access, vectors, DENSE, limit)

    def sparse(self, access: Access, vectors: list[SparseVector], limit: int) -> list[list[Hit]]:
        queries = [models.SparseVector(indices=v.indices, values=v.values) for v in vectors if v.indices]
        rankings = iter(self._rankings(access, queries, SPARSE, limit))
        return [next(rankings) if v.indices else [] for v in vectors]

    def _rankings(self, access: Access, queries: list[Any], using: str, limit: int) -> list[list[Hit]]:
        """One batch of filtered queries; hits carry no payload."""
        name = self._ensure(access.tenant_id, create=False)
        if name is None or not queries:
            return [[] for _ in queries]
        flt = access_filter(access)
        requests = [models.QueryRequest(query=q, using=using, filter=flt, limit=limit, with_payload=False)
                    for q in queries]
        responses = self.store.call(self.store.client.query_batch_points, name, requests=requests)
        return [[_hit(p) for p in r.points] for r in responses]

    def payloads(self, tenant: str, ids: list[str]) -> dict[str, dict[str, Any]]:
        name = self._ensure(tenant, create=False)
        if name is None or not ids:
            return {}
        return {str(r.id): dict(r.payload or {}) for r in self.store.call(self.store.client.retrieve, name, ids)}

    def all_payloads(self, tenant: str) -> dict[str, dict[str, Any]]:
        """Every point of a tenant (tests and tools; a scroll of the tenant's collection)."""
        name = self._ensure(tenant, create=False)
        if name is None:
            return {}
        return {str(r.id): dict(r.payload or {}) for r in self.store.scroll_all(name, models.Filter())}

    def unfiltered_dense(self, tenant: str, vector: list[float], limit: int) -> list[Hit]:
        """For tests only: the same query without the permission filter (the control of the leak test)."""
        name = self._ensure(tenant, create=False)
        if name is None:
            return []
        response = self.store.call(self.store.client.query_points, name, query=vector, using=DENSE, limit=limit,
                                   with_payload=True)
        return [_hit(p) for p in response.points]

    def count(self, tenant: str) -> int:
        name = self._ensure(tenant, create=False)
        return 0 if name is None else self.store.call(self.store.client.count, name).count

    def close(self) -> None:
        pass  # the QdrantStore is shared with memory and closed by the KnowledgeBase


def _hit(point: models.ScoredPoint) -> Hit:
    return Hit(id=str(point.id), score=float(point.score), payload=dict(point.payload or {}))
