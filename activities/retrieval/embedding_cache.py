"""An embedding cache keyed by (model, sha256 of the text): re-ingesting unchanged text embeds nothing."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from activities.retrieval.embeddings import Embedder


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class CachedEmbedder:
    """Wraps an Embedder; only cache misses reach it, in one batched call."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.model_id = inner.model_id
        self.dim = inner.dim
        self.misses = 0  # texts actually embedded since construction (ingestion reports it)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Activities and tools run in threads; one connection guarded by a lock is enough here.
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS embeddings (model TEXT NOT NULL, digest TEXT NOT NULL, "
            "vector BLOB NOT NULL, PRIMARY KEY (model, digest))"
        )
        self._db.commit()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        digests = [text_digest(t) for t in texts]
        found = self._lookup(set(digests))
        missing = list(dict.fromkeys(d for d in digests if d not in found))
        if missing:
            by_digest = {d: t for d, t in zip(digests, texts, strict=True)}
            vectors = self.inner.embed([by_digest[d] for d in missing])
            self.misses += len(missing)
            rows = [(self.model_id, d, np.asarray(v, dtype=np.float32).tobytes())
                    for d, v in zip(missing, vectors, strict=True)]
            with self._lock:
                self._db.executemany("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)", rows)
                self._db.commit()
            found.update(zip(missing, vectors, strict=True))
        return [list(map(float, found[d])) for d in digests]

    def _lookup(self, digests: set[str]) -> dict[str, list[float]]:
        out: dict[str, list[float]] = {}
        items = list(digests)
        with self._lock:
            for i in range(0, len(items), 500):  # stay under SQLite's bound-parameter limit
                part = items[i : i + 500]
                rows = self._db.execute(
                    f"SELECT digest, vector FROM embeddings WHERE model = ? AND digest IN ({','.join('?' * len(part))})",
                    [self.model_id, *part],
                ).fetchall()
                out.update((d, np.frombuffer(v, dtype=np.float32).tolist()) for d, v in rows)
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()
