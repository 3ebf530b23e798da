"""Reading SGLang's Prometheus metrics: cache hit rate, cached tokens and time to first token."""

from __future__ import annotations

import math
from pathlib import Path

import httpx
import pytest

from inference.sglang import fetch_metrics, parse_prometheus_text, read_sglang_metrics

TEXT = (Path(__file__).parent / "fixtures" / "sglang_metrics.txt").read_text()
MODEL = "meta-llama/Llama-3.1-8B-Instruct"


def test_reads_cache_and_ttft_from_sglang_output() -> None:
    """The gauge, the counters (summed over cache_source) and the TTFT histogram come out right."""
    m = read_sglang_metrics(TEXT)
    assert m.model_names == (MODEL,)
    assert m.cache_hit_rate == pytest.approx(0.8125)
    assert m.cached_tokens_total == pytest.approx(1.2e6)  # device 1.1e6 + host 1e5; *_created is ignored
    assert m.prompt_tokens_total == pytest.approx(1.6e6)
    assert m.lifetime_hit_rate == pytest.approx(0.75)
    ttft = m.time_to_first_token
    assert ttft is not None and ttft.count == 100 and ttft.mean == pytest.approx(0.145)
    assert ttft.buckets[-1] == (math.inf, 100.0)
    # 50th of 100 falls 10/50 into the (0.1, 0.25] bucket.
    assert ttft.quantile(0.5) == pytest.approx(0.1 + 0.15 * 10 / 50)
    assert ttft.quantile(0.99) == pytest.approx(0.5 + 0.5 * 0.5)


def test_filters_by_model_and_handles_missing_metrics() -> None:
    """An unknown model name yields zeros and no histogram rather than another model's figures."""
    m = read_sglang_metrics(TEXT, model_name="other")
    assert m.cache_hit_rate is None and m.cached_tokens_total == 0 and m.time_to_first_token is None
    assert m.lifetime_hit_rate is None


def test_parser_handles_escapes_specials_and_rejects_garbage() -> None:
    """Escaped label values, +Inf/NaN and timestamps parse; a malformed line raises ValueError."""
    samples = parse_prometheus_text('a{l="x\\"y\\\\z",m="1"} +Inf 1700000000\nb NaN\nc{} 2.5e-3\n')
    assert samples[0].labels == {"l": 'x"y\\z', "m": "1"} and samples[0].value == math.inf
    assert math.isnan(samples[1].value) and samples[2].value == pytest.approx(0.0025)
    with pytest.raises(ValueError, match="line 1"):
        parse_prometheus_text("sglang:cache_hit_rate{model_name=} 1\n")
    with pytest.raises(ValueError, match="bad value"):
        parse_prometheus_text("x one\n")


async def test_fetch_metrics_over_http(fake_sglang) -> None:
    """fetch_metrics GETs /metrics from a server, and a server without --enable-metrics raises 404."""
    m = await fetch_metrics(fake_sglang.root, model_name=MODEL)
    assert m.cached_tokens_total == pytest.approx(1.2e6)
    # The client's base URL (the OpenAI root) works too, as it does for probe().
    assert (await fetch_metrics(f"{fake_sglang.root}/v1/", model_name=MODEL)) == m
    fake_sglang.metrics_enabled = False
    with pytest.raises(httpx.HTTPStatusError, match="404"):
        await fetch_metrics(fake_sglang.root)
