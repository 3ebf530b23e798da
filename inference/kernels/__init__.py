"""Triton FP8 kernels for the self-hosted inference tier (DeepSeek-V3 block-FP8 layout).

The kernels import Triton, which picks the CPU interpreter or a GPU when a kernel is
decorated, so ``TRITON_INTERPRET=1`` must be set before that. The names below are loaded
lazily: importing this package does not import Triton, so a script may import it and set the
variable afterwards.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the lazy names' real types, for type checkers only: nothing is imported at run time
    from inference.kernels._common import FP8_DTYPE as FP8_DTYPE
    from inference.kernels._common import FP8_MAX as FP8_MAX
    from inference.kernels._common import GROUP_SIZE as GROUP_SIZE
    from inference.kernels._common import WEIGHT_BLOCK as WEIGHT_BLOCK
    from inference.kernels.dequant import block_dequant_fp8 as block_dequant_fp8
    from inference.kernels.gemm import w8a8_block_fp8_matmul as w8a8_block_fp8_matmul
    from inference.kernels.quant import block_quant_fp8 as block_quant_fp8
    from inference.kernels.quant import per_token_group_quant_fp8 as per_token_group_quant_fp8

_EXPORTS = {
    "FP8_DTYPE": "_common",
    "FP8_MAX": "_common",
    "GROUP_SIZE": "_common",
    "WEIGHT_BLOCK": "_common",
    "block_dequant_fp8": "dequant",
    "w8a8_block_fp8_matmul": "gemm",
    "block_quant_fp8": "quant",
    "per_token_group_quant_fp8": "quant",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
