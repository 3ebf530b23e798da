"""BM25-style sparse vectors computed here; Qdrant multiplies in the IDF (Modifier.IDF on the collection).

Documents carry BM25's saturated, length-normalised term frequency; queries carry 1.0 per distinct term.
With the collection's IDF modifier, the dot product Qdrant computes is the BM25 score of the query's
distinct terms. BM25 proper counts a query term as often as it occurs (the evaluation's baseline does,
tests/retrieval/eval.py); in this arm that was measured worse: hybrid recall@10 0.885 -> 0.875 and
0.923 -> 0.901 on the scenario and holdout sets, MRR +0.004 and -0.010 (docs/retrieval.md). Term ids are
hashed (no vocabulary to store or keep in sync across workers); 32-bit collisions are rare enough to
ignore at this scale.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass

K1 = 1.2
B = 0.75
# Average chunk length in terms; fixed (not measured per corpus) so a chunk's vector never changes
# when other documents are ingested, which keeps upserts idempotent.
AVG_TERMS = 110.0

_WORD = re.compile(r"[a-z0-9]+(?:[_'][a-z0-9]+)*")
_STOP = frozenset(
    "a an and are as at be but by can do does for from has have how i if in into is it its of on or "
    "that the their then there these they this to was were what when where which who why will with "
    "you your".split()
)


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


def terms(text: str) -> list[str]:
    """Lower-cased words without stop words, with a light plural stem ('workflows' -> 'workflow')."""
    out = []
    for word in _WORD.findall(text.lower()):
        if word in _STOP or len(word) < 2:
            continue
        out.append(_stem(word))
    return out


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def term_id(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "little")


def document_vector(text: str) -> SparseVector:
    counts = Counter(terms(text))
    length = sum(counts.values())
    norm = K1 * (1 - B + B * length / AVG_TERMS)
    weights: dict[int, float] = {}
    for term, tf in counts.items():
        tid = term_id(term)
        weights[tid] = weights.get(tid, 0.0) + tf * (K1 + 1) / (tf + norm)
    return _sorted(weights)


def query_vector(text: str) -> SparseVector:
    return _sorted({term_id(t): 1.0 for t in set(terms(text))})


def _sorted(weights: dict[int, float]) -> SparseVector:
    ids = sorted(weights)
    return SparseVector(indices=ids, values=[round(weights[i], 6) for i in ids])
