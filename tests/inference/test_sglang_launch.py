"""The typed SGLang config and the launch command line it builds."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from inference.sglang import SGLangServerConfig, checkpoint_is_block_fp8, launch_command


def _opt(cmd: list[str], flag: str) -> str:
    return cmd[cmd.index(flag) + 1]


def test_production_defaults() -> None:
    """Defaults give radix cache, FP8 weights and KV cache, cache reports, metrics and LPM scheduling."""
    cfg = SGLangServerConfig(
        model_path="meta-llama/Llama-3.1-8B-Instruct", tp_size=2, tool_call_parser="llama3"
    )
    cmd = launch_command(cfg)
    assert cmd[:3] == ["python", "-m", "sglang.launch_server"]
    assert _opt(cmd, "--model-path") == "meta-llama/Llama-3.1-8B-Instruct"
    assert _opt(cmd, "--tp-size") == "2"
    assert _opt(cmd, "--quantization") == "fp8"
    assert _opt(cmd, "--kv-cache-dtype") == "fp8_e4m3"
    assert "--disable-radix-cache" not in cmd
    assert "--enable-cache-report" in cmd and "--enable-metrics" in cmd
    assert _opt(cmd, "--tool-call-parser") == "llama3"
    assert _opt(cmd, "--grammar-backend") == "xgrammar"
    assert _opt(cmd, "--schedule-policy") == "lpm"
    assert cfg.base_url == "http://127.0.0.1:30000"


def test_no_cache_baseline_and_optional_flags() -> None:
    """The baseline disables the radix cache with FCFS; optional flags appear only when set."""
    cfg = SGLangServerConfig(
        model_path="/models/x",
        radix_cache=False,
        schedule_policy="fcfs",
        quantization=None,
        kv_cache_dtype="fp8_e5m2",
        grammar_backend="llguidance",
        served_model_name="x",
        port=31000,
        mem_fraction_static=0.85,
        context_length=32768,
        api_key="k",
        extra_args=("--chunked-prefill-size", "8192"),
    )
    cmd = launch_command(cfg, python="/opt/venv/bin/python")
    assert cmd[0] == "/opt/venv/bin/python"
    assert "--disable-radix-cache" in cmd and _opt(cmd, "--schedule-policy") == "fcfs"
    assert "--quantization" not in cmd and "--tool-call-parser" not in cmd
    assert _opt(cmd, "--kv-cache-dtype") == "fp8_e5m2" and _opt(cmd, "--grammar-backend") == "llguidance"
    assert _opt(cmd, "--port") == "31000" and _opt(cmd, "--served-model-name") == "x"
    assert _opt(cmd, "--mem-fraction-static") == "0.85" and _opt(cmd, "--context-length") == "32768"
    assert _opt(cmd, "--api-key") == "k" and cmd[-2:] == ["--chunked-prefill-size", "8192"]


def test_block_fp8_checkpoint_loads_without_quantization_flag(tmp_path) -> None:
    """A converter-style block-FP8 checkpoint is detected and launched without --quantization."""
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "model_type": "llama",
                "quantization_config": {
                    "quant_method": "fp8",
                    "fmt": "e4m3",
                    "activation_scheme": "dynamic",
                    "weight_block_size": [128, 128],
                },
            }
        )
    )
    assert checkpoint_is_block_fp8(tmp_path)
    cfg = SGLangServerConfig.for_checkpoint(tmp_path)
    assert cfg.quantization is None and "--quantization" not in launch_command(cfg)
    with pytest.raises(ValidationError, match="already a block-FP8 checkpoint"):
        SGLangServerConfig(model_path=str(tmp_path), quantization="fp8")
    assert SGLangServerConfig.for_checkpoint("meta-llama/Llama-3.1-8B-Instruct").quantization == "fp8"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"radix_cache": False}, "use 'fcfs'"),
        ({"tp_size": 0}, "greater than or equal to 1"),
        ({"kv_cache_dtype": "int8"}, "fp8_e4m3"),
        ({"schedule_policy": "sjf"}, "lpm"),
        ({"tool_call_parser": "llama3; rm -rf /"}, "pattern"),
        ({"extra_args": ("--port", "1")}, "must not repeat"),
        ({"unknown": 1}, "Extra inputs"),
    ],
)
def test_invalid_configs_are_rejected(kwargs, message) -> None:
    """Inconsistent or unknown settings fail at construction with a message naming the problem."""
    with pytest.raises(ValidationError, match=message):
        SGLangServerConfig(model_path="m", **kwargs)
