"""The retrieval services of one process, built once at worker start and bound explicitly.

Tools are plain functions, so `search_knowledge` cannot take the store by injection; instead the
worker calls `configure(build_knowledge_base(settings))` once. Nothing is created at import time, and
a tool used before `configure` fails with a message that says so.
"""

from __future__ import annotations

from dataclasses import dataclass

# Memory is built on retrieval's store, embedder and permission filter (memory.store imports those
# modules, never this one), and this module composes both; so the import below is not a cycle.
from activities.memory.store import MemoryStore
from activities.retrieval.embedding_cache import CachedEmbedder
from activities.retrieval.embeddings import Embedder, MiniLMEmbedder, OpenAIEmbedder
from activities.retrieval.index import KnowledgeIndex
from activities.retrieval.ingest import Ingestor
from activities.retrieval.search import Retriever
from activities.retrieval.settings import RetrievalSettings
from activities.retrieval.store import QdrantStore


class RetrievalNotConfigured(RuntimeError):
    pass


@dataclass
class KnowledgeBase:
    """Store, embedder, retriever, ingestor and memory of one process, sharing one Qdrant client."""

    settings: RetrievalSettings
    store: QdrantStore
    embedder: CachedEmbedder
    index: KnowledgeIndex
    retriever: Retriever
    ingestor: Ingestor
    memory: MemoryStore

    def close(self) -> None:
        self.index.close()
        self.store.close()
        self.embedder.close()


def build_embedder(settings: RetrievalSettings) -> Embedder:
    if settings.embeddings == "openai":
        return OpenAIEmbedder(
            settings.openai_embedding_model, settings.openai_embedding_dim,
            settings.secret(settings.openai_api_key_env), settings.openai_base_url,
        )
    return MiniLMEmbedder(batch_size=settings.embedding_batch)


def build_index(settings: RetrievalSettings, store: QdrantStore, dim: int) -> KnowledgeIndex:
    """A server URL serves knowledge and memory alike; embedded, knowledge goes to Qdrant Edge by default."""
    from activities.retrieval.client_index import ClientIndex

    if settings.qdrant_url or settings.knowledge_engine == "local":
        return ClientIndex(store, settings.knowledge_collection, dim)
    from activities.retrieval.edge_index import EdgeIndex

    return EdgeIndex(settings.qdrant_edge_path / settings.knowledge_collection, dim)


def build_knowledge_base(settings: RetrievalSettings, embedder: Embedder | None = None,
                         store: QdrantStore | None = None) -> KnowledgeBase:
    """Open the stores, create missing collections, wire everything; `embedder` lets tests share one model."""
    cached = CachedEmbedder(embedder or build_embedder(settings), settings.embedding_cache)
    store = store or QdrantStore.open(settings)
    store.ensure_collection(settings.memory_collection, cached.dim, sparse=False)
    index = build_index(settings, store, cached.dim)
    return KnowledgeBase(
        settings=settings,
        store=store,
        embedder=cached,
        index=index,
        retriever=Retriever(index, cached, rerank_default=settings.rerank, long_query=settings.long_query),
        ingestor=Ingestor(index, cached),
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
