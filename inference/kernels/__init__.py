"""Triton FP8 kernels for the self-hosted inference tier (DeepSeek-V3 block-FP8 layout).

Importing this package imports Triton; set ``TRITON_INTERPRET=1`` before that to run the
kernels on CPU.
"""

from inference.kernels._common import FP8_DTYPE, FP8_MAX, GROUP_SIZE, WEIGHT_BLOCK
from inference.kernels.dequant import block_dequant_fp8
from inference.kernels.gemm import w8a8_block_fp8_matmul
from inference.kernels.quant import block_quant_fp8, per_token_group_quant_fp8

__all__ = [
    "FP8_DTYPE",
    "FP8_MAX",
    "GROUP_SIZE",
    "WEIGHT_BLOCK",
    "block_dequant_fp8",
    "block_quant_fp8",
    "per_token_group_quant_fp8",
    "w8a8_block_fp8_matmul",
]
