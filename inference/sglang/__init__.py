"""SGLang integration: launch command, readiness probe, metrics reader and chat client.

sglang itself is never imported (it cannot be installed on CPU machines); everything here
speaks to a running server over HTTP.
"""

from inference.sglang.client import ChatResult, SGLangClient, cached_tokens
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
    "ChatResult",
    "Histogram",
    "Readiness",
    "SGLangClient",
    "SGLangMetrics",
    "SGLangServerConfig",
    "cached_tokens",
    "checkpoint_is_block_fp8",
    "fetch_metrics",
    "launch_command",
    "parse_prometheus_text",
    "probe",
    "read_sglang_metrics",
    "wait_until_ready",
]
