"""The retrieval services of one process, built once at worker start and bound explicitly.

Tools are plain functions, so `search_knowledge` cannot take the store by injection; instead the
worker calls `configure(build_knowledge_base(settings))` once. Nothing is created at import time, and
a tool used before `configure` fails with a message that says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from activities.retrieval.embedding_cache import CachedEmbedder
from activities.retrieval.embeddings import Embedder, MiniLMEmbedder, OpenAIEmbedder
from activities.retrieval.ingest import Ingestor
from activities.retrieval.search import Retriever
from activities.retrieval.settings import RetrievalSettings
from activities.retrieval.store import QdrantStore

if TYPE_CHECKING:  # memory imports retrieval modules; a runtime import here would be circular
    from activities.memory.store import MemoryStore


class RetrievalNotConfigured(RuntimeError):
    pass


@dataclass
class KnowledgeBase:
    """Store, embedder, retriever, ingestor and memory of one process, sharing one Qdrant client."""

    settings: RetrievalSettings
    store: QdrantStore
    embedder: CachedEmbedder
    retriever: Retriever
    ingestor: Ingestor
    memory: MemoryStore

    def close(self) -> None:
        self.store.close()
        self.embedder.close()


def build_embedder(settings: RetrievalSettings) -> Embedder:
    if settings.embeddings == "openai":
        return OpenAIEmbedder(
            settings.openai_embedding_model, settings.openai_embedding_dim,
            settings.secret(settings.openai_api_key_env), settings.openai_base_url,
        )
    return MiniLMEmbedder(batch_size=settings.embedding_batch)


def build_knowledge_base(settings: RetrievalSettings, embedder: Embedder | None = None,
                         store: QdrantStore | None = None) -> KnowledgeBase:
    """Open the store, create missing collections, wire everything; `embedder` lets tests share one model."""
    from activities.memory.store import MemoryStore

    cached = CachedEmbedder(embedder or build_embedder(settings), settings.embedding_cache)
    store = store or QdrantStore.open(settings)
    store.ensure_collection(settings.knowledge_collection, cached.dim, sparse=True)
    store.ensure_collection(settings.memory_collection, cached.dim, sparse=False)
    return KnowledgeBase(
        settings=settings,
        store=store,
        embedder=cached,
        retriever=Retriever(store, cached, settings.knowledge_collection, rerank_default=settings.rerank),
        ingestor=Ingestor(store, cached, settings.knowledge_collection),
        memory=MemoryStore(store, cached, settings.memory_collection),
    )


_current: KnowledgeBase | None = None


def configure(kb: KnowledgeBase | None) -> None:
    """Bind (or with None, unbind) the process-wide knowledge base the tools use."""
    global _current
    _current = kb


def current() -> KnowledgeBase:
    if _current is None:
        raise RetrievalNotConfigured(
            "retrieval is not configured in this worker: worker/main.py must call "
            "activities.retrieval.runtime.configure(build_knowledge_base(...)) at start"
        )
    return _current
