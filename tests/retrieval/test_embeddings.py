"""The CPU embedder and its cache."""

from __future__ import annotations

import hashlib

import numpy as np

from activities.retrieval.embedding_cache import CachedEmbedder
from activities.retrieval.embeddings import TOKENIZER_PATH, MiniLMEmbedder


def test_tokenizer_asset_is_the_documented_file() -> None:
    """The committed tokenizer.json is byte-identical to the one NOTICE.md names."""
    digest = hashlib.sha256(TOKENIZER_PATH.read_bytes()).hexdigest()
    assert digest == "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


def test_vectors_are_normalised_and_meaningful(minilm: MiniLMEmbedder) -> None:
    """384-d unit vectors where a paraphrase is closer than an unrelated sentence."""
    a, b, c = np.array(minilm.embed([
        "The worker retries the activity after a crash.",
        "After a crash the activity is attempted again by the worker.",
        "Quarterly revenue grew in the northern region.",
    ]))
    assert a.shape == (384,)
    assert abs(np.linalg.norm(a) - 1) < 1e-4
    assert a @ b > a @ c + 0.3


def test_batching_does_not_change_vectors(minilm: MiniLMEmbedder) -> None:
    """A text embeds the same alone and inside a length-sorted, padded batch."""
    texts = ["short", "a much longer sentence about durable workflows and their event histories " * 3, "mid size text"]
    batched = np.array(minilm.embed(texts))
    alone = np.array([minilm.embed([t])[0] for t in texts])
    assert np.allclose(batched, alone, atol=1e-3)


def test_cache_embeds_unchanged_text_once(minilm: MiniLMEmbedder, tmp_path) -> None:
    """A second pass over the same texts, even from a new process-level cache object, embeds nothing."""
    cache = CachedEmbedder(minilm, tmp_path / "cache.sqlite")
    first = cache.embed(["alpha text", "beta text", "alpha text"])
    assert cache.misses == 2
    again = CachedEmbedder(minilm, tmp_path / "cache.sqlite")
    second = again.embed(["beta text", "alpha text"])
    assert again.misses == 0
    assert np.allclose(second, [first[1], first[0]])


def test_length_batches_bound_padding_and_keep_every_input() -> None:
    """Inputs are batched by token length, so padding to a batch's longest stays within a quarter of
    its real tokens (one long query's paragraphs, padded together, cost 1.8x their tokens before)."""
    import random

    from activities.retrieval.embeddings import length_batches

    rng = random.Random(5)
    for _ in range(200):
        lengths = [rng.randint(3, 256) for _ in range(rng.randint(1, 80))]
        batches = length_batches(lengths, batch_size=16)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        for batch in batches:
            assert 1 <= len(batch) <= 16
            real = sum(lengths[i] for i in batch)
            assert len(batch) * max(lengths[i] for i in batch) <= 1.25 * real or len(batch) == 1
