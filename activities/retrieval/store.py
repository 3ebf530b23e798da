"""Qdrant through qdrant-client: local mode on disk by default, a server or cluster by URL; one code path.

Local mode (`QdrantClient(path=...)`) runs Qdrant's engine inside this process and keeps its data on
disk; it is one process at a time (a file lock) and not thread-safe, so calls are serialised here.
A server URL lifts both limits; everything else, from collection layout to query, is identical.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import structlog
from qdrant_client import QdrantClient, models

from activities.retrieval.settings import RetrievalSettings

log = structlog.get_logger(__name__)
T = TypeVar("T")

DENSE = "dense"
SPARSE = "sparse"
# Filtered and sorted fields; a server builds indexes for them (local mode scans, and says so).
PAYLOAD_INDEXES = {
    "tenant": models.PayloadSchemaType.KEYWORD,
    "scope": models.PayloadSchemaType.KEYWORD,
    "source": models.PayloadSchemaType.KEYWORD,
    "created_at": models.PayloadSchemaType.FLOAT,
}


class StoreError(RuntimeError):
    """The vector store cannot be used as configured; the message says what to change."""


class QdrantStore:
    def __init__(self, client: QdrantClient, local: bool, where: str) -> None:
        self.client = client
        self.local = local
        self.where = where
        self._lock = threading.RLock() if local else None

    @classmethod
    def open(cls, settings: RetrievalSettings) -> QdrantStore:
        if settings.qdrant_url:
            api_key = settings.secret(settings.qdrant_api_key_env)
            client = QdrantClient(url=settings.qdrant_url, api_key=api_key, timeout=30)
            return cls(client, local=False, where=settings.qdrant_url)
        return cls.open_local(settings.qdrant_path)

    @classmethod
    def open_local(cls, path: Path) -> QdrantStore:
        path.mkdir(parents=True, exist_ok=True)
        try:
            client = QdrantClient(path=str(path))
        except RuntimeError as e:
            if "already accessed" in str(e):
                raise StoreError(
                    f"the local Qdrant store at {path} is open in another process that does not serve it "
                    "(local mode allows one process; a worker serves its stores to the others on its data "
                    "directory, the knowledge CLI does not). Stop that process, or run a Qdrant server and "
                    "set AGENT_QDRANT_URL so that every process shares it."
                ) from e
            raise
        return cls(client, local=True, where=str(path))

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one client call; serialised in local mode, where the engine is not thread-safe."""
        if self._lock is None:
            return fn(*args, **kwargs)
        with self._lock:
            return fn(*args, **kwargs)

    def ensure_collection(self, name: str, dim: int, sparse: bool) -> None:
        """Create the collection if missing; refuse one whose vector size does not match the embedder."""
        if self.call(self.client.collection_exists, name):
            info = self.call(self.client.get_collection, name)
            vectors = info.config.params.vectors
            existing = vectors.get(DENSE) if isinstance(vectors, dict) else None
            if existing is None or existing.size != dim:
                raise StoreError(
                    f"collection {name!r} at {self.where} holds vectors of size "
                    f"{getattr(existing, 'size', '?')}, but the configured embedder makes {dim}: it was built "
                    "with another embedding model. Set AGENT_KNOWLEDGE_COLLECTION / AGENT_MEMORY_COLLECTION to a "
                    "new name and re-ingest, or switch AGENT_EMBEDDINGS back."
                )
            return
        self.call(
            self.client.create_collection,
            name,
            vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
            # IDF is computed by Qdrant over the collection, so sparse vectors only carry BM25's TF part.
            sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)} if sparse else None,
        )
        with warnings.catch_warnings():
            # Local mode warns that payload indexes are ignored there; the same calls matter on a server.
            warnings.filterwarnings("ignore", message="Payload indexes have no effect")
            for field, schema in PAYLOAD_INDEXES.items():
                self.call(self.client.create_payload_index, name, field, schema)
        log.info("retrieval.collection_created", collection=name, dim=dim, sparse=sparse, where=self.where)

    def scroll_all(self, name: str, flt: models.Filter, with_payload: bool | list[str] = True,
                   with_vectors: bool | list[str] = False) -> list[models.Record]:
        records: list[models.Record] = []
        offset = None
        while True:
            page, offset = self.call(
                self.client.scroll, name, scroll_filter=flt, limit=256, offset=offset,
                with_payload=with_payload, with_vectors=with_vectors,
            )
            records.extend(page)
            if offset is None:
                return records

    def close(self) -> None:
        self.call(self.client.close)
