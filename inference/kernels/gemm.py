"""Block-scaled W8A8 FP8 GEMM: ``C = (A_q * A_s) @ (B_q * B_s)^T``.

A is activations quantized per token in 1x128 groups (``A_s [M, ceil(K/128)]``); B is a
weight ``[N, K]`` quantized in 128x128 blocks (``B_s [ceil(N/128), ceil(K/128)]``), the
DeepSeek-V3 layout. Each 128-wide K step is one FP8 tensor-core dot accumulated in fp32,
then scaled by that K block's row and column scales before it joins the running sum, so
quantization error never compounds across K blocks. Written for Hopper (FP8 wgmma); runs on
any GPU with FP8 tensor cores (compute capability 8.9+) and in Triton's CPU interpreter.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

from inference.kernels._common import (
    FP8_DTYPE,
    GROUP_SIZE,
    OUTPUT_DTYPES,
    check_aligned,
    check_same_device,
    check_tensor,
    interpreting,
    scale_shape,
)

__all__ = ["w8a8_block_fp8_matmul"]


def _config(bm: int, bn: int, warps: int, stages: int, group_m: int = 8) -> triton.Config:
    return triton.Config(
        {"BLOCK_M": bm, "BLOCK_N": bn, "BLOCK_K": GROUP_SIZE, "GROUP_M": group_m},
        num_warps=warps,
        num_stages=stages,
    )


def _configs() -> list[triton.Config]:
    # The interpreter cannot benchmark (multi-config autotune fails there) and ignores
    # warps/stages, so it gets one config; on a GPU the tuner picks per (M bucket, N, K).
    if interpreting():
        return [_config(32, 64, 4, 1)]
    return [
        # Decode-sized M: narrow M tiles, deep pipelines to hide the weight stream.
        _config(16, 64, 4, 5),
        _config(16, 128, 4, 4),
        _config(32, 128, 4, 4),
        # Prefill-sized M: wgmma-shaped tiles (BLOCK_M >= 64) with 128x128 FP8 K steps.
        _config(64, 128, 4, 4),
        _config(64, 256, 8, 3),
        _config(128, 128, 4, 4),
        _config(128, 128, 8, 3),
        _config(128, 256, 8, 3),
    ]


def _prune(configs: list[triton.Config], named_args: dict, **_: object) -> list[triton.Config]:
    # Tiles much taller than M only burn tensor-core work on masked rows; drop them
    # (keeping at least one config) so tuning a decode shape stays quick.
    m = named_args["M"]
    kept = [c for c in configs if c.kwargs["BLOCK_M"] <= max(16, triton.next_power_of_2(m))]
    return kept or configs[:1]


@triton.autotune(
    configs=_configs(), key=["M_BUCKET", "N", "K"], prune_configs_by={"early_config_prune": _prune}
)
@triton.jit
def _w8a8_block_fp8_matmul_kernel(
    A,
    B,
    C,
    As,
    Bs,
    M,
    N,
    K,
    M_BUCKET,
    stride_am,
    stride_bn,
    stride_cm,
    stride_asm,
    stride_bsn,
    SCALE_N: tl.constexpr,
    EVEN_K: tl.constexpr,
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_K: tl.constexpr,
    GROUP_M: tl.constexpr,
):
    # Grouped launch order (Triton tutorial 03): GROUP_M row-tiles share each B column
    # tile while it is still in L2, which matters because B (the weight) dominates traffic.
    pid = tl.program_id(0)
    num_pid_m = tl.cdiv(M, BLOCK_M)
    num_pid_n = tl.cdiv(N, BLOCK_N)
    num_pid_in_group = GROUP_M * num_pid_n
    group_id = pid // num_pid_in_group
    first_pid_m = group_id * GROUP_M
    group_size_m = min(num_pid_m - first_pid_m, GROUP_M)
    pid_m = first_pid_m + ((pid % num_pid_in_group) % group_size_m)
    pid_n = (pid % num_pid_in_group) // group_size_m

    # Out-of-range rows/cols wrap instead of being masked: the loads stay unconditional
    # (vectorizable) and the store mask below discards the duplicates.
    offs_m = (pid_m * BLOCK_M + tl.arange(0, BLOCK_M)) % M
    offs_n = (pid_n * BLOCK_N + tl.arange(0, BLOCK_N)) % N
    offs_k = tl.arange(0, BLOCK_K)
    a_ptrs = A + offs_m[:, None] * stride_am + offs_k[None, :]
    b_ptrs = B + offs_n[None, :] * stride_bn + offs_k[:, None]
    as_ptrs = As + offs_m * stride_asm
    bs_ptrs = Bs + (offs_n // SCALE_N) * stride_bsn

    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for kb in range(tl.cdiv(K, BLOCK_K)):
        if EVEN_K:
            a = tl.load(a_ptrs)
            b = tl.load(b_ptrs)
        else:
            k_left = K - kb * BLOCK_K
            a = tl.load(a_ptrs, mask=offs_k[None, :] < k_left, other=0.0)
            b = tl.load(b_ptrs, mask=offs_k[:, None] < k_left, other=0.0)
        a_s = tl.load(as_ptrs + kb)
        b_s = tl.load(bs_ptrs + kb)
        acc += tl.dot(a, b, out_dtype=tl.float32) * a_s[:, None] * b_s[None, :]
        a_ptrs += BLOCK_K
        b_ptrs += BLOCK_K

    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)
    c_ptrs = C + rows[:, None] * stride_cm + cols[None, :]
    tl.store(c_ptrs, acc.to(C.dtype.element_ty), mask=(rows[:, None] < M) & (cols[None, :] < N))


def w8a8_block_fp8_matmul(
    a: torch.Tensor,
    a_scale: torch.Tensor,
    b: torch.Tensor,
    b_scale: torch.Tensor,
    out_dtype: torch.dtype = torch.bfloat16,
) -> torch.Tensor:
    """Compute ``C [M, N] = dequant(a) @ dequant(b).T`` with fp32 accumulation.

    ``a [M, K]`` float8_e4m3fn with ``a_scale [M, ceil(K/128)]`` fp32 (1x128 groups);
    ``b [N, K]`` float8_e4m3fn with ``b_scale [ceil(N/128), ceil(K/128)]`` fp32 (128x128
    blocks). M and N may be anything; K must be a multiple of 16 (16-byte FP8 rows, the same
    rule as ``torch._scaled_mm``) but need not be a multiple of 128.
    """
    check_tensor("a", a, (FP8_DTYPE,), ndim=2)
    check_tensor("b", b, (FP8_DTYPE,), ndim=2)
    check_tensor("a_scale", a_scale, (torch.float32,), ndim=2)
    check_tensor("b_scale", b_scale, (torch.float32,), ndim=2)
    check_same_device(a=a, a_scale=a_scale, b=b, b_scale=b_scale)
    if out_dtype not in OUTPUT_DTYPES:
        raise TypeError(f"out_dtype must be one of {OUTPUT_DTYPES}, got {out_dtype}")
    m, k = a.shape
    n, kb = b.shape
    if k != kb:
        raise ValueError(
            f"inner dimensions differ: a is {tuple(a.shape)}, b is {tuple(b.shape)} (b is [N, K])"
        )
    if k % 16:
        raise ValueError(
            f"K ({k}) must be a multiple of 16: FP8 rows must be 16-byte aligned for tensor-core loads"
        )
    check_aligned("a", a, 16)
    check_aligned("b", b, 16)
    if tuple(a_scale.shape) != scale_shape(m, k, (1, GROUP_SIZE)):
        raise ValueError(
            f"a_scale has shape {tuple(a_scale.shape)}; 1x{GROUP_SIZE} groups of a {tuple(a.shape)} "
            f"need {scale_shape(m, k, (1, GROUP_SIZE))}"
        )
    if tuple(b_scale.shape) != scale_shape(n, k, (GROUP_SIZE, GROUP_SIZE)):
        raise ValueError(
            f"b_scale has shape {tuple(b_scale.shape)}; {GROUP_SIZE}x{GROUP_SIZE} blocks of b "
            f"{tuple(b.shape)} need {scale_shape(n, k, (GROUP_SIZE, GROUP_SIZE))}"
        )
    if a_scale.stride(-1) != 1 or b_scale.stride(-1) != 1:
        raise ValueError("a_scale and b_scale must be contiguous in their last dimension")

    c = torch.empty((m, n), dtype=out_dtype, device=a.device)

    def grid(meta: dict) -> tuple[int]:
        return (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]),)

    _w8a8_block_fp8_matmul_kernel[grid](
        a,
        b,
        c,
        a_scale,
        b_scale,
        m,
        n,
        k,
        min(triton.next_power_of_2(m), 4096),
        a.stride(0),
        b.stride(0),
        c.stride(0),
        a_scale.stride(0),
        b_scale.stride(0),
        SCALE_N=GROUP_SIZE,
        EVEN_K=k % GROUP_SIZE == 0,
    )
    return c
