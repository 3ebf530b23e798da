"""Pure pieces of ranking: long-query segments, rank and score fusion, per-document fusion."""

from __future__ import annotations

from activities.retrieval import fusion
from activities.retrieval.index import Hit
from activities.retrieval.long_query import SEGMENT_CHARS, segments


def hits(*pairs: tuple[str, float], source: dict[str, str] | None = None) -> list[Hit]:
    return [Hit(id=i, score=s, payload={"source": (source or {}).get(i, i)}) for i, s in pairs]


def test_short_query_is_one_segment_and_long_query_keeps_every_word() -> None:
    """A short query is searched as it is; a long one is cut into window-sized segments that lose nothing."""
    assert segments("when does an approval expire?") == ["when does an approval expire?"]
    long = " ".join(f"Sentence number {i} talks about something else entirely." for i in range(120))
    parts = segments(long)
    assert len(parts) > 5 and all(len(p) <= SEGMENT_CHARS for p in parts)
    assert " ".join(parts).split() == long.split()
    run_on = "word " * 3000  # no sentence ends at all
    assert " ".join(segments(run_on)).split() == run_on.split()


def test_document_fusion_returns_distinct_documents_scored_from_their_passages() -> None:
    """One result per document, its best passage first; further passages add a decaying share."""
    src = {"a1": "A", "a2": "A", "a3": "A", "b1": "B", "c1": "C"}
    ranked = fusion.by_document(hits(("b1", 0.86), ("a1", 0.85), ("a2", 0.8), ("a3", 0.7), ("c1", 0.1), source=src))
    assert [h.payload["source"] for h, _ in ranked] == ["A", "B", "C"]
    best, score = ranked[0]
    assert best.id == "a1"
    expected = sum(w * s for w, s in zip(fusion.DOC_DECAY, (0.85, 0.8, 0.7), strict=False))
    assert len(fusion.DOC_DECAY) > 1 and abs(score - expected) < 1e-9
    # One strong passage still beats a document of many weak ones.
    weak = {f"w{i}": "W" for i in range(5)}
    ranked = fusion.by_document(hits(("s", 0.9), *[(f"w{i}", 0.5) for i in range(5)], source=weak))
    assert ranked[0][0].id == "s"


def test_standardised_max_pool_prefers_the_segment_that_stands_out() -> None:
    """A boilerplate segment scoring everything ~0.6 loses to a need segment whose best match stands out."""
    boilerplate = hits(("x", 0.62), ("y", 0.61), ("z", 0.60), ("w", 0.60))
    need = hits(("y", 0.58), ("x", 0.30), ("z", 0.28), ("w", 0.27))
    assert fusion.max_pool([boilerplate, need])[0].id == "x"  # raw cosine: boilerplate wins
    pooled = fusion.max_pool([fusion.standardised(boilerplate), fusion.standardised(need)])
    assert pooled[0].id == "y"


def test_rrf_and_score_fusion() -> None:
    """RRF rewards agreement of ranks; score fusion keeps a clear lead in one arm."""
    dense = hits(("a", 0.9), ("b", 0.5), ("c", 0.49))
    bm25 = hits(("b", 12.0), ("c", 11.9), ("a", 2.0))
    assert fusion.rrf([dense, bm25])[0].id == "b"
    assert [h.id for h in fusion.score_fusion([dense, bm25])][:1] == ["b"]
    assert fusion.score_fusion([hits(("a", 0.9), ("b", 0.1)), hits(("b", 5.0), ("a", 4.9))])[0].id == "a"


def test_z_sum_keeps_how_far_a_passage_stands_out() -> None:
    """A passage one arm puts far ahead of the rest, and the other ranks among its best, beats one the
    second arm ranks a place higher: RRF, which keeps ranks only, orders them the other way. A
    candidate one arm did not return counts that arm's lowest z, not its mean."""
    dense = hits(("a", 0.95), ("b", 0.60), ("c", 0.59), ("d", 0.58), ("e", 0.57))
    sparse_hits = hits(("b", 5.0), ("c", 4.9), ("a", 4.8), ("d", 1.0), ("f", 0.9))
    assert fusion.rrf([dense, sparse_hits])[0].id == "b"
    fused = fusion.z_sum([dense, sparse_hits])
    assert fused[0].id == "a"
    z_dense, z_sparse = fusion.standardised(dense), fusion.standardised(sparse_hits)
    f = next(h for h in fused if h.id == "f")
    expected = min(h.score for h in z_dense) + next(h.score for h in z_sparse if h.id == "f")
    assert abs(f.score - expected) < 1e-9


def test_pooled_z_equals_max_pool_of_standardised_rankings() -> None:
    """The long query's fast path ranks exactly as the definition it replaces, ties and all."""
    import random

    rng = random.Random(11)
    for _ in range(200):
        rankings = [sorted((Hit(f"p{rng.randrange(60)}", rng.choice([rng.random(), 0.5])) for _ in range(rng.randrange(0, 25))),
                           key=lambda h: h.score, reverse=True) for _ in range(rng.randrange(1, 8))]
        rankings = [list({h.id: h for h in r}.values()) for r in rankings]  # an engine returns a point once
        expected = fusion.max_pool([fusion.standardised(r) for r in rankings])
        got = fusion.pooled_z(rankings)
        assert [h.id for h in got] == [h.id for h in expected]
        assert [round(h.score, 9) for h in got] == [round(h.score, 9) for h in expected]
