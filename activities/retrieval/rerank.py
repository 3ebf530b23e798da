"""Optional re-ranking of fused candidates: a convex mix of dense similarity and query-term coverage.

RRF keeps only ranks, so a candidate that both arms rank mid-list can beat one that is the clear best
by meaning. Re-scoring the (already permission-filtered) candidate pool with the actual cosine and the
share of query terms the passage contains restores that signal at no model cost. A cross-encoder would
plug in here the same way (a function of the query and the candidates' text).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from qdrant_client import models

from activities.retrieval import sparse
from activities.retrieval.store import DENSE

DENSE_WEIGHT = 0.7


def rerank(query: str, query_vector: Sequence[float], points: list[models.ScoredPoint]) -> list[models.ScoredPoint]:
    if not points:
        return points
    q_terms = set(sparse.terms(query))
    q = np.asarray(query_vector, dtype=np.float32)
    rescored = []
    for point in points:
        vectors = point.vector if isinstance(point.vector, dict) else {}
        v = np.asarray(vectors.get(DENSE, np.zeros_like(q)), dtype=np.float32)
        cosine = float(q @ v) / max(float(np.linalg.norm(v)), 1e-12)
        text = f"{(point.payload or {}).get('section', '')}\n{(point.payload or {}).get('text', '')}"
        coverage = len(q_terms & set(sparse.terms(text))) / len(q_terms) if q_terms else 0.0
        score = DENSE_WEIGHT * cosine + (1 - DENSE_WEIGHT) * coverage
        rescored.append(point.model_copy(update={"score": score}))
    return sorted(rescored, key=lambda p: p.score, reverse=True)
