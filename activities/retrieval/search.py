"""Search the knowledge index: dense, sparse (BM25) or hybrid, by passage or by document.

Every arm's query carries the caller's Access as a filter inside the engine's query (see index.py and
permissions.py), so candidates are drawn only from what the caller may read; fusion happens here, over
those already-filtered candidates. The choices below were measured on three labelled sets of
different shapes (docs/retrieval.md, `python -m tests.retrieval.eval`):

- Long queries (`long_query`, default "zmax"): the query is cut into segments at paragraphs
  (long_query.py); every segment is searched by both arms, and each segment's scores are
  standardised before max-pooling (fusion.standardised), so boilerplate paragraphs that match every
  document alike stop outranking the paragraphs that state a need. Dense "max", "rrf", "mean" and
  "truncate" (the whole query cut at the model's window, BM25 over the whole query) were measured
  worse and stay selectable for the evaluation.
- Hybrid: a short query (one segment) fuses the dense and sparse scores (min-max normalised mean),
  which keeps how far ahead a clear best match is; a long query sums the two pooled rankings'
  z-scores (fusion.z_sum): standardised, the arms' scales are comparable, and the sum keeps how far
  a passage stands out for the one need a paragraph states. Against RRF of the pooled rankings it
  raised MRR (0.906 → 0.908 scenarios, 0.917 → 0.981 holdout) and recall@5, and recall@10 on the
  holdout (0.902 → 0.923), for 0.006 of recall@10 on the tuning set. Document RRF, min-max and
  weighted RRF were measured too (docs/retrieval.md says why z-sum was chosen).
- Re-ranking: every re-ranker tried over the hybrid candidates (cosine + term coverage, score fusion,
  and RRF of either with the hybrid rank) lowered MRR on at least one set, so `rerank=True` returns
  the hybrid order; the flag stays accepted for callers and settings that pass it.
- By document: candidates are grouped by source and a document scores its best passage plus 5% of
  its second (fusion.by_document), one passage per document is returned, and `limit`
  counts distinct documents.
- A fixed candidate depth: each arm fetches the same number of candidates whatever `limit` a caller
  asks for (PASSAGE_DEPTH, DOCUMENT_DEPTH), and fusion runs over them before the cut. Fusion
  normalises scores over its candidates, so a depth that grew with `limit` gave a caller asking for
  more a different best answer (the top 10 differed between limit 10 and 50 on every query measured).
  Each segment of a long query draws half the passage depth (SEGMENT_SHARE); by document, the
  first DOCUMENT_DEPTH fused passages are grouped.
- Candidates carry no payload (index.py); only the passages grouped or returned are read whole.
"""

from __future__ import annotations

import time
from typing import Literal

import numpy as np

from activities.retrieval import fusion, sparse
from activities.retrieval.embeddings import Embedder
from activities.retrieval.index import Hit, KnowledgeIndex
from activities.retrieval.long_query import segments
from activities.retrieval.query_vectors import QueryVectors
from workflows.contracts.retrieval import Access, Passage, SearchMode

LongQuery = Literal["zmax", "max", "rrf", "mean", "truncate"]
# Candidates each arm contributes, whatever the limit: enough for fusion to matter and for MAX_LIMIT
# documents to be grouped (measured: docs/retrieval.md).
MAX_LIMIT = 50
PASSAGE_DEPTH = 4 * MAX_LIMIT
DOCUMENT_DEPTH = 6 * MAX_LIMIT
# A long query's segments each draw half the passage depth, by passage and by document: pooled over
# several segments they still give more candidates than one query draws, at half the ranking cost
# (measured at 10,000 chunks: docs/retrieval.md, Speed).
SEGMENT_SHARE = 2


class Retriever:
    def __init__(self, index: KnowledgeIndex, embedder: Embedder, rerank_default: bool = False,
                 long_query: LongQuery = "zmax") -> None:
        self.index = index
        # Queries skip the persistent embedding cache (one-off texts would only grow it, and a write
        # costs latency) but keep their vectors in memory: long queries repeat paragraphs.
        self.embedder = QueryVectors(getattr(embedder, "inner", embedder))
        self.rerank_default = rerank_default  # accepted, see the module's note on re-ranking
        self.long_query = long_query

    def search(self, query: str, access: Access, limit: int = 5, mode: SearchMode = "hybrid",
               rerank_results: bool | None = None, by_document: bool = False) -> list[Passage]:
        if not 1 <= limit <= MAX_LIMIT:
            raise ValueError(f"limit must be 1 to {MAX_LIMIT}, not {limit}")
        parts = segments(query) if self.long_query != "truncate" else [query]
        depth = PASSAGE_DEPTH // SEGMENT_SHARE if len(parts) > 1 else DOCUMENT_DEPTH if by_document else PASSAGE_DEPTH
        dense = self._dense(query, parts, access, depth) if mode != "sparse" else []
        sparse_hits = self._sparse(query, parts, access, depth) if mode != "dense" else []
        if mode == "dense":
            ranked = dense
        elif mode == "sparse":
            ranked = sparse_hits
        elif len(parts) == 1:
            ranked = fusion.score_fusion([dense, sparse_hits])
        else:
            ranked = fusion.z_sum([dense, sparse_hits])
        if by_document:
            # Grouped over the fused head: a document's passages need their source, read for these only.
            head = self._read(access, ranked[:DOCUMENT_DEPTH])
            return [_passage(i, hit, score) for i, (hit, score) in enumerate(fusion.by_document(head)[:limit], 1)]
        return [_passage(i, hit, hit.score) for i, hit in enumerate(self._read(access, ranked[:limit]), 1)]

    def _read(self, access: Access, hits: list[Hit]) -> list[Hit]:
        """The hits with their payloads; one deleted since it was ranked (a re-ingestion in between) is
        left out rather than shown empty."""
        payloads = self.index.payloads(access.tenant_id, [hit.id for hit in hits])
        return [Hit(hit.id, hit.score, payloads[hit.id]) for hit in hits if hit.id in payloads]

    def _dense(self, query: str, parts: list[str], access: Access, depth: int) -> list[Hit]:
        if len(parts) == 1:
            return self.index.dense(access, self.embedder.embed([query], access.tenant_id), depth)[0]
        if self.long_query == "mean":
            mean = np.mean(np.asarray(self.embedder.embed(parts, access.tenant_id), dtype=np.float32), axis=0)
            mean /= max(float(np.linalg.norm(mean)), 1e-12)
            return self.index.dense(access, [mean.tolist()], depth)[0]
        rankings = self.index.dense(access, self.embedder.embed(parts, access.tenant_id), depth)
        if self.long_query == "zmax":
            return fusion.pooled_z(rankings)
        return fusion.max_pool(rankings) if self.long_query == "max" else fusion.rrf(rankings)

    def _sparse(self, query: str, parts: list[str], access: Access, depth: int) -> list[Hit]:
        """BM25 of the whole query; for a long one (zmax), of each segment, standardised and max-pooled."""
        if len(parts) == 1 or self.long_query != "zmax":
            return self.index.sparse(access, [sparse.query_vector(query)], depth)[0]
        rankings = self.index.sparse(access, [sparse.query_vector(part) for part in parts], depth)
        return fusion.pooled_z(rankings)


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
