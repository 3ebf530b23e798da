"""Permissions before retrieval: tenant and user scope are a Qdrant filter inside every query."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from qdrant_client import models

from activities.retrieval.contracts import Access
from activities.retrieval.runtime import KnowledgeBase
from tests.retrieval.conftest import CORPUS

# (tenant, document scope) -> which callers may read it
OWNERS = [("acme", "tenant"), ("acme", "user:alice"), ("acme", "user:bob"), ("acme", "team:eng"),
          ("globex", "tenant"), ("globex", "user:alice")]
CALLERS = [Access(tenant_id="acme", user_id="alice"), Access(tenant_id="acme", user_id="bob", team_ids=["eng"]),
           Access(tenant_id="acme", user_id="carol"), Access(tenant_id="globex", user_id="alice")]


@pytest.fixture
def shared_corpus(kb: KnowledgeBase, tmp_path: Path) -> KnowledgeBase:
    """The same documents ingested under every owner, so every query has foreign matches to leak."""
    files = sorted(CORPUS.glob("*.md"))[:4]
    for tenant, scope in OWNERS:
        kb.ingestor.ingest_paths(files, tenant, scope)
    return kb


def _random_queries(n: int, seed: int = 7) -> list[str]:
    words = " ".join(p.read_text() for p in sorted(CORPUS.glob("*.md"))[:4]).split()
    rng = random.Random(seed)
    return [" ".join(rng.choice(words) for _ in range(rng.randint(1, 6))) for _ in range(n)]


def test_random_queries_never_return_foreign_passages(shared_corpus: KnowledgeBase) -> None:
    """Hundreds of random queries in every mode return only passages the caller's tenant and scopes allow."""
    kb = shared_corpus
    returned = foreign = 0
    for i, query in enumerate(_random_queries(120)):
        access = CALLERS[i % len(CALLERS)]
        allowed = set(access.scope_keys())
        for mode in ("dense", "sparse", "hybrid"):
            for p in kb.retriever.search(query, access, limit=10, mode=mode):
                payload = kb.store.client.retrieve(kb.settings.knowledge_collection, [p.chunk_id])[0].payload
                returned += 1
                if payload["tenant"] != access.tenant_id or payload["scope"] not in allowed:
                    foreign += 1
    assert returned > 2000  # the filter let plenty through: the test had something to leak
    assert foreign == 0


def test_unfiltered_search_would_have_leaked(shared_corpus: KnowledgeBase) -> None:
    """Control: the same vectors without the filter do rank foreign tenants' copies at the top."""
    kb = shared_corpus
    vector = kb.embedder.embed(["how does replay rebuild state after a crash"])[0]
    top = kb.store.client.query_points(kb.settings.knowledge_collection, query=vector, using="dense", limit=10,
                                       with_payload=True).points
    assert {p.payload["tenant"] for p in top} == {"acme", "globex"}


def test_scopes_within_a_tenant(shared_corpus: KnowledgeBase) -> None:
    """Carol sees only tenant-wide passages; Bob also his own and his team's; nobody sees Alice's."""
    kb = shared_corpus

    def scopes(access: Access) -> set[str]:
        flt = models.Filter(must=[models.HasIdCondition(has_id=[
            p.chunk_id for p in kb.retriever.search("activity retries and timeouts", access, limit=50)])])
        return {r.payload["scope"] for r in kb.store.scroll_all(kb.settings.knowledge_collection, flt)}

    assert scopes(CALLERS[2]) == {"tenant"}
    assert scopes(CALLERS[1]) == {"tenant", "user:bob", "team:eng"}
    assert scopes(Access(tenant_id="initech", user_id="alice")) == set()
