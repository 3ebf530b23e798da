"""Retrieval fixtures: one real MiniLM model and one embedding cache per test session, a fresh store per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from activities.retrieval.embeddings import MiniLMEmbedder
from activities.retrieval.runtime import KnowledgeBase, build_knowledge_base, configure
from activities.retrieval.settings import RetrievalSettings

CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    """The real int8 ONNX model, loaded once: every test embeds with it."""
    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared across the session so the corpus is embedded once, however many stores ingest it."""
    return tmp_path_factory.mktemp("embeddings") / "cache.sqlite"


def retrieval_settings(data_dir: Path, cache: Path) -> RetrievalSettings:
    return RetrievalSettings(qdrant_path=data_dir / "qdrant", qdrant_edge_path=data_dir / "qdrant-edge",
                             embedding_cache=cache)


@pytest.fixture
def kb(tmp_path: Path, minilm: MiniLMEmbedder, embedding_cache: Path) -> Iterator[KnowledgeBase]:
    """A knowledge base on a fresh local Qdrant store under the test's tmp dir."""
    base = build_knowledge_base(retrieval_settings(tmp_path / "data", embedding_cache), embedder=minilm)
    yield base
    base.close()


@pytest.fixture
def bound(kb: KnowledgeBase):
    """The corpus ingested for tenant acme, and the knowledge base bound for the tools of this process."""
    kb.ingestor.ingest_paths([CORPUS], "acme")
    configure(kb)
    yield kb
    configure(None)
