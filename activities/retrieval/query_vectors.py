"""Query texts' vectors, kept in memory: a long query's repeated paragraphs are embedded once.

A long query is searched paragraph by paragraph (long_query.py), and much of a customer message is
text other messages carry too: the greeting, the signature, the e-mail disclaimer, a quoted
auto-reply. Embedding is most of a long query's cost (MiniLM, ~10-25 ms a paragraph on these cores),
so each worker keeps the vectors of the last `max_texts` query texts and embeds only the new ones,
in one batch. Vectors are a pure function of the text and the model, so a hit is exact. Documents
do not come here: ingestion has its own persistent cache (embedding_cache.py).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from activities.retrieval.embeddings import Embedder


class QueryVectors:
    def __init__(self, embedder: Embedder, max_texts: int = 4096) -> None:
        self.embedder = embedder
        self.model_id, self.dim = embedder.model_id, embedder.dim
        self.max_texts = max_texts
        self._vectors: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def embed(self, texts: Sequence[str], scope: str = "") -> list[list[float]]:
        """Vectors of `texts`; kept per `scope` (the tenant), so how fast a query is answered never
        tells one tenant what another asked."""
        with self._lock:
            known = {t: self._vectors[(scope, t)] for t in texts if (scope, t) in self._vectors}
            for t in known:
                self._vectors.move_to_end((scope, t))
        new = list(dict.fromkeys(t for t in texts if t not in known))
        vectors = dict(zip(new, self.embedder.embed(new), strict=True)) if new else {}
        with self._lock:
            self.hits += sum(1 for t in texts if t in known)
            self.misses += len(new)
            for t, v in vectors.items():
                self._vectors[(scope, t)] = v
            while len(self._vectors) > self.max_texts:
                self._vectors.popitem(last=False)
        return [known[t] if t in known else vectors[t] for t in texts]

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()
