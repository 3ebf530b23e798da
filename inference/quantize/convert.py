"""Convert a bf16/fp16 safetensors checkpoint to DeepSeek-V3 style block FP8.

Output layout (what SGLang and vLLM load without flags): each linear ``*.weight`` becomes
float8_e4m3fn plus an fp32 ``*.weight_scale_inv`` of shape ``ceil([N, K] / 128)``, and
config.json gains ``quantization_config`` with ``weight_block_size: [128, 128]``.
Shards are processed one tensor at a time and written with a streaming writer, so peak
memory is a small multiple of the largest tensor, never of a shard or the model.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open

from inference.quantize._plan import Action, Decision, UnsupportedCheckpoint, check_config, decide
from inference.quantize._safetensors import DTYPE_NAMES, StreamingWriter, TensorSpec

QUANTIZATION_CONFIG = {
    "quant_method": "fp8",
    "fmt": "e4m3",
    "activation_scheme": "dynamic",
    "weight_block_size": [128, 128],
}
INDEX_NAME = "model.safetensors.index.json"
_DTYPES = {v: k for k, v in DTYPE_NAMES.items()}


@dataclass(frozen=True)
class LayerError:
    """Relative Frobenius error ``|W - dequant(quant(W))| / |W|`` of one quantized weight."""

    name: str
    shape: tuple[int, int]
    rel_error: float


@dataclass
class ConvertResult:
    out_dir: Path
    layers: list[LayerError] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    shards: list[str] = field(default_factory=list)
    backend: str = "triton"  # "torch" when the CPU interpreter cannot be trusted

    @property
    def max_rel_error(self) -> float:
        return max((layer.rel_error for layer in self.layers), default=0.0)


def _shards(in_dir: Path) -> tuple[list[str], bool]:
    index = in_dir / INDEX_NAME
    if index.exists():
        weight_map = json.loads(index.read_text()).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise UnsupportedCheckpoint(f"{index} has no weight_map")
        shards = list(dict.fromkeys(weight_map.values()))
        missing = [s for s in shards if not (in_dir / s).exists()]
        if missing:
            raise UnsupportedCheckpoint(f"{index.name} names shards that do not exist: {missing}")
        return shards, True
    shards = sorted(p.name for p in in_dir.glob("*.safetensors"))
    if not shards:
        legacy = sorted(p.name for p in in_dir.glob("*.bin")) + sorted(p.name for p in in_dir.glob("*.pt"))
        hint = f" (found {legacy}; re-save it with safetensors first)" if legacy else ""
        raise UnsupportedCheckpoint(f"no *.safetensors files in {in_dir}{hint}")
    return shards, len(shards) > 1


def _plan(in_dir: Path, shards: list[str]) -> dict[str, list[tuple[Decision, TensorSpec]]]:
    """Classify every tensor before anything is written, so a refusal leaves no partial output."""
    plan: dict[str, list[tuple[Decision, TensorSpec]]] = {}
    for shard in shards:
        with safe_open(in_dir / shard, framework="pt") as f:
            entries = []
            for name in f.keys():  # noqa: SIM118 - safe_open is not a mapping
                sl = f.get_slice(name)
                dtype_name = sl.get_dtype()
                if dtype_name not in _DTYPES:
                    raise UnsupportedCheckpoint(
                        f"{shard}: tensor {name!r} has unsupported dtype {dtype_name}"
                    )
                spec = TensorSpec(name, _DTYPES[dtype_name], tuple(sl.get_shape()))
                entries.append((decide(name, spec.dtype, spec.shape), spec))
        plan[shard] = entries
    return plan


def _output_specs(decision: Decision, spec: TensorSpec, fp8: torch.dtype) -> list[TensorSpec]:
    if decision.action is Action.KEEP:
        return [spec]
    n, k = spec.shape
    scale_name = spec.name.removesuffix(".weight") + ".weight_scale_inv"
    return [
        TensorSpec(spec.name, fp8, spec.shape),
        TensorSpec(scale_name, torch.float32, (-(-n // 128), -(-k // 128))),
    ]


def _pick_backend(device: str | torch.device | None, log: Callable[[str], None]) -> tuple[torch.device, str]:
    """Our Triton kernels on a GPU, or on CPU when the interpreter rounds correctly; else the
    torch reference, which the kernel tests prove bit-identical, so the output is the same."""
    from inference.kernels._common import interpreting

    dev = (
        torch.device(device)
        if device is not None
        else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
    if dev.type == "cuda":
        if torch.cuda.get_device_capability(dev) >= (8, 9):
            return dev, "triton"
        log(
            "note: this GPU has no FP8 support in Triton (needs compute capability 8.9+); using the torch reference"
        )
        return dev, "torch"
    if interpreting():
        from inference.kernels.interpreter_check import interpreter_casts_exact

        if interpreter_casts_exact():
            return dev, "triton"
        log(
            "note: this Triton interpreter rounds fp32->fp8 casts wrongly (triton PR #11897); "
            "quantizing on CPU with the bit-identical torch reference instead"
        )
    else:
        log("note: no CUDA device and TRITON_INTERPRET is unset; quantizing with the torch reference")
    return dev, "torch"


def _quantizer(backend: str):
    """Return ``(quant, dequant)`` for a backend: our kernels or the torch reference."""
    if backend == "triton":
        from inference.kernels import block_dequant_fp8, block_quant_fp8

        return block_quant_fp8, lambda q, s: block_dequant_fp8(q, s, out_dtype=torch.float32)
    from inference.kernels.reference import dequant_reference, quant_reference

    return quant_reference, dequant_reference


def convert(
    in_dir: str | Path,
    out_dir: str | Path,
    device: str | torch.device | None = None,
    log: Callable[[str], None] = print,
) -> ConvertResult:
    """Quantize the checkpoint in ``in_dir`` into ``out_dir`` (which must not hold files yet)."""
    from inference.kernels import FP8_DTYPE

    src, dst = Path(in_dir).resolve(), Path(out_dir).resolve()
    if not src.is_dir():
        raise UnsupportedCheckpoint(f"{src} is not a directory")
    if not (src / "config.json").exists():
        raise UnsupportedCheckpoint(f"{src} has no config.json")
    if dst == src:
        raise ValueError("OUT_DIR must differ from IN_DIR")
    if dst.exists() and any(dst.iterdir()):
        raise ValueError(f"{dst} is not empty; refusing to overwrite")
    config = json.loads((src / "config.json").read_text())
    check_config(config)
    shards, write_index = _shards(src)
    plan = _plan(src, shards)
    if not any(d.action is Action.QUANTIZE for entries in plan.values() for d, _ in entries):
        raise UnsupportedCheckpoint("no linear layer weights found to quantize")
    dev, backend = _pick_backend(device, log)
    quantize, dequantize = _quantizer(backend)

    dst.mkdir(parents=True, exist_ok=True)
    result = ConvertResult(out_dir=dst, shards=shards, backend=backend)
    weight_map: dict[str, str] = {}
    total_size = 0
    for shard in shards:
        specs = [out for d, spec in plan[shard] for out in _output_specs(d, spec, FP8_DTYPE)]
        total_size += sum(s.nbytes for s in specs)
        weight_map.update({s.name: shard for s in specs})
        with safe_open(src / shard, framework="pt") as f, StreamingWriter(dst / shard, specs) as writer:
            for decision, spec in plan[shard]:
                tensor = f.get_tensor(spec.name)
                if decision.action is Action.KEEP:
                    writer.write(spec.name, tensor)
                    result.kept.append(spec.name)
                    continue
                w = tensor.to(dev)
                q, scale_inv = quantize(w)
                back = dequantize(q, scale_inv)
                w32 = w.float()
                norm = w32.norm().item()
                rel = (back - w32).norm().item() / norm if norm > 0 else 0.0
                writer.write(spec.name, q)
                writer.write(spec.name.removesuffix(".weight") + ".weight_scale_inv", scale_inv)
                layer = LayerError(spec.name, (spec.shape[0], spec.shape[1]), rel)
                result.layers.append(layer)
                log(f"{layer.name:<60} {list(layer.shape)!s:>14}  rel_err {layer.rel_error:.3e}")
                del tensor, w, w32, q, scale_inv, back

    if write_index:
        index = {"metadata": {"total_size": total_size}, "weight_map": dict(sorted(weight_map.items()))}
        (dst / INDEX_NAME).write_text(json.dumps(index, indent=2) + "\n")
    config["quantization_config"] = dict(QUANTIZATION_CONFIG)
    (dst / "config.json").write_text(json.dumps(config, indent=2) + "\n")
    for path in src.iterdir():
        # Tokenizer, generation config, chat template and the like travel unchanged.
        if path.is_file() and path.suffix != ".safetensors" and path.name not in ("config.json", INDEX_NAME):
            shutil.copy2(path, dst / path.name)

    mean = sum(layer.rel_error for layer in result.layers) / len(result.layers)
    log(
        f"quantized {len(result.layers)} linear weights to block FP8 (kept {len(result.kept)} tensors); "
        f"relative error mean {mean:.3e}, max {result.max_rel_error:.3e}"
    )
    return result
