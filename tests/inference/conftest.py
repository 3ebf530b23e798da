"""Fixtures for the inference tests: Triton's CPU interpreter and its cast shim.

Without a CUDA device the kernels run under ``TRITON_INTERPRET=1``, which must be set
before anything imports triton, hence at the top of this conftest. The interpreter has
known rounding bugs in float downcasts (fp32 -> fp8 carries are dropped, triton PR #11897;
fp32 -> bf16 truncates instead of rounding). The shim below routes those casts through
torch, and it is applied only when the package's self-check
(``inference.kernels.interpreter_check``) shows the installed interpreter is wrong, so a
fixed Triton runs unshimmed. The shim is test-only; product code that runs on CPU (the
checkpoint converter) uses the same check to fall back to the torch reference instead.
"""

from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import triton.language as tl  # noqa: E402

from inference.kernels import interpreter_check  # noqa: E402

_TL_TO_TORCH = {
    tl.float8e4nv: torch.float8_e4m3fn,
    tl.float8e5: torch.float8_e5m2,
    tl.bfloat16: torch.bfloat16,
    tl.float16: torch.float16,
    tl.float32: torch.float32,
}
# How the interpreter stores each dtype in numpy (fp8 as uint8, bf16 as uint16).
_STORAGE = {torch.float8_e4m3fn: torch.uint8, torch.float8_e5m2: torch.uint8, torch.bfloat16: torch.int16}


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
if INTERPRETER and not interpreter_check.interpreter_casts_exact():
    _apply_cast_shim()
    interpreter_check.interpreter_casts_exact.cache_clear()
    CAST_SHIM_APPLIED = True


@pytest.fixture(name="device")
def device_fixture() -> torch.device:
    """Where kernel tests allocate: the GPU when there is one, else CPU under the interpreter."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@pytest.fixture(name="interpreter_casts")
def interpreter_casts_fixture():
    """The cast self-check, for the test that proves the shim (if any) made the interpreter exact."""
    interpreter_check.interpreter_casts_exact.cache_clear()
    return interpreter_check.interpreter_casts_exact
