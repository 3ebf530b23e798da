"""Search the knowledge index: dense, sparse (BM25) or hybrid, optionally re-ranked, by passage or by document.

Every arm's query carries the caller's Access as a filter inside the engine's query (see index.py and
permissions.py), so candidates are drawn only from what the caller may read; fusion happens here, over
those already-filtered candidates.

- Dense: the query is cut into segments that fit the embedder's window (long_query.py); the
  per-segment results are pooled (`long_query`: "max" by default, chosen from the measurements in
  docs/retrieval.md; "rrf", "mean" and "truncate" are kept for the evaluation).
- Hybrid: reciprocal rank fusion of the dense and sparse rankings.
- Re-rank: RRF of the hybrid ranking with a score-fusion ranking (normalised dense and sparse
  scores), so it can reorder near-ties but never discards the hybrid order.
- By document: candidates are grouped by source and each document is scored from its best passages;
  one passage (the best) per document is returned, so `limit` means distinct documents.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from activities.retrieval import fusion, sparse
from activities.retrieval.contracts import Access, Passage, SearchMode
from activities.retrieval.embeddings import Embedder
from activities.retrieval.index import Hit, KnowledgeIndex
from activities.retrieval.long_query import segments

LongQuery = Literal["max", "rrf", "mean", "truncate"]
# Candidates each arm contributes: enough depth for fusion to matter, and for documents to be grouped.
MIN_CANDIDATES = 40
MIN_DOCUMENT_CANDIDATES = 100


class Retriever:
    def __init__(self, index: KnowledgeIndex, embedder: Embedder, rerank_default: bool = False,
                 long_query: LongQuery = "max") -> None:
        self.index = index
        # Queries skip the embedding cache: one-off texts would only grow it, and a write costs latency.
        self.embedder = getattr(embedder, "inner", embedder)
        self.rerank_default = rerank_default
        self.long_query = long_query

    def search(self, query: str, access: Access, limit: int = 5, mode: SearchMode = "hybrid",
               rerank_results: bool | None = None, by_document: bool = False) -> list[Passage]:
        do_rerank = (self.rerank_default if rerank_results is None else rerank_results) and mode == "hybrid"
        depth = max(limit * 10, MIN_DOCUMENT_CANDIDATES) if by_document else max(limit * 4, MIN_CANDIDATES)
        dense_hits = self._dense(query, access, depth) if mode != "sparse" else []
        sparse_hits = self.index.sparse(access, sparse.query_vector(query), depth) if mode != "dense" else []
        if mode == "dense":
            ranked = dense_hits
        elif mode == "sparse":
            ranked = sparse_hits
        else:
            ranked = fusion.rrf([dense_hits, sparse_hits])
            if do_rerank:
                ranked = fusion.rrf([ranked, fusion.score_fusion([dense_hits, sparse_hits])])
        if by_document:
            return [_passage(i, hit, score) for i, (hit, score) in enumerate(fusion.by_document(ranked)[:limit], 1)]
        return [_passage(i, hit, hit.score) for i, hit in enumerate(ranked[:limit], 1)]

    def _dense(self, query: str, access: Access, depth: int) -> list[Hit]:
        parts = [query] if self.long_query == "truncate" else segments(query)
        vectors = self.embedder.embed(parts)
        if len(vectors) == 1:
            return self.index.dense(access, vectors, depth)[0]
        if self.long_query == "mean":
            mean = np.mean(np.asarray(vectors, dtype=np.float32), axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            return self.index.dense(access, [mean.tolist()], depth)[0]
        rankings = self.index.dense(access, vectors, depth)
        return fusion.max_pool(rankings) if self.long_query == "max" else fusion.rrf(rankings)


def _passage(rank: int, hit: Hit, score: float) -> Passage:
    p = hit.payload
    return Passage(
        citation=f"S{rank}", chunk_id=hit.id, source=p.get("source", "?"),
        start=int(p.get("start", 0)), end=int(p.get("end", 0)), section=p.get("section", ""),
        score=round(float(score), 6), text=p.get("text", ""),
    )


def timed_search(retriever: Retriever, query: str, access: Access, limit: int, mode: SearchMode,
                 rerank_results: bool | None = None, by_document: bool = False) -> tuple[list[Passage], float]:
    start = time.perf_counter()
    passages = retriever.search(query, access, limit, mode, rerank_results, by_document)
    return passages, (time.perf_counter() - start) * 1000
