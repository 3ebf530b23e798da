"""Ingestion into local Qdrant: collection layout, idempotent upserts, changed files, progress."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from qdrant_client import models

from activities.retrieval.ingest import InvalidScope
from activities.retrieval.runtime import KnowledgeBase, build_knowledge_base
from activities.retrieval.store import QdrantStore, StoreError
from tests.retrieval.conftest import CORPUS, retrieval_settings
from tests.retrieval.pdf_fixture import write_pdf
from workflows.contracts.retrieval import Access


def _points(kb: KnowledgeBase, tenant: str = "acme") -> dict[str, dict]:
    return kb.index.all_payloads(tenant)


@pytest.fixture
def local_kb(tmp_path: Path, minilm, embedding_cache) -> KnowledgeBase:
    """The same knowledge base with qdrant-client's local mode as the knowledge engine."""
    settings = retrieval_settings(tmp_path / "local", embedding_cache).model_copy(update={"knowledge_engine": "local"})
    base = build_knowledge_base(settings, embedder=minilm)
    yield base
    base.close()


def test_collection_has_dense_and_idf_sparse_vectors(local_kb: KnowledgeBase) -> None:
    """A tenant's collection is created with 384-d cosine vectors and an IDF-weighted sparse vector."""
    kb = local_kb
    kb.ingestor.ingest_paths([CORPUS / "budgets.md"], "acme")
    params = kb.store.client.get_collection(kb.index.collection("acme")).config.params
    assert params.vectors["dense"].size == 384
    assert params.vectors["dense"].distance == models.Distance.COSINE
    assert params.sparse_vectors["sparse"].modifier == models.Modifier.IDF


def test_reingesting_changes_nothing(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A second ingestion of the same folder writes no point, embeds no text and keeps every payload."""
    docs = shutil.copytree(CORPUS, tmp_path / "docs")
    progress = []
    first = kb.ingestor.ingest_paths([docs], "acme", progress=progress.append)
    assert first.files == 12 and first.added == first.chunks > 12
    assert [p.files_done for p in progress] == list(range(1, 13))
    before = _points(kb)
    second = kb.ingestor.ingest_paths([docs], "acme")
    assert (second.added, second.removed, second.unchanged, second.embedded) == (0, 0, first.chunks, 0)
    assert _points(kb) == before
    assert {p["source"] for p in before.values()} >= {"docs/approvals.md", "docs/retrieval-and-qdrant.html"}
    sample = next(iter(before.values()))
    assert {"tenant", "scope", "source", "title", "start", "end", "digest", "created_at", "text"} <= sample.keys()


def test_both_engines_ingest_and_find_the_same_chunks(kb: KnowledgeBase, local_kb: KnowledgeBase) -> None:
    """Qdrant Edge (the default) and qdrant-client local mode store the same points and rank the same top passage."""
    for base in (kb, local_kb):
        base.ingestor.ingest_paths([CORPUS], "acme")
    assert _points(kb).keys() == _points(local_kb).keys()
    alice = Access(tenant_id="acme", user_id="alice")
    for mode in ("dense", "sparse", "hybrid"):
        a = kb.retriever.search("what happens when an approval expires?", alice, 3, mode)
        b = local_kb.retriever.search("what happens when an approval expires?", alice, 3, mode)
        assert [p.chunk_id for p in a][:1] == [p.chunk_id for p in b][:1]


def test_changed_file_replaces_only_its_stale_chunks(kb: KnowledgeBase, tmp_path: Path) -> None:
    """Editing one paragraph adds its new chunk, removes the stale one and re-embeds only that text."""
    docs = shutil.copytree(CORPUS, tmp_path / "docs")
    kb.ingestor.ingest_paths([docs], "acme")
    path = docs / "budgets.md"
    path.write_text(path.read_text().replace("Cost in dollars", "Cost in euros"))
    result = kb.ingestor.ingest_paths([docs], "acme")
    assert result.added == result.removed >= 1
    assert result.embedded == result.added
    hit = kb.retriever.search("cost in euros", Access(tenant_id="acme", user_id="u"), 1, mode="sparse")[0]
    assert hit.source == "docs/budgets.md" and "euros" in hit.text


def test_pdf_is_ingested_and_searchable(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A PDF's text is chunked, stored with offsets and found by a query."""
    write_pdf(tmp_path / "handbook.pdf", ["Vacation requests are approved by the team lead.",
                                          "Expense reports are due on the fifth of each month."])
    result = kb.ingestor.ingest_paths([tmp_path / "handbook.pdf"], "acme")
    assert result.files == 1 and result.chunks == 1
    hit = kb.retriever.search("when are expense reports due?", Access(tenant_id="acme", user_id="u"), 1)[0]
    assert hit.source == "handbook.pdf" and "fifth of each month" in hit.text


def test_invalid_document_scope_is_refused(kb: KnowledgeBase) -> None:
    """Documents belong to a tenant, team or user scope; anything else is an error, not a silent default."""
    with pytest.raises(InvalidScope):
        kb.ingestor.ingest_paths([CORPUS], "acme", scope="everyone")


def test_vector_size_mismatch_is_a_clear_error(local_kb: KnowledgeBase) -> None:
    """Opening a collection built with another embedding size fails with instructions, not wrong results."""
    store, name = local_kb.store, local_kb.index.collection("acme")
    store.client.create_collection(name, vectors_config={"dense": models.VectorParams(size=8, distance=models.Distance.COSINE)})
    with pytest.raises(StoreError, match="AGENT_KNOWLEDGE_COLLECTION"):
        local_kb.ingestor.ingest_paths([CORPUS / "budgets.md"], "acme")


def test_edge_shard_of_another_size_is_a_clear_error(kb: KnowledgeBase, tmp_path: Path) -> None:
    """An Edge shard written with another vector size is refused when opened, with the fix in the message."""
    from activities.retrieval.edge_index import EdgeIndex

    kb.ingestor.ingest_paths([CORPUS / "budgets.md"], "acme")
    root = kb.index.root
    kb.index.close()
    with pytest.raises(StoreError, match="AGENT_KNOWLEDGE_COLLECTION"):
        EdgeIndex(root, 8).count("acme")


def test_local_store_open_twice_names_the_fix(kb: KnowledgeBase) -> None:
    """A second process-level open of the same local folder explains the one-process rule and the way out."""
    with pytest.raises(StoreError, match="AGENT_QDRANT_URL"):
        QdrantStore.open_local(Path(kb.store.where))


def test_every_chunk_is_indexed_with_its_document_title(kb: KnowledgeBase, tmp_path: Path) -> None:
    """A word that appears only in the document's title finds every chunk of it, deep sections included."""
    body = "\n\n".join(f"## Part {i}\n\n" + f"Paragraph {i} explains the expense process in detail. " * 12 for i in range(4))
    (tmp_path / "handbook.md").write_text(f"# Zanzibar travel handbook\n\n{body}\n")
    (tmp_path / "other.md").write_text("# Other\n\n" + "The expense process is explained elsewhere too. " * 10)
    result = kb.ingestor.ingest_paths([tmp_path / "handbook.md", tmp_path / "other.md"], "acme")
    handbook_chunks = result.chunks - 1
    assert handbook_chunks >= 4
    hits = kb.retriever.search("zanzibar", Access(tenant_id="acme", user_id="u"), 10, mode="sparse")
    assert len(hits) == handbook_chunks and {h.source for h in hits} == {"handbook.md"}
    assert all(p["title"] == "Zanzibar travel handbook" for p in _points(kb).values() if p["source"] == "handbook.md")
