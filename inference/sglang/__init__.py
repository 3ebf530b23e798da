"""SGLang integration: launch command, readiness probe and metrics reader.

sglang itself is never imported (it cannot be installed on CPU machines); everything here
speaks to a running server over HTTP. Chat calls go through the model gateway's
OpenAI-compatible provider (activities/providers/openai_compat.py), which sends SGLang's
``cache_salt`` and ``regex`` and reads its cached-token counts.
"""

from inference.sglang.launch import SGLangServerConfig, checkpoint_is_block_fp8, launch_command
from inference.sglang.metrics import (
    Histogram,
    SGLangMetrics,
    fetch_metrics,
    parse_prometheus_text,
    read_sglang_metrics,
)
from inference.sglang.probe import Readiness, probe, wait_until_ready

__all__ = [
    "Histogram",
    "Readiness",
    "SGLangMetrics",
    "SGLangServerConfig",
    "checkpoint_is_block_fp8",
    "fetch_metrics",
    "launch_command",
    "parse_prometheus_text",
    "probe",
    "read_sglang_metrics",
    "wait_until_ready",
]
