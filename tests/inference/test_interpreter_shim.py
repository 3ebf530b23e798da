"""The interpreter cast self-check and shim that make CPU kernel tests bit-exact."""

from __future__ import annotations

import os

import pytest
import torch


@pytest.mark.skipif(torch.cuda.is_available(), reason="the interpreter only runs without a GPU")
def test_interpreter_is_on_without_gpu() -> None:
    """Without CUDA the conftest turns on Triton's interpreter before triton is imported."""
    assert os.environ.get("TRITON_INTERPRET") == "1"


@pytest.mark.skipif(torch.cuda.is_available(), reason="the interpreter only runs without a GPU")
def test_downcasts_match_torch_bit_for_bit(interpreter_casts) -> None:
    """After the conftest's check (and shim when needed), fp32 -> e4m3/e5m2/bf16 casts equal torch's."""
    assert interpreter_casts() is True
