"""Which tensors of a checkpoint become block FP8, and which stay in their dtype.

The rule follows what SGLang and vLLM expect of a DeepSeek-V3 style checkpoint: linear
projections inside decoder layers are quantized; embeddings, the output head, norms,
biases and MoE routers stay as they are. A 2-D weight the rule cannot place is an error
rather than a guess, because quantizing a layer the loader treats as unquantized (or the
reverse) produces a checkpoint that loads and then generates garbage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

import torch

# Decoder-only families whose tensor names this rule is written for (HF transformers naming).
KNOWN_MODEL_TYPES = frozenset({"llama", "mistral", "mixtral", "qwen2", "qwen2_moe", "qwen3", "qwen3_moe"})
QUANTIZABLE_DTYPES = (torch.bfloat16, torch.float16, torch.float32)

_LINEAR = re.compile(
    r"\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj|experts\.\d+\.w[123]"
    r"|shared_expert\.(gate|up|down)_proj)\.weight$"
)
_KEEP = re.compile(
    r"(^|\.)(embed_tokens|lm_head|norm|[a-z_]*layernorm|[a-z_]*_norm)\.weight$"  # embeddings, head, norms
    r"|\.bias$"  # biases are added after the GEMM in the activation dtype
    r"|\.gate\.weight$|shared_expert_gate\.weight$"  # MoE routers: tiny, and precision-sensitive
    r"|rotary_emb\.inv_freq$"
)
# Names that only appear in checkpoints that are already quantized (FP8, GPTQ, AWQ, ...).
_QUANTIZED = re.compile(r"(weight_scale_inv|weight_scale|input_scale|qweight|qzeros|scales|g_idx)$")


class Action(Enum):
    QUANTIZE = "quantize"
    KEEP = "keep"


@dataclass(frozen=True)
class Decision:
    name: str
    action: Action


class UnsupportedCheckpoint(ValueError):
    """The input is not a checkpoint this converter understands; the message says why."""


def check_config(config: dict) -> None:
    """Refuse configs that are already quantized or of a family the name rule does not cover."""
    if "quantization_config" in config:
        method = config["quantization_config"].get("quant_method", "?")
        raise UnsupportedCheckpoint(f"config.json already has quantization_config (quant_method={method!r})")
    model_type = config.get("model_type")
    if model_type not in KNOWN_MODEL_TYPES:
        known = ", ".join(sorted(KNOWN_MODEL_TYPES))
        raise UnsupportedCheckpoint(f"model_type {model_type!r} is not supported; known: {known}")


def decide(name: str, dtype: torch.dtype, shape: tuple[int, ...]) -> Decision:
    """Classify one tensor, raising :class:`UnsupportedCheckpoint` if it cannot be placed."""
    if _QUANTIZED.search(name):
        raise UnsupportedCheckpoint(
            f"tensor {name!r} looks already quantized; convert from a bf16/fp16 checkpoint"
        )
    if _LINEAR.search(name):
        if len(shape) != 2:
            raise UnsupportedCheckpoint(f"linear weight {name!r} has shape {shape}, expected 2-D [out, in]")
        if dtype not in QUANTIZABLE_DTYPES:
            raise UnsupportedCheckpoint(
                f"linear weight {name!r} has dtype {dtype}; expected bf16, fp16 or fp32"
            )
        if shape[1] % 16:
            raise UnsupportedCheckpoint(
                f"linear weight {name!r} has in_features {shape[1]}, not a multiple of 16; FP8 GEMMs cannot use it"
            )
        return Decision(name, Action.QUANTIZE)
    if _KEEP.search(name) or len(shape) < 2:
        return Decision(name, Action.KEEP)
    raise UnsupportedCheckpoint(f"do not know whether {name!r} {shape} is a linear layer; refusing to guess")
