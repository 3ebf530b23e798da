"""FP8 quantization and dequantization kernels against plain-torch references."""

from __future__ import annotations

import pytest
import torch

from inference.kernels import FP8_DTYPE, block_dequant_fp8, block_quant_fp8, per_token_group_quant_fp8
from inference.kernels.reference import dequant_reference, quant_reference


def _bits(q: torch.Tensor) -> torch.Tensor:
    return q.view(torch.uint8)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
@pytest.mark.parametrize(("m", "k"), [(1, 128), (37, 320), (128, 1024)])
def test_activation_groups_match_reference(device, dtype, m, k) -> None:
    """1x128 group quantization gives the reference's fp8 bits and scales, ragged K included."""
    torch.manual_seed(m * k)
    x = (torch.randn(m, k, device=device) * torch.logspace(-3, 2, k, device=device)).to(dtype)
    q, s = per_token_group_quant_fp8(x)
    q_ref, s_ref = quant_reference(x, (1, 128))
    assert q.dtype == FP8_DTYPE and q.shape == (m, k)
    assert s.dtype == torch.float32 and s.shape == (m, -(-k // 128))
    torch.testing.assert_close(s, s_ref.to(s.device), rtol=0, atol=0)
    assert torch.equal(_bits(q).cpu(), _bits(q_ref).cpu())


@pytest.mark.parametrize(("n", "k"), [(128, 128), (200, 336), (512, 1024)])
def test_weight_blocks_match_reference(device, n, k) -> None:
    """128x128 block quantization gives the reference's fp8 bits and scale_inv, ragged edges included."""
    torch.manual_seed(n + k)
    w = (torch.randn(n, k, device=device) * 0.02).to(torch.bfloat16)
    q, s = block_quant_fp8(w)
    q_ref, s_ref = quant_reference(w)
    assert s.shape == (-(-n // 128), -(-k // 128))
    torch.testing.assert_close(s, s_ref.to(s.device), rtol=0, atol=0)
    assert torch.equal(_bits(q).cpu(), _bits(q_ref).cpu())


def test_quantization_saturates_and_handles_zero_groups(device) -> None:
    """Each group's absmax maps to exactly +-448, and an all-zero group yields zeros, not NaN."""
    x = torch.zeros(4, 256, device=device)
    x[0, :128] = torch.linspace(-3.0, 7.0, 128)
    q, s = per_token_group_quant_fp8(x)
    assert q[0, :128].float().abs().max().item() == 448.0
    assert torch.all(q[1:].float() == 0) and torch.all(torch.isfinite(s))
    assert torch.all(s[1:] > 0)


@pytest.mark.parametrize("block", [(128, 128), (1, 128)])
@pytest.mark.parametrize("out_dtype", [torch.float32, torch.bfloat16])
def test_dequant_matches_reference(device, block, out_dtype) -> None:
    """Dequantization equals q * scale per block, and round-trips weights within e4m3 precision."""
    torch.manual_seed(7)
    w = torch.randn(160, 272, device=device)
    q, s = quant_reference(w, block)
    y = block_dequant_fp8(q.to(device), s.to(device), block_size=block, out_dtype=out_dtype)
    assert y.dtype == out_dtype
    torch.testing.assert_close(
        y.float().cpu(), dequant_reference(q, s, block).to(out_dtype).float().cpu(), rtol=0, atol=0
    )
    # e4m3 keeps 3 mantissa bits: relative rounding error per element is at most 2^-4.
    rel = (y.float() - w).norm() / w.norm()
    assert rel.item() < 0.05


def test_quant_wrappers_reject_bad_inputs(device) -> None:
    """Wrong dtypes, ranks, strides and block sizes raise clear TypeError/ValueError."""
    with pytest.raises(TypeError, match="dtype torch.int32"):
        per_token_group_quant_fp8(torch.zeros(4, 128, dtype=torch.int32, device=device))
    with pytest.raises(ValueError, match="must be 2-D"):
        per_token_group_quant_fp8(torch.zeros(128, device=device))
    with pytest.raises(ValueError, match="contiguous in its last dimension"):
        block_quant_fp8(torch.zeros(128, 256, device=device).t())
    with pytest.raises(ValueError, match="power of two"):
        per_token_group_quant_fp8(torch.zeros(4, 128, device=device), group_size=100)
    with pytest.raises(TypeError, match="must be a torch.Tensor"):
        block_quant_fp8([[1.0]])
    q, s = quant_reference(torch.randn(256, 256))
    with pytest.raises(ValueError, match=r"needs \(2, 2\)"):
        block_dequant_fp8(q.to(device), s[:1].contiguous().to(device))
    with pytest.raises(TypeError, match="out_dtype"):
        block_dequant_fp8(q.to(device), s.to(device), out_dtype=torch.int8)
