"""Typed SGLang server config and the ``python -m sglang.launch_server`` command line it implies.

sglang cannot be installed on the CPU machines (it pins CUDA torch builds), so the project
never imports it: it builds the launch command, probes the server, reads its metrics and
talks to its OpenAI-compatible API. The defaults are the production posture for the
self-hosted tier: radix prefix cache on, FP8 weights and KV cache, per-request cache
reports and Prometheus metrics, longest-prefix-match scheduling.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["SGLangServerConfig", "checkpoint_is_block_fp8", "launch_command"]

SchedulePolicy = Literal["lpm", "dfs-weight", "fcfs", "lof", "random", "priority"]
# Policies that order the queue by radix-tree matches; without the tree they mean nothing.
_PREFIX_POLICIES = ("lpm", "dfs-weight")


def checkpoint_is_block_fp8(model_path: str | Path) -> bool:
    """True when ``model_path`` is a local DeepSeek-V3 style block-FP8 checkpoint (e.g. our
    converter's output), which SGLang loads natively without ``--quantization``."""
    config = Path(model_path) / "config.json"
    if not config.is_file():
        return False
    qc = json.loads(config.read_text()).get("quantization_config") or {}
    return qc.get("quant_method") == "fp8" and qc.get("weight_block_size") is not None


class SGLangServerConfig(BaseModel):
    """Everything the self-hosted tier sets on ``sglang.launch_server``; validated on construction."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model_path: str = Field(min_length=1, description="HF repo id or local checkpoint directory")
    served_model_name: str | None = None
    host: str = "127.0.0.1"
    port: int = Field(30000, ge=1, le=65535)
    tp_size: int = Field(1, ge=1, description="tensor-parallel GPUs")
    # "fp8" quantizes a bf16 checkpoint's weights at load; None for bf16 or a block-FP8 checkpoint.
    quantization: Literal["fp8"] | None = "fp8"
    kv_cache_dtype: Literal["auto", "fp8_e4m3", "fp8_e5m2"] = "fp8_e4m3"
    radix_cache: bool = True
    enable_cache_report: bool = True
    enable_metrics: bool = True
    tool_call_parser: str | None = Field(None, pattern=r"^[A-Za-z0-9_.\-]+$")
    grammar_backend: Literal["xgrammar", "outlines", "llguidance", "none"] = "xgrammar"
    schedule_policy: SchedulePolicy = "lpm"
    mem_fraction_static: float | None = Field(None, gt=0.0, lt=1.0)
    context_length: int | None = Field(None, ge=1)
    api_key: str | None = None
    trust_remote_code: bool = False
    extra_args: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> SGLangServerConfig:
        if not self.radix_cache and self.schedule_policy in _PREFIX_POLICIES:
            raise ValueError(
                f"schedule_policy {self.schedule_policy!r} ranks requests by radix-cache matches; "
                "with radix_cache=False (the no-cache baseline) use 'fcfs'"
            )
        if self.quantization == "fp8" and checkpoint_is_block_fp8(self.model_path):
            raise ValueError(
                f"{self.model_path} is already a block-FP8 checkpoint (it loads natively); set quantization=None"
            )
        for arg in self.extra_args:
            if re.fullmatch(r"--(model-path|port|host|tp-size|quantization|kv-cache-dtype)(=.*)?", arg):
                raise ValueError(f"extra_args must not repeat a typed option: {arg}")
        return self

    @classmethod
    def for_checkpoint(cls, model_path: str | Path, **kwargs: object) -> SGLangServerConfig:
        """Config for a checkpoint, choosing ``--quantization fp8`` only when it is not already FP8."""
        quantization = None if checkpoint_is_block_fp8(model_path) else "fp8"
        return cls.model_validate({"model_path": str(model_path), "quantization": quantization, **kwargs})

    @property
    def base_url(self) -> str:
        """Root URL of the server (``/health``, ``/metrics``); the OpenAI API is under ``/v1``."""
        return f"http://{self.host}:{self.port}"


def launch_command(config: SGLangServerConfig, python: str = "python") -> list[str]:
    """Return the argv that starts SGLang with ``config`` (for subprocess, a container or a unit file)."""
    cmd = [python, "-m", "sglang.launch_server", "--model-path", config.model_path]
    if config.served_model_name:
        cmd += ["--served-model-name", config.served_model_name]
    cmd += ["--host", config.host, "--port", str(config.port), "--tp-size", str(config.tp_size)]
    if config.quantization:
        cmd += ["--quantization", config.quantization]
    cmd += ["--kv-cache-dtype", config.kv_cache_dtype]
    if not config.radix_cache:
        cmd.append("--disable-radix-cache")
    if config.enable_cache_report:
        cmd.append("--enable-cache-report")
    if config.enable_metrics:
        cmd.append("--enable-metrics")
    if config.tool_call_parser:
        cmd += ["--tool-call-parser", config.tool_call_parser]
    cmd += ["--grammar-backend", config.grammar_backend, "--schedule-policy", config.schedule_policy]
    if config.mem_fraction_static is not None:
        cmd += ["--mem-fraction-static", str(config.mem_fraction_static)]
    if config.context_length is not None:
        cmd += ["--context-length", str(config.context_length)]
    if config.api_key:
        cmd += ["--api-key", config.api_key]
    if config.trust_remote_code:
        cmd.append("--trust-remote-code")
    return cmd + list(config.extra_args)
