"""Plain-torch references for the FP8 kernels.

The tests compare each kernel with these, and the benchmark uses them to check
correctness at every shape it times. They follow the same arithmetic as the kernels
(fp32 absmax, ``scale = max(absmax, eps) / 448``, divide, clamp, round-to-nearest-even
cast) so quantized values can be compared bit for bit.
"""

from __future__ import annotations

import torch

from inference.kernels._common import FP8_DTYPE, FP8_EPS, FP8_MAX, GROUP_SIZE, WEIGHT_BLOCK

__all__ = [
    "dequant_reference",
    "matmul_reference",
    "quant_reference",
    "scaled_mm_reference",
]


def _pad_to(x: torch.Tensor, block: tuple[int, int]) -> torch.Tensor:
    r, c = x.shape
    pr, pc = (-r) % block[0], (-c) % block[1]
    return torch.nn.functional.pad(x, (0, pc, 0, pr)) if pr or pc else x


def quant_reference(
    x: torch.Tensor, block: tuple[int, int] = WEIGHT_BLOCK, eps: float = FP8_EPS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Quantize ``x`` in ``block`` tiles; ``(1, 128)`` gives activation groups."""
    r, c = x.shape
    xp = _pad_to(x.float(), block)
    br, bc = block
    tiles = xp.view(xp.shape[0] // br, br, xp.shape[1] // bc, bc)
    scale = tiles.abs().amax(dim=(1, 3)).clamp(min=eps) / FP8_MAX
    q = (tiles / scale[:, None, :, None]).clamp(-FP8_MAX, FP8_MAX).to(FP8_DTYPE)
    return q.view(xp.shape)[:r, :c].contiguous(), scale.contiguous()


def dequant_reference(
    q: torch.Tensor, scale: torch.Tensor, block: tuple[int, int] = WEIGHT_BLOCK
) -> torch.Tensor:
    """Return ``q * scale`` in fp32, each scale broadcast over its ``block`` tile."""
    r, c = q.shape
    s = scale.repeat_interleave(block[0], dim=0).repeat_interleave(block[1], dim=1)
    return q.float() * s[:r, :c]


def matmul_reference(
    a: torch.Tensor, a_scale: torch.Tensor, b: torch.Tensor, b_scale: torch.Tensor
) -> torch.Tensor:
    """Dequantize both operands and multiply in fp32: the semantics of the block GEMM."""
    a32 = dequant_reference(a, a_scale, (1, GROUP_SIZE))
    b32 = dequant_reference(b, b_scale, (GROUP_SIZE, GROUP_SIZE))
    return a32 @ b32.t()


def scaled_mm_reference(
    a: torch.Tensor, a_scale: torch.Tensor, b: torch.Tensor, b_scale: torch.Tensor
) -> torch.Tensor:
    """The block GEMM as a sum of row-wise ``torch._scaled_mm`` calls, one per 128-wide K block.

    Within one K block the block scaling is exactly row-wise scaling (a scale per row of A,
    a scale per column of B), so this checks the kernel against PyTorch's own FP8 GEMM.
    """
    m, k = a.shape
    n = b.shape[0]
    out = torch.zeros((m, n), dtype=torch.float32, device=a.device)
    for kb in range(a_scale.shape[1]):
        ks = slice(kb * GROUP_SIZE, min(k, (kb + 1) * GROUP_SIZE))
        col_scale = b_scale[:, kb].repeat_interleave(GROUP_SIZE)[:n]
        out += torch._scaled_mm(
            a[:, ks].contiguous(),
            b[:, ks].contiguous().t(),
            scale_a=a_scale[:, kb : kb + 1].contiguous(),
            scale_b=col_scale[None, :].contiguous(),
            out_dtype=torch.float32,
        )
    return out
