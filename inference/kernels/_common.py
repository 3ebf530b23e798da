"""Constants and argument checks shared by the FP8 kernel wrappers.

The wrappers raise ``TypeError``/``ValueError`` with a message naming the argument, because
a bad launch on a GPU otherwise surfaces as a silent wrong answer or an illegal-address
crash far from the call site (``assert`` would also vanish under ``python -O``).
"""

from __future__ import annotations

import os

import torch

FP8_DTYPE = torch.float8_e4m3fn
# Largest finite float8_e4m3fn value; scales map each group's absmax onto it.
FP8_MAX = float(torch.finfo(FP8_DTYPE).max)
# Floor for a group's absmax so an all-zero group gets a finite, non-zero scale.
FP8_EPS = 1e-10
# DeepSeek-V3 layout, which SGLang and vLLM load natively: 1x128 activation groups and
# 128x128 weight blocks, so each 128-wide K block of the GEMM has one scale per row/column.
GROUP_SIZE = 128
WEIGHT_BLOCK = (128, 128)

HIGH_PRECISION_DTYPES = (torch.bfloat16, torch.float16, torch.float32)
OUTPUT_DTYPES = (torch.bfloat16, torch.float16, torch.float32)


def interpreting() -> bool:
    """True when Triton runs kernels in its CPU interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def check_tensor(name: str, t: object, dtypes: tuple[torch.dtype, ...], ndim: int) -> torch.Tensor:
    """Validate type, dtype, rank, device and a unit-stride last dimension."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if t.dtype not in dtypes:
        allowed = ", ".join(str(d) for d in dtypes)
        raise TypeError(f"{name} has dtype {t.dtype}; expected one of: {allowed}")
    if t.dim() != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {tuple(t.shape)}")
    if t.numel() == 0:
        raise ValueError(f"{name} is empty (shape {tuple(t.shape)})")
    if t.device.type != "cuda" and not interpreting():
        raise ValueError(
            f"{name} is on {t.device}; Triton kernels need a CUDA tensor "
            "(set TRITON_INTERPRET=1 before importing triton to run them on CPU)"
        )
    if t.device.type == "cuda" and torch.cuda.get_device_capability(t.device) < (8, 9):
        cap = ".".join(map(str, torch.cuda.get_device_capability(t.device)))
        raise ValueError(
            f"{name} is on a GPU of compute capability {cap}; the FP8 kernels need 8.9+ (Ada, Hopper)"
        )
    if t.stride(-1) != 1:
        raise ValueError(f"{name} must be contiguous in its last dimension, got strides {t.stride()}")
    return t


def check_aligned(name: str, t: torch.Tensor, elements: int) -> None:
    """Require 16-byte aligned rows and base pointer, as FP8 tensor-core loads (and
    ``torch._scaled_mm``) do; Triton otherwise silently drops to narrow scalar loads."""
    if t.data_ptr() % 16 != 0:
        raise ValueError(
            f"{name} data pointer is not 16-byte aligned (a sliced view?); pass a contiguous copy"
        )
    for dim in range(t.dim() - 1):
        if (t.stride(dim) * t.element_size()) % 16 != 0:
            raise ValueError(
                f"{name} stride {t.stride(dim)} in dim {dim} is not a multiple of 16 bytes; "
                f"its last dimension must be a multiple of {elements} elements"
            )


def check_same_device(**tensors: torch.Tensor) -> None:
    """All operands of one launch must live on one device."""
    devices = {name: t.device for name, t in tensors.items()}
    if len(set(devices.values())) > 1:
        raise ValueError(f"tensors are on different devices: {devices}")


def scale_shape(rows: int, cols: int, block: tuple[int, int]) -> tuple[int, int]:
    """Shape of the scale grid for a ``rows x cols`` tensor quantized in ``block`` tiles."""
    return (-(-rows // block[0]), -(-cols // block[1]))
