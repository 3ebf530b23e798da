"""The head of a ranking does not depend on how many results a caller asks for: the first k results are
the same for every limit from k up to the largest, in every mode, by passage and by document, for short
and long (multi-paragraph) queries, on generated corpora with shared vocabulary."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from activities.retrieval.search import MAX_LIMIT
from workflows.contracts.retrieval import Access

TOPICS = ["refund", "card", "loan", "mortgage", "savings", "transfer", "fraud", "overdraft", "interest", "branch",
          "account", "statement", "deposit", "limit", "fee", "travel", "insurance", "pension", "tax", "currency"]
FILLER = ["the", "customer", "policy", "requires", "within", "days", "after", "request", "bank", "may", "apply",
          "standard", "terms", "when", "any", "holder", "notice", "written", "period", "charge", "review"]


def corpus(folder: Path, seed: int, documents: int = 60) -> list[str]:
    """Documents that share most of their words, each leaning on two or three topics."""
    rng = random.Random(seed)
    folder.mkdir(parents=True)
    for n in range(documents):
        topics = rng.sample(TOPICS, 3)
        paragraphs = []
        for _ in range(rng.randint(2, 6)):
            words = [rng.choice(topics if rng.random() < 0.3 else FILLER) for _ in range(rng.randint(30, 90))]
            paragraphs.append(" ".join(words).capitalize() + ".")
        (folder / f"doc-{n:03}.md").write_text(f"# Document {n}\n\n" + "\n\n".join(paragraphs) + "\n")
    queries = [" ".join(rng.sample(TOPICS, rng.randint(1, 3))) for _ in range(6)]
    queries += ["\n\n".join(" ".join(rng.choice(TOPICS + FILLER) for _ in range(25)) for _ in range(4))
                for _ in range(3)]  # long, several needs
    return queries


@pytest.mark.parametrize("seed", [1, 2])
def test_the_first_k_results_do_not_depend_on_the_limit(kb, tmp_path, seed):
    queries = corpus(tmp_path / "corpus", seed)
    kb.ingestor.ingest_paths([tmp_path / "corpus"], "gen")
    access = Access(tenant_id="gen", user_id="u")
    checked = 0
    for query in queries:
        for mode in ("hybrid", "dense", "sparse"):
            for by_document in (False, True):
                full = [p.chunk_id for p in kb.retriever.search(query, access, MAX_LIMIT, mode, by_document=by_document)]
                for limit in (1, 3, 5, 10, 20):
                    head = [p.chunk_id for p in kb.retriever.search(query, access, limit, mode, by_document=by_document)]
                    assert head == full[:limit], (query[:60], mode, by_document, limit)
                    checked += 1
    assert checked == len(queries) * 3 * 2 * 5


def test_a_passage_deleted_after_ranking_is_left_out_not_shown_empty(kb, tmp_path, monkeypatch):
    """Candidates are ranked without their text, which is read afterwards; a passage removed in between
    (a re-ingestion of its document) is dropped from the answer, and the rest keep their order."""
    queries = corpus(tmp_path / "corpus", 3)
    kb.ingestor.ingest_paths([tmp_path / "corpus"], "gen")
    access = Access(tenant_id="gen", user_id="u")
    before = kb.retriever.search(queries[0], access, 5)
    assert len(before) == 5 and all(p.text for p in before)
    gone = before[1].chunk_id
    read = kb.index.payloads
    monkeypatch.setattr(kb.index, "payloads", lambda tenant, ids: {
        i: p for i, p in read(tenant, ids).items() if i != gone})
    after = kb.retriever.search(queries[0], access, 5)
    assert [p.chunk_id for p in after] == [p.chunk_id for p in before if p.chunk_id != gone]
    assert all(p.text for p in after) and [p.citation for p in after] == ["S1", "S2", "S3", "S4"]
