"""Checkpoint converter: bf16/fp16 safetensors -> DeepSeek-V3 style block FP8 (``python -m inference.quantize``)."""

from inference.quantize._plan import UnsupportedCheckpoint
from inference.quantize.convert import QUANTIZATION_CONFIG, ConvertResult, LayerError, convert

__all__ = ["QUANTIZATION_CONFIG", "ConvertResult", "LayerError", "UnsupportedCheckpoint", "convert"]
