"""Permission-filtered search: dense, sparse (BM25-style) or hybrid with Qdrant's server-side RRF fusion.

Every query takes an Access and passes its filter to each prefetch and to the fused query, so the
candidates are drawn only from what the caller may read (see permissions.py).
"""

from __future__ import annotations

import time

from qdrant_client import models

from activities.retrieval import sparse
from activities.retrieval.contracts import Access, Passage, SearchMode
from activities.retrieval.embeddings import Embedder
from activities.retrieval.permissions import access_filter
from activities.retrieval.rerank import rerank
from activities.retrieval.store import DENSE, SPARSE, QdrantStore

# Candidates each arm contributes to fusion (and the re-ranker sees): enough depth for RRF to matter.
MIN_CANDIDATES = 20


class Retriever:
    def __init__(self, store: QdrantStore, embedder: Embedder, collection: str, rerank_default: bool = False) -> None:
        self.store = store
        self.embedder = embedder
        self.collection = collection
        self.rerank_default = rerank_default

    def search(self, query: str, access: Access, limit: int = 5, mode: SearchMode = "hybrid",
               rerank_results: bool | None = None) -> list[Passage]:
        do_rerank = self.rerank_default if rerank_results is None else rerank_results
        flt = access_filter(access)
        depth = max(limit * 4, MIN_CANDIDATES)
        dense_q = self.embedder.embed([query])[0] if mode != "sparse" else None
        sv = sparse.query_vector(query)
        sparse_q = models.SparseVector(indices=sv.indices, values=sv.values)
        if mode == "sparse" and not sv.indices:
            return []  # only stop words: nothing to match lexically
        fetch = depth if do_rerank else limit
        if mode == "dense":
            points = self._query(query=dense_q, using=DENSE, query_filter=flt, limit=fetch, with_vectors=do_rerank)
        elif mode == "sparse":
            points = self._query(query=sparse_q, using=SPARSE, query_filter=flt, limit=fetch, with_vectors=do_rerank)
        else:
            prefetch = [models.Prefetch(query=dense_q, using=DENSE, filter=flt, limit=depth)]
            if sv.indices:
                prefetch.append(models.Prefetch(query=sparse_q, using=SPARSE, filter=flt, limit=depth))
            points = self._query(prefetch=prefetch, query=models.FusionQuery(fusion=models.Fusion.RRF),
                                 query_filter=flt, limit=fetch, with_vectors=do_rerank)
        if do_rerank and dense_q is not None:
            points = rerank(query, dense_q, points)
        return [_passage(i, p) for i, p in enumerate(points[:limit], 1)]

    def _query(self, with_vectors: bool, **kwargs) -> list[models.ScoredPoint]:
        response = self.store.call(
            self.store.client.query_points, self.collection, with_payload=True,
            with_vectors=[DENSE] if with_vectors else False, **kwargs,
        )
        return list(response.points)


def _passage(rank: int, point: models.ScoredPoint) -> Passage:
    p = point.payload or {}
    return Passage(
        citation=f"S{rank}", chunk_id=str(point.id), source=p.get("source", "?"),
        start=int(p.get("start", 0)), end=int(p.get("end", 0)), section=p.get("section", ""),
        score=round(float(point.score), 6), text=p.get("text", ""),
    )


def timed_search(retriever: Retriever, query: str, access: Access, limit: int, mode: SearchMode,
                 rerank_results: bool | None = None) -> tuple[list[Passage], float]:
    start = time.perf_counter()
    passages = retriever.search(query, access, limit, mode, rerank_results)
    return passages, (time.perf_counter() - start) * 1000
