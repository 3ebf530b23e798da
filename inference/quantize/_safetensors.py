"""A streaming safetensors writer: the header is written first from known shapes and dtypes,
then each tensor's bytes as it is produced, so memory is bounded by one tensor.

``safetensors.torch.save_file`` needs every tensor of a shard in memory at once, which for
a 5 GB shard of a 70B model is exactly what the converter must avoid.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import torch

DTYPE_NAMES: dict[torch.dtype, str] = {
    torch.float64: "F64",
    torch.float32: "F32",
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float8_e4m3fn: "F8_E4M3",
    torch.float8_e5m2: "F8_E5M2",
    torch.int64: "I64",
    torch.int32: "I32",
    torch.int16: "I16",
    torch.int8: "I8",
    torch.uint8: "U8",
    torch.bool: "BOOL",
}


@dataclass(frozen=True)
class TensorSpec:
    """Name, dtype and shape of one tensor, known before its data is computed."""

    name: str
    dtype: torch.dtype
    shape: tuple[int, ...]

    @property
    def nbytes(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n * torch.empty((), dtype=self.dtype).element_size()


class StreamingWriter:
    """Write tensors in the order of ``specs``; :meth:`write` checks each matches its spec."""

    def __init__(self, path: Path, specs: list[TensorSpec], metadata: dict[str, str] | None = None) -> None:
        self._path = path
        self._specs = specs
        self._next = 0
        header: dict[str, object] = {"__metadata__": metadata or {"format": "pt"}}
        offset = 0
        for spec in specs:
            if spec.dtype not in DTYPE_NAMES:
                raise TypeError(f"safetensors cannot store {spec.name} with dtype {spec.dtype}")
            header[spec.name] = {
                "dtype": DTYPE_NAMES[spec.dtype],
                "shape": list(spec.shape),
                "data_offsets": [offset, offset + spec.nbytes],
            }
            offset += spec.nbytes
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)  # the format pads the header so tensor data stays 8-byte aligned
        self._file = path.open("wb")
        self._file.write(struct.pack("<Q", len(raw)))
        self._file.write(raw)

    def write(self, name: str, tensor: torch.Tensor) -> None:
        spec = self._specs[self._next]
        if name != spec.name or tensor.dtype != spec.dtype or tuple(tensor.shape) != spec.shape:
            raise ValueError(
                f"expected {spec.name} {spec.dtype} {spec.shape}, got {name} {tensor.dtype} {tuple(tensor.shape)}"
            )
        data = tensor.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8)
        self._file.write(data.numpy().tobytes())
        self._next += 1

    def close(self) -> None:
        self._file.close()
        if self._next != len(self._specs):
            missing = [s.name for s in self._specs[self._next :]]
            self._path.unlink(missing_ok=True)
            raise RuntimeError(f"{self._path.name}: {len(missing)} tensors never written, e.g. {missing[:3]}")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self._file.close()
            self._path.unlink(missing_ok=True)
