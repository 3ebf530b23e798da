"""Dequantization of block-scaled FP8 tensors (weights or activations) back to bf16/fp16/fp32.

Used to check a quantized checkpoint (the converter's error report) and as the fallback a
reader without FP8 tensor cores can take; the GEMM never materializes dequantized weights.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from inference.kernels._common import (
    FP8_DTYPE,
    OUTPUT_DTYPES,
    WEIGHT_BLOCK,
    check_same_device,
    check_tensor,
    scale_shape,
)

__all__ = ["block_dequant_fp8"]


@triton.jit
def _block_dequant_kernel(
    Q,
    S,
    Y,
    R,
    C,
    stride_qr,
    stride_sr,
    stride_yr,
    SCALE_R: tl.constexpr,
    SCALE_C: tl.constexpr,
    TILE_R: tl.constexpr,
    TILE_C: tl.constexpr,
):
    # The scale is gathered per element so one kernel serves 1x128 groups and 128x128 blocks;
    # the gather hits a handful of cache lines per tile, far below the tile's own traffic.
    pid_r = tl.program_id(0)
    pid_c = tl.program_id(1)
    rows = pid_r * TILE_R + tl.arange(0, TILE_R)
    cols = pid_c * TILE_C + tl.arange(0, TILE_C)
    mask = (rows[:, None] < R) & (cols[None, :] < C)
    q = tl.load(Q + rows[:, None] * stride_qr + cols[None, :], mask=mask, other=0.0).to(tl.float32)
    s = tl.load(S + (rows // SCALE_R)[:, None] * stride_sr + (cols // SCALE_C)[None, :], mask=mask, other=0.0)
    tl.store(Y + rows[:, None] * stride_yr + cols[None, :], (q * s).to(Y.dtype.element_ty), mask=mask)


def block_dequant_fp8(
    q: torch.Tensor,
    scale: torch.Tensor,
    block_size: tuple[int, int] = WEIGHT_BLOCK,
    out_dtype: torch.dtype = torch.bfloat16,
) -> torch.Tensor:
    """Return ``q * scale`` broadcast over ``block_size`` tiles, as ``out_dtype``.

    ``block_size`` is ``(128, 128)`` for weights and ``(1, 128)`` for activations quantized
    by :func:`per_token_group_quant_fp8`. ``scale`` must have shape ``ceil(q.shape / block)``.
    """
    check_tensor("q", q, (FP8_DTYPE,), ndim=2)
    check_tensor("scale", scale, (torch.float32,), ndim=2)
    check_same_device(q=q, scale=scale)
    if out_dtype not in OUTPUT_DTYPES:
        raise TypeError(f"out_dtype must be one of {OUTPUT_DTYPES}, got {out_dtype}")
    if (
        not isinstance(block_size, tuple)
        or len(block_size) != 2
        or any(not isinstance(b, int) or b < 1 for b in block_size)
    ):
        raise ValueError(f"block_size must be a pair of positive ints, got {block_size!r}")
    r, c = q.shape
    expected = scale_shape(r, c, block_size)
    if tuple(scale.shape) != expected:
        raise ValueError(
            f"scale has shape {tuple(scale.shape)} but q {tuple(q.shape)} in {block_size} blocks needs {expected}"
        )
    y = torch.empty((r, c), dtype=out_dtype, device=q.device)
    tile_r, tile_c = 32, 128
    grid = (triton.cdiv(r, tile_r), triton.cdiv(c, tile_c))
    _block_dequant_kernel[grid](
        q,
        scale,
        y,
        r,
        c,
        q.stride(0),
        scale.stride(0),
        y.stride(0),
        SCALE_R=block_size[0],
        SCALE_C=block_size[1],
        TILE_R=tile_r,
        TILE_C=tile_c,
        num_warps=4,
    )
    return y
