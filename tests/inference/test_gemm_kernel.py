"""The block-scaled W8A8 FP8 GEMM against a dequantize-then-matmul reference and torch._scaled_mm."""

from __future__ import annotations

import pytest
import torch

from inference.kernels import block_quant_fp8, per_token_group_quant_fp8, w8a8_block_fp8_matmul
from inference.kernels.reference import matmul_reference, quant_reference, scaled_mm_reference


def _operands(m: int, n: int, k: int, device: torch.device):
    torch.manual_seed(m * 131 + n * 7 + k)
    a_q, a_s = quant_reference(torch.randn(m, k) * 3.0, (1, 128))
    # Rows of B with very different magnitudes make a wrong per-block scale index visible.
    b = torch.randn(n, k) * torch.logspace(-2, 1, n)[:, None]
    b_q, b_s = quant_reference(b)
    return (t.to(device) for t in (a_q, a_s, b_q, b_s))


@pytest.mark.parametrize(
    ("m", "n", "k"),
    [(1, 128, 128), (16, 256, 512), (37, 200, 336), (128, 512, 1024), (5, 64, 1008)],
)
def test_fp32_output_matches_dequant_matmul(device, m, n, k) -> None:
    """fp32 output equals the fp32 matmul of the dequantized operands, with ragged M, N and K."""
    a_q, a_s, b_q, b_s = _operands(m, n, k, device)
    c = w8a8_block_fp8_matmul(a_q, a_s, b_q, b_s, out_dtype=torch.float32)
    assert c.shape == (m, n) and c.dtype == torch.float32
    ref = matmul_reference(a_q.cpu(), a_s.cpu(), b_q.cpu(), b_s.cpu())
    # Only summation order differs from the reference, so the gap is fp32 rounding.
    torch.testing.assert_close(c.cpu(), ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())


@pytest.mark.parametrize(("m", "n", "k"), [(16, 128, 256), (37, 200, 336)])
def test_matches_scaled_mm_per_k_block(device, m, n, k) -> None:
    """The kernel agrees with a sum of row-wise torch._scaled_mm calls, one per K block."""
    a_q, a_s, b_q, b_s = _operands(m, n, k, device)
    c = w8a8_block_fp8_matmul(a_q, a_s, b_q, b_s, out_dtype=torch.float32)
    ref = scaled_mm_reference(a_q.cpu(), a_s.cpu(), b_q.cpu(), b_s.cpu())
    torch.testing.assert_close(c.cpu(), ref, rtol=1e-4, atol=1e-4 * ref.abs().max().item())


def test_bf16_output_rounds_the_fp32_result(device) -> None:
    """bf16 output is the fp32 result rounded to bf16 (within one bf16 ulp of the reference)."""
    a_q, a_s, b_q, b_s = _operands(64, 192, 384, device)
    c = w8a8_block_fp8_matmul(a_q, a_s, b_q, b_s)
    assert c.dtype == torch.bfloat16
    ref = matmul_reference(a_q.cpu(), a_s.cpu(), b_q.cpu(), b_s.cpu())
    torch.testing.assert_close(c.float().cpu(), ref.to(torch.bfloat16).float(), rtol=2**-7, atol=1e-3)


def test_end_to_end_with_quant_kernels_tracks_bf16_matmul(device) -> None:
    """Quantizing with our kernels and multiplying stays within FP8 error of the unquantized matmul."""
    torch.manual_seed(3)
    x = torch.randn(32, 512, device=device, dtype=torch.bfloat16)
    w = (torch.randn(256, 512, device=device) * 0.05).to(torch.bfloat16)
    x_q, x_s = per_token_group_quant_fp8(x)
    w_q, w_s = block_quant_fp8(w)
    y = w8a8_block_fp8_matmul(x_q, x_s, w_q, w_s, out_dtype=torch.float32)
    exact = x.float() @ w.float().t()
    rel = ((y - exact).norm() / exact.norm()).item()
    assert rel < 0.06


def test_gemm_wrapper_rejects_bad_inputs(device) -> None:
    """Mismatched K, unaligned K, wrong scale shapes and wrong dtypes raise clear errors."""
    a_q, a_s, b_q, b_s = _operands(8, 128, 256, device)
    with pytest.raises(ValueError, match="inner dimensions differ"):
        w8a8_block_fp8_matmul(a_q[:, :128].contiguous(), a_s[:, :1].contiguous(), b_q, b_s)
    with pytest.raises(ValueError, match="multiple of 16"):
        q, s = quant_reference(torch.randn(8, 200), (1, 128))
        bq, bs = quant_reference(torch.randn(128, 200))
        w8a8_block_fp8_matmul(q.to(device), s.to(device), bq.to(device), bs.to(device))
    with pytest.raises(ValueError, match="a_scale has shape"):
        w8a8_block_fp8_matmul(a_q, a_s[:, :1].contiguous(), b_q, b_s)
    with pytest.raises(ValueError, match="b_scale has shape"):
        w8a8_block_fp8_matmul(a_q, a_s, b_q, b_s[:, :1].contiguous())
    with pytest.raises(TypeError, match="float8_e4m3fn"):
        w8a8_block_fp8_matmul(a_q.float(), a_s, b_q, b_s)
    with pytest.raises(TypeError, match="out_dtype"):
        w8a8_block_fp8_matmul(a_q, a_s, b_q, b_s, out_dtype=torch.int32)
    buf = torch.empty(a_q.numel() + 16, dtype=a_q.dtype, device=device)
    shifted = buf[1 : 1 + a_q.numel()].view(a_q.shape)
    shifted.copy_(a_q)
    with pytest.raises(ValueError, match="16-byte aligned"):
        w8a8_block_fp8_matmul(shifted, a_s, b_q, b_s)
