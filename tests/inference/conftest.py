"""Fixtures for the inference tests: Triton's CPU interpreter and its cast shim.

Without a CUDA device the kernels run under ``TRITON_INTERPRET=1``, which must be set
before anything imports triton, hence at the top of this conftest. The interpreter has
known rounding bugs in float downcasts (fp32 -> fp8 carries are dropped, triton PR #11897;
fp32 -> bf16 truncates instead of rounding). The shim below routes those casts through
torch, and it is applied only when a self-check shows the installed interpreter is wrong,
so a fixed Triton runs unshimmed. It is test-only: production never runs the interpreter.
"""

from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import triton  # noqa: E402
import triton.language as tl  # noqa: E402

_TL_TO_TORCH = {
    tl.float8e4nv: torch.float8_e4m3fn,
    tl.float8e5: torch.float8_e5m2,
    tl.bfloat16: torch.bfloat16,
    tl.float16: torch.float16,
    tl.float32: torch.float32,
}
# How the interpreter stores each dtype in numpy (fp8 as uint8, bf16 as uint16).
_STORAGE = {torch.float8_e4m3fn: torch.uint8, torch.float8_e5m2: torch.uint8, torch.bfloat16: torch.int16}


@triton.jit
def _cast_probe_kernel(X, Y8, Y5, YB, N: tl.constexpr):
    offs = tl.arange(0, N)
    x = tl.load(X + offs)
    tl.store(Y8 + offs, x.to(Y8.dtype.element_ty))
    tl.store(Y5 + offs, x.to(Y5.dtype.element_ty))
    tl.store(YB + offs, x.to(YB.dtype.element_ty))


def _probe_values() -> torch.Tensor:
    # Values whose fp8/bf16 rounding carries into the exponent or lands on exact ties,
    # plus a random spread, all inside e4m3's finite range.
    g = torch.Generator().manual_seed(0)
    grid = torch.linspace(-440.0, 440.0, 2048)
    rand = torch.randn(2048, generator=g) * torch.logspace(-6, 2, 2048)
    ties = torch.tensor([1.0625, 1.1875, 15.5, 31.0, 0.0009765625 * 1.5, 240.0, 3.0 * 2.0**-9])
    vals = torch.cat([grid, rand, ties, -ties])
    return torch.nn.functional.pad(vals, (0, 8192 - vals.numel()))


def interpreter_casts_match_torch() -> bool:
    """Run the probe kernel and compare every downcast with torch, bit for bit."""
    x = _probe_values()
    outs = [torch.empty_like(x, dtype=d) for d in (torch.float8_e4m3fn, torch.float8_e5m2, torch.bfloat16)]
    _cast_probe_kernel[(1,)](x, *outs, N=x.numel())
    return all(torch.equal(o.view(_STORAGE[o.dtype]), x.to(o.dtype).view(_STORAGE[o.dtype])) for o in outs)


def _to_torch(data: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    t = torch.from_numpy(np.ascontiguousarray(data))
    return t.view(dtype) if dtype in _STORAGE else t.to(dtype)


def _torch_downcast(fallback):
    """Wrap an interpreter cast so float downcasts to fp8/bf16 round like torch (and the GPU)."""
    from triton._C.libtriton import ir
    from triton.runtime.interpreter import TensorHandle, _get_np_dtype

    def cast(self, handle, dst, *args):
        src_t, dst_t = _TL_TO_TORCH.get(handle.dtype.scalar), _TL_TO_TORCH.get(dst.scalar)
        # Only round-to-nearest-even is rerouted; an explicit RTZ request keeps Triton's path.
        rtz = bool(args) and args[0] == ir.ROUNDING_MODE.RTZ
        if src_t is None or dst_t not in _STORAGE or rtz:
            return fallback(self, handle, dst, *args)
        out = _to_torch(handle.data, src_t).to(dst_t)
        data = out.view(_STORAGE[dst_t]).numpy().view(_get_np_dtype(dst))
        return TensorHandle(data.reshape(handle.data.shape), dst.scalar)

    return cast


def _apply_cast_shim() -> None:
    from triton.runtime.interpreter import InterpreterBuilder

    InterpreterBuilder.create_fp_to_fp = _torch_downcast(InterpreterBuilder.create_fp_to_fp)
    InterpreterBuilder.cast_impl = _torch_downcast(InterpreterBuilder.cast_impl)


INTERPRETER = os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")
CAST_SHIM_APPLIED = False
if INTERPRETER and not interpreter_casts_match_torch():
    _apply_cast_shim()
    CAST_SHIM_APPLIED = True


@pytest.fixture(name="device")
def device_fixture() -> torch.device:
    """Where kernel tests allocate: the GPU when there is one, else CPU under the interpreter."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture(name="interpreter_casts")
def interpreter_casts_fixture():
    """The cast self-check, for the test that proves the shim (if any) made the interpreter exact."""
    return interpreter_casts_match_torch
