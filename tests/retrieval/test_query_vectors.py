"""Query vectors kept in memory: a repeated paragraph is embedded once, and a kept vector is exact."""

from __future__ import annotations

from activities.retrieval.query_vectors import QueryVectors


class CountingEmbedder:
    model_id, dim = "counting", 2

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def embed(self, texts):
        self.batches.append(list(texts))
        return [[float(len(t)), float(sum(map(ord, t)) % 97)] for t in texts]


def test_only_new_texts_are_embedded_in_one_batch_and_the_vectors_are_the_models() -> None:
    inner = CountingEmbedder()
    vectors = QueryVectors(inner)
    disclaimer, signature = "This e-mail is confidential.", "Kind regards, Ana"
    first = vectors.embed(["Hi,", "Can I raise my card limit?", disclaimer, signature])
    second = vectors.embed(["Hello,", "Where is my refund?", disclaimer, signature, "Where is my refund?"])
    assert inner.batches[1] == ["Hello,", "Where is my refund?"]
    assert second[2:4] == first[2:4] and second[1] == second[4]
    assert second == CountingEmbedder().embed(["Hello,", "Where is my refund?", disclaimer, signature,
                                                "Where is my refund?"])
    assert (vectors.hits, vectors.misses) == (2, 6)  # served from memory, embedded


def test_at_most_max_texts_are_kept_least_recently_used_first_out() -> None:
    inner = CountingEmbedder()
    vectors = QueryVectors(inner, max_texts=2)
    vectors.embed(["a"])
    vectors.embed(["b"])
    vectors.embed(["a"])  # a is now the most recent
    vectors.embed(["c"])  # b goes
    vectors.embed(["a", "b"])
    assert inner.batches == [["a"], ["b"], ["c"], ["b"]]


def test_kept_vectors_are_per_tenant_so_speed_tells_nothing_across_tenants() -> None:
    """A paragraph another tenant asked is embedded again, not served from its kept vector."""
    inner = CountingEmbedder()
    vectors = QueryVectors(inner)
    vectors.embed(["Is the Meridian merger closing on 3 March?"], "acme")
    vectors.embed(["Is the Meridian merger closing on 3 March?"], "globex")
    vectors.embed(["Is the Meridian merger closing on 3 March?"], "acme")
    assert inner.batches == [["Is the Meridian merger closing on 3 March?"]] * 2
