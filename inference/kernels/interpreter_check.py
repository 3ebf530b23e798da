"""Self-check of Triton's CPU interpreter: does it round float downcasts like the GPU does?

Triton 3.9's interpreter drops the carry when rounding fp32 -> fp8 (about 2% of values
land one binade low; triton PR #11897) and truncates fp32 -> bf16. Callers that run the
kernels on CPU use this check to decide what to do: the tests patch the casts, the
checkpoint converter falls back to the bit-identical torch reference.
"""

from __future__ import annotations

import functools

import torch
import triton
import triton.language as tl

__all__ = ["interpreter_casts_exact"]

# The interpreter stores fp8 as uint8 and bf16 as 16-bit integers; compare those bits.
_BITS = {torch.float8_e4m3fn: torch.uint8, torch.float8_e5m2: torch.uint8, torch.bfloat16: torch.int16}


@triton.jit
def _cast_probe_kernel(X, Y8, Y5, YB, N: tl.constexpr):
    offs = tl.arange(0, N)
    x = tl.load(X + offs)
    tl.store(Y8 + offs, x.to(Y8.dtype.element_ty))
    tl.store(Y5 + offs, x.to(Y5.dtype.element_ty))
    tl.store(YB + offs, x.to(YB.dtype.element_ty))


def _probe_values() -> torch.Tensor:
    # A dense grid across e4m3's range (many values round up into the next binade), a
    # log-spread random sample reaching the subnormals, and exact ties.
    g = torch.Generator().manual_seed(0)
    grid = torch.linspace(-440.0, 440.0, 2048)
    rand = torch.randn(2048, generator=g) * torch.logspace(-6, 2, 2048)
    ties = torch.tensor([1.0625, 1.1875, 15.5, 31.0, 0.00146484375, 240.0, 3.0 * 2.0**-9])
    vals = torch.cat([grid, rand, ties, -ties])
    return torch.nn.functional.pad(vals, (0, 8192 - vals.numel()))


@functools.cache
def interpreter_casts_exact() -> bool:
    """Run a probe kernel on CPU and compare its fp32 -> e4m3/e5m2/bf16 casts with torch, bit for bit.

    Only meaningful under ``TRITON_INTERPRET=1``; cached because the answer depends only on
    the installed Triton.
    """
    x = _probe_values()
    outs = [torch.empty_like(x, dtype=d) for d in _BITS]
    _cast_probe_kernel[(1,)](x, *outs, N=x.numel())
    return all(torch.equal(o.view(_BITS[o.dtype]), x.to(o.dtype).view(_BITS[o.dtype])) for o in outs)
