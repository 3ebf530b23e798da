"""FP8 quantization kernels: 1x128 activation groups and 128x128 weight blocks.

Both produce float8_e4m3fn values and fp32 *dequantization* scales (``x ~= q * s``), the
convention DeepSeek-V3 checkpoints call ``weight_scale_inv`` and that SGLang's and vLLM's
block-FP8 GEMMs consume. A group's scale is ``max(absmax, eps) / 448`` and values are
clamped to +-448 before the cast, so nothing saturates to NaN (e4m3fn has no infinity).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from inference.kernels._common import (
    FP8_DTYPE,
    FP8_EPS,
    FP8_MAX,
    GROUP_SIZE,
    HIGH_PRECISION_DTYPES,
    WEIGHT_BLOCK,
    check_tensor,
    scale_shape,
)

__all__ = ["block_quant_fp8", "per_token_group_quant_fp8"]


@triton.jit
def _per_token_group_quant_kernel(
    X,
    Q,
    S,
    M,
    K,
    stride_xm,
    stride_qm,
    stride_sm,
    EPS,
    FP8_MAX: tl.constexpr,
    GROUP: tl.constexpr,
    BLOCK_M: tl.constexpr,
):
    # One program owns BLOCK_M rows of one K group, so the absmax reduction stays in
    # registers and each element is read and written exactly once.
    pid_m = tl.program_id(0)
    pid_g = tl.program_id(1)
    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_g * GROUP + tl.arange(0, GROUP)
    mask = (rows[:, None] < M) & (cols[None, :] < K)
    x = tl.load(X + rows[:, None] * stride_xm + cols[None, :], mask=mask, other=0.0).to(tl.float32)
    amax = tl.max(tl.abs(x), axis=1)
    scale = tl.maximum(amax, EPS) / FP8_MAX
    q = tl.clamp(x / scale[:, None], -FP8_MAX, FP8_MAX)
    tl.store(Q + rows[:, None] * stride_qm + cols[None, :], q.to(Q.dtype.element_ty), mask=mask)
    tl.store(S + rows * stride_sm + pid_g, scale, mask=rows < M)


@triton.jit
def _block_quant_kernel(
    W,
    Q,
    S,
    N,
    K,
    stride_wn,
    stride_qn,
    stride_sn,
    EPS,
    FP8_MAX: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
):
    # One program per 128x128 block: the whole tile is the reduction domain of its scale.
    pid_n = tl.program_id(0)
    pid_k = tl.program_id(1)
    rows = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    cols = pid_k * BLOCK_K + tl.arange(0, BLOCK_K)
    mask = (rows[:, None] < N) & (cols[None, :] < K)
    w = tl.load(W + rows[:, None] * stride_wn + cols[None, :], mask=mask, other=0.0).to(tl.float32)
    amax = tl.max(tl.max(tl.abs(w), axis=1), axis=0)
    scale = tl.maximum(amax, EPS) / FP8_MAX
    q = tl.clamp(w / scale, -FP8_MAX, FP8_MAX)
    tl.store(Q + rows[:, None] * stride_qn + cols[None, :], q.to(Q.dtype.element_ty), mask=mask)
    tl.store(S + pid_n * stride_sn + pid_k, scale)


def per_token_group_quant_fp8(
    x: torch.Tensor, group_size: int = GROUP_SIZE, eps: float = FP8_EPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantize activations ``x [M, K]`` per row in ``1 x group_size`` groups.

    Returns ``(q [M, K] float8_e4m3fn, s [M, ceil(K / group_size)] float32)``. K need not be
    a multiple of the group size: the last group is partial and its scale covers only the
    real columns.
    """
    check_tensor("x", x, HIGH_PRECISION_DTYPES, ndim=2)
    if not isinstance(group_size, int) or group_size < 16 or group_size & (group_size - 1):
        raise ValueError(f"group_size must be a power of two >= 16, got {group_size!r}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    m, k = x.shape
    q = torch.empty((m, k), dtype=FP8_DTYPE, device=x.device)
    s = torch.empty(scale_shape(m, k, (1, group_size)), dtype=torch.float32, device=x.device)
    # 4096 elements per program keeps enough loads in flight to saturate HBM on Hopper.
    block_m = max(1, min(triton.next_power_of_2(m), 4096 // group_size))
    grid = (triton.cdiv(m, block_m), triton.cdiv(k, group_size))
    _per_token_group_quant_kernel[grid](
        x,
        q,
        s,
        m,
        k,
        x.stride(0),
        q.stride(0),
        s.stride(0),
        eps,
        FP8_MAX=FP8_MAX,
        GROUP=group_size,
        BLOCK_M=block_m,
        num_warps=4,
    )
    return q, s


def block_quant_fp8(
    w: torch.Tensor, block_size: tuple[int, int] = WEIGHT_BLOCK, eps: float = FP8_EPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantize a weight ``w [N, K]`` in ``block_size`` tiles (128x128 by default).

    Returns ``(q [N, K] float8_e4m3fn, scale_inv [ceil(N/bn), ceil(K/bk)] float32)`` with
    ``w ~= q * scale_inv`` blockwise, i.e. DeepSeek-V3's ``weight`` / ``weight_scale_inv``.
    """
    check_tensor("w", w, HIGH_PRECISION_DTYPES, ndim=2)
    if (
        not isinstance(block_size, tuple)
        or len(block_size) != 2
        or any(not isinstance(b, int) or b < 16 or b & (b - 1) for b in block_size)
    ):
        raise ValueError(f"block_size must be a pair of powers of two >= 16, got {block_size!r}")
    if not eps > 0:
        raise ValueError(f"eps must be positive, got {eps!r}")
    n, k = w.shape
    q = torch.empty((n, k), dtype=FP8_DTYPE, device=w.device)
    s = torch.empty(scale_shape(n, k, block_size), dtype=torch.float32, device=w.device)
    _block_quant_kernel[s.shape](
        w,
        q,
        s,
        n,
        k,
        w.stride(0),
        q.stride(0),
        s.stride(0),
        eps,
        FP8_MAX=FP8_MAX,
        BLOCK_N=block_size[0],
        BLOCK_K=block_size[1],
        num_warps=8,
    )
    return q, s
