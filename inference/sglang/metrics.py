"""Reader for SGLang's Prometheus metrics (``GET /metrics`` with ``--enable-metrics``).

The text exposition format is parsed by hand (it is line-based and small) to keep
prometheus-client out of the dependencies. SGLang labels samples with ``model_name`` and,
depending on version and topology, ``tp_rank``, ``engine_type`` or ``cache_source``
(device/host/storage for the hierarchical cache); counters are summed over those labels.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import httpx

__all__ = [
    "Histogram",
    "SGLangMetrics",
    "Sample",
    "fetch_metrics",
    "parse_prometheus_text",
    "read_sglang_metrics",
]

_SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>.*)\})?\s+(?P<value>\S+)(?:\s+\d+)?$"
)
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')
_UNESCAPE = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}


@dataclass(frozen=True)
class Sample:
    name: str
    labels: dict[str, str]
    value: float


_SPECIAL = {"+Inf": math.inf, "-Inf": -math.inf, "NaN": math.nan}


def _value(text: str) -> float:
    return _SPECIAL[text] if text in _SPECIAL else float(text)


def parse_prometheus_text(text: str) -> list[Sample]:
    """Parse Prometheus text format 0.0.4 into samples; malformed lines raise ``ValueError``."""
    samples = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"line {lineno}: not a Prometheus sample: {raw!r}")
        labels: dict[str, str] = {}
        body = m["labels"] or ""
        pos = 0
        while pos < len(body):
            lm = _LABEL.match(body, pos)
            if not lm:
                raise ValueError(f"line {lineno}: bad labels {body!r}")
            labels[lm[1]] = re.sub(r'\\[\\"n]', lambda e: _UNESCAPE[e[0]], lm[2])
            pos = lm.end()
        try:
            value = _value(m["value"])
        except ValueError:
            raise ValueError(f"line {lineno}: bad value {m['value']!r}") from None
        samples.append(Sample(m["name"], labels, value))
    return samples


@dataclass(frozen=True)
class Histogram:
    """A cumulative Prometheus histogram summed over label sets: ``buckets`` is ``[(le, count)]``."""

    buckets: tuple[tuple[float, float], ...]
    count: float
    sum: float

    @property
    def mean(self) -> float | None:
        return self.sum / self.count if self.count else None

    def quantile(self, q: float) -> float | None:
        """Estimate a quantile by linear interpolation inside the bucket, like PromQL's histogram_quantile."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"quantile must be in [0, 1], got {q}")
        if not self.count or not self.buckets:
            return None
        rank = q * self.count
        lower_le, lower_count = 0.0, 0.0
        for le, cum in self.buckets:
            if cum >= rank:
                if math.isinf(le):
                    return lower_le  # the +Inf bucket has no upper bound; report the last finite one
                span = cum - lower_count
                return lower_le + (le - lower_le) * ((rank - lower_count) / span if span else 0.0)
            lower_le, lower_count = le, cum
        return lower_le


@dataclass(frozen=True)
class SGLangMetrics:
    """The prefix-cache and latency figures the self-hosted tier watches."""

    cache_hit_rate: float | None  # SGLang's own gauge (recent batches), None when not exported
    cached_tokens_total: float
    prompt_tokens_total: float
    time_to_first_token: Histogram | None
    model_names: tuple[str, ...] = field(default=())

    @property
    def lifetime_hit_rate(self) -> float | None:
        """cached / prompt tokens since server start: the counter-based hit rate, robust to gauge sampling."""
        return self.cached_tokens_total / self.prompt_tokens_total if self.prompt_tokens_total else None


def _histogram(samples: list[Sample], name: str) -> Histogram | None:
    buckets: dict[float, float] = {}
    count = total = 0.0
    seen = False
    for s in samples:
        if s.name == f"{name}_bucket":
            le = _value(s.labels["le"])
            buckets[le] = buckets.get(le, 0.0) + s.value
            seen = True
        elif s.name == f"{name}_count":
            count += s.value
        elif s.name == f"{name}_sum":
            total += s.value
    if not seen:
        return None
    return Histogram(tuple(sorted(buckets.items())), count, total)


def read_sglang_metrics(text: str, model_name: str | None = None) -> SGLangMetrics:
    """Extract cache hit rate, cached/prompt token counters and the TTFT histogram.

    With several models (or ranks) on one endpoint, counters are summed and the gauge is
    averaged; pass ``model_name`` to restrict to one served model.
    """
    samples = [s for s in parse_prometheus_text(text) if s.name.startswith("sglang:")]
    names = tuple(sorted({s.labels["model_name"] for s in samples if "model_name" in s.labels}))
    if model_name is not None:
        samples = [s for s in samples if s.labels.get("model_name") == model_name]
    hit = [s.value for s in samples if s.name == "sglang:cache_hit_rate"]
    return SGLangMetrics(
        cache_hit_rate=sum(hit) / len(hit) if hit else None,
        cached_tokens_total=sum(s.value for s in samples if s.name == "sglang:cached_tokens_total"),
        prompt_tokens_total=sum(s.value for s in samples if s.name == "sglang:prompt_tokens_total"),
        time_to_first_token=_histogram(samples, "sglang:time_to_first_token_seconds"),
        model_names=names,
    )


async def fetch_metrics(
    base_url: str,
    model_name: str | None = None,
    client: httpx.AsyncClient | None = None,
    timeout: float = 5.0,
) -> SGLangMetrics:
    """GET ``{base_url}/metrics`` and read it; raises ``httpx.HTTPStatusError`` if metrics are off (404).

    ``base_url`` is the server's root or its OpenAI root (``.../v1``), as for :func:`probe`.
    """
    root = base_url.rstrip("/").removesuffix("/v1")
    async with httpx.AsyncClient(timeout=timeout) if client is None else _borrowed(client) as http:
        resp = await http.get(f"{root}/metrics")
        resp.raise_for_status()
        return read_sglang_metrics(resp.text, model_name)


class _borrowed:
    """Async context manager that yields a caller-owned client without closing it."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def __aenter__(self) -> httpx.AsyncClient:
        return self._client

    async def __aexit__(self, *exc: object) -> None:
        return None
