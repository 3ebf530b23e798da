"""The radix-tree prefix-cache model and the replay's reuse and best ratios, on exact small cases."""

from __future__ import annotations

import pytest

from inference.prefix_cache import RadixCache, replay


def test_match_finds_longest_stored_prefix_across_split_edges() -> None:
    """After inserting two sequences that share a prefix, matches stop exactly where they diverge."""
    cache = RadixCache()
    assert cache.insert([1, 2, 3, 4]) == 0
    assert cache.insert([1, 2, 5]) == 2
    assert cache.match([1, 2, 3, 4, 9]) == 4
    assert cache.match([1, 2, 5, 6]) == 3
    assert cache.match([1, 3]) == 1
    assert cache.match([7]) == 0
    assert cache.size_tokens == 5  # [1,2] + [3,4] + [5]


def test_replay_of_three_prompts_exact_numbers() -> None:
    """Cached tokens per step are the longest prefix seen before: 0, 3, 2 of 3, 5, 3 prompt tokens."""
    report = replay([[1, 2, 3], [1, 2, 3, 4, 5], [1, 2, 9]])
    assert [s.cached_tokens for s in report.steps] == [0, 3, 2]
    assert report.prompt_tokens == 11 and report.cached_tokens == 5
    assert report.reuse_ratio == pytest.approx(5 / 11)
    assert report.best_ratio == pytest.approx(5 / 11)  # unbounded radix reaches the best


def test_append_only_run_best_is_previous_prompt_length() -> None:
    """For an append-only run best_i = |p_{i-1}|: 0 + 2 + 4 + 6 cached of 2 + 4 + 6 + 8."""
    prompts = [list(range(n)) for n in (2, 4, 6, 8)]
    report = replay(prompts)
    assert [s.best_tokens for s in report.steps] == [0, 2, 4, 6]
    assert report.best_ratio == pytest.approx(12 / 20)


def test_single_slot_loses_reuse_that_a_radix_cache_keeps() -> None:
    """Alternating between two branches: llama.cpp's one slot reuses only the common stem, radix all."""
    a, b = [1, 2, 3, 4], [1, 2, 8, 9]
    radix, slot = replay([a, b, a, b]), replay([a, b, a, b], mode="single_slot")
    assert [s.cached_tokens for s in radix.steps] == [0, 2, 4, 4]
    assert [s.cached_tokens for s in slot.steps] == [0, 2, 2, 2]
    assert slot.best_ratio == radix.best_ratio == pytest.approx(10 / 16)


def test_capacity_evicts_least_recently_used_leaf() -> None:
    """With room for 6 tokens, inserting a third branch evicts the least recently used leaf only."""
    cache = RadixCache(capacity_tokens=6)
    cache.insert([1, 2, 3, 4])      # 4 tokens
    cache.insert([1, 2, 5, 6])      # +2 -> 6
    cache.match([1, 2, 3, 4])       # [3,4] is now more recent than [5,6]
    cache.insert([1, 2, 7])         # +1 -> 7 > 6: evicts [5,6]
    assert cache.size_tokens == 5
    assert cache.match([1, 2, 5, 6]) == 2
    assert cache.match([1, 2, 3, 4]) == 4
    assert cache.match([1, 2, 7]) == 3


def test_bounded_replay_falls_below_best() -> None:
    """A cache too small for the run's working set reuses less than the best ratio says is possible."""
    a, b = [1, 2, 3, 4], [5, 6, 7, 8]
    report = replay([a, b, a, b], capacity_tokens=4)
    assert [s.cached_tokens for s in report.steps] == [0, 0, 0, 0]
    assert report.best_ratio == pytest.approx(8 / 16)


def test_invalid_capacity_is_refused() -> None:
    """A zero capacity is a configuration error, raised clearly."""
    with pytest.raises(ValueError, match="capacity_tokens"):
        RadixCache(0)


def test_stable_layout_keeps_each_previous_prompt_as_prefix(gguf_path) -> None:
    """In the benchmark's run, every stable-layout prompt reuses the previous one's stable part; naive ones do not."""
    from activities.context.tokens import gguf_tokenizer
    from tests.benchmarks.prefix_cache_replay import layouts

    tok = gguf_tokenizer(str(gguf_path))
    prompts = {name: [tok.encode_messages(m) for m in runs] for name, runs in layouts(4).items()}
    stable, naive = replay(prompts["stable"]), replay(prompts["naive"])
    assert all(s.cached_tokens > 100 for s in stable.steps[1:])
    assert all(s.cached_tokens < 30 for s in naive.steps[1:])
