"""The block-FP8 checkpoint converter on a small llama-style checkpoint the tests create."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from inference.kernels.reference import dequant_reference, quant_reference
from inference.quantize import QUANTIZATION_CONFIG, UnsupportedCheckpoint, convert

REPO = Path(__file__).resolve().parents[2]
HIDDEN, KV, FFN, VOCAB = 256, 128, 320, 300
LINEAR = {
    "self_attn.q_proj": (HIDDEN, HIDDEN),
    "self_attn.k_proj": (KV, HIDDEN),
    "self_attn.v_proj": (KV, HIDDEN),
    "self_attn.o_proj": (HIDDEN, HIDDEN),
    "mlp.gate_proj": (FFN, HIDDEN),
    "mlp.up_proj": (FFN, HIDDEN),
    "mlp.down_proj": (HIDDEN, FFN),
}


def _layer(i: int, gen: torch.Generator) -> dict[str, torch.Tensor]:
    p = f"model.layers.{i}."
    out = {
        p + name + ".weight": (torch.randn(shape, generator=gen) * 0.02).to(torch.bfloat16)
        for name, shape in LINEAR.items()
    }
    out[p + "input_layernorm.weight"] = torch.ones(HIDDEN, dtype=torch.bfloat16)
    out[p + "post_attention_layernorm.weight"] = torch.ones(HIDDEN, dtype=torch.bfloat16)
    return out


def make_checkpoint(root: Path, config: dict | None = None) -> Path:
    """Write a 2-layer llama-style bf16 checkpoint in two shards with an index."""
    gen = torch.Generator().manual_seed(0)
    root.mkdir(parents=True, exist_ok=True)
    shard1 = {
        "model.embed_tokens.weight": torch.randn(VOCAB, HIDDEN, generator=gen).to(torch.bfloat16),
        **_layer(0, gen),
    }
    shard2 = {
        **_layer(1, gen),
        "model.norm.weight": torch.ones(HIDDEN, dtype=torch.bfloat16),
        "lm_head.weight": torch.randn(VOCAB, HIDDEN, generator=gen).to(torch.bfloat16),
    }
    weight_map = {}
    for name, tensors in (
        ("model-00001-of-00002.safetensors", shard1),
        ("model-00002-of-00002.safetensors", shard2),
    ):
        save_file(tensors, str(root / name), metadata={"format": "pt"})
        weight_map.update(dict.fromkeys(tensors, name))
    (root / "model.safetensors.index.json").write_text(json.dumps({"metadata": {}, "weight_map": weight_map}))
    cfg = config or {
        "model_type": "llama",
        "hidden_size": HIDDEN,
        "num_hidden_layers": 2,
        "torch_dtype": "bfloat16",
    }
    (root / "config.json").write_text(json.dumps(cfg))
    (root / "tokenizer.json").write_text('{"fake": true}')
    return root


def _load(out: Path) -> dict[str, torch.Tensor]:
    tensors = {}
    for shard in sorted(out.glob("*.safetensors")):
        with safe_open(shard, framework="pt") as f:
            tensors.update({k: f.get_tensor(k) for k in f.keys()})  # noqa: SIM118
    return tensors


@pytest.fixture(name="converted", scope="module")
def converted_fixture(tmp_path_factory):
    src = make_checkpoint(tmp_path_factory.mktemp("bf16"))
    out = tmp_path_factory.mktemp("fp8") / "out"
    lines: list[str] = []
    result = convert(src, out, log=lines.append)
    return src, out, result, lines


def test_linear_weights_become_block_fp8_with_scale_inv(converted) -> None:
    """Every linear weight is e4m3 with an fp32 weight_scale_inv that dequantizes to the reference."""
    src, out, result, _ = converted
    original, quantized = _load(src), _load(out)
    assert result.backend == "triton"  # our kernels, not the torch fallback
    assert len(result.layers) == 2 * len(LINEAR)
    for layer in result.layers:
        q, s = quantized[layer.name], quantized[layer.name.removesuffix(".weight") + ".weight_scale_inv"]
        assert q.dtype == torch.float8_e4m3fn and s.dtype == torch.float32
        n, k = original[layer.name].shape
        assert s.shape == (-(-n // 128), -(-k // 128))
        q_ref, s_ref = quant_reference(original[layer.name])
        assert torch.equal(q.view(torch.uint8), q_ref.view(torch.uint8)) and torch.equal(s, s_ref)
        w = original[layer.name].float()
        rel = ((dequant_reference(q, s) - w).norm() / w.norm()).item()
        assert layer.rel_error == pytest.approx(rel, rel=1e-3)
        assert 0 < layer.rel_error < 0.05


def test_embeddings_norms_and_head_keep_their_dtype(converted) -> None:
    """Embeddings, norms and lm_head are copied bit for bit in bf16."""
    src, out, result, _ = converted
    original, quantized = _load(src), _load(out)
    for name in (
        "model.embed_tokens.weight",
        "lm_head.weight",
        "model.norm.weight",
        "model.layers.1.input_layernorm.weight",
    ):
        assert quantized[name].dtype == torch.bfloat16
        assert torch.equal(quantized[name], original[name])
        assert name in result.kept
    assert set(quantized) == set(original) | {
        n.removesuffix(".weight") + ".weight_scale_inv" for n in (layer.name for layer in result.layers)
    }


def test_config_index_and_side_files(converted) -> None:
    """config.json gains the DeepSeek-V3 quantization_config; the index maps every tensor to its shard."""
    src, out, _, _ = converted
    config = json.loads((out / "config.json").read_text())
    assert (
        config["quantization_config"]
        == {
            "quant_method": "fp8",
            "fmt": "e4m3",
            "activation_scheme": "dynamic",
            "weight_block_size": [128, 128],
        }
        == QUANTIZATION_CONFIG
    )
    assert config["model_type"] == "llama"
    index = json.loads((out / "model.safetensors.index.json").read_text())
    loaded = _load(out)
    assert set(index["weight_map"]) == set(loaded)
    assert index["metadata"]["total_size"] == sum(t.numel() * t.element_size() for t in loaded.values())
    for name, shard in index["weight_map"].items():
        with safe_open(out / shard, framework="pt") as f:
            assert name in f.keys()  # noqa: SIM118
    assert (out / "tokenizer.json").read_text() == (src / "tokenizer.json").read_text()


def test_report_lists_every_quantized_layer(converted) -> None:
    """The printed report has one line per quantized layer with its relative error, then a summary."""
    _, _, result, lines = converted
    assert len(lines) == len(result.layers) + 1
    assert all("rel_err" in line for line in lines[:-1])
    assert lines[-1].startswith(f"quantized {len(result.layers)} linear weights")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda d: _edit_config(d, quantization_config={"quant_method": "fp8"}),
            "already has quantization_config",
        ),
        (lambda d: _edit_config(d, model_type="t5"), "model_type 't5' is not supported"),
        (lambda d: _add_tensor(d, "model.layers.0.mystery.weight", torch.zeros(64, 64)), "refusing to guess"),
        (
            lambda d: _add_tensor(d, "model.layers.0.self_attn.q_proj.weight_scale_inv", torch.ones(2, 2)),
            "already quantized",
        ),
        (lambda d: _replace_with_bin(d), "re-save it with safetensors"),
    ],
)
def test_refuses_inputs_it_does_not_understand(tmp_path, mutate, message) -> None:
    """Quantized, unknown-family, unplaceable-tensor and non-safetensors inputs are refused, writing nothing."""
    src = make_checkpoint(tmp_path / "in")
    mutate(src)
    with pytest.raises(UnsupportedCheckpoint, match=message):
        convert(src, tmp_path / "out", log=lambda _: None)
    assert not (tmp_path / "out").exists()


def test_cli_converts_and_reports_refusals(tmp_path) -> None:
    """`python -m inference.quantize IN OUT` converts, prints the report, and exits 2 with a message on refusal."""
    src = make_checkpoint(tmp_path / "in")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ok = subprocess.run(
        [sys.executable, "-m", "inference.quantize", str(src), str(tmp_path / "out")],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert ok.returncode == 0, ok.stderr
    assert "model.layers.1.mlp.down_proj.weight" in ok.stdout and "rel_err" in ok.stdout
    assert json.loads((tmp_path / "out" / "config.json").read_text())["quantization_config"][
        "weight_block_size"
    ] == [128, 128]
    # Whichever backend the unshimmed subprocess picked, its output is the reference's, bit for bit.
    original, quantized = _load(src), _load(tmp_path / "out")
    for name in (n for n in original if n.endswith("_proj.weight")):
        q_ref, s_ref = quant_reference(original[name])
        assert torch.equal(quantized[name].view(torch.uint8), q_ref.view(torch.uint8))
        assert torch.equal(quantized[name.removesuffix(".weight") + ".weight_scale_inv"], s_ref)
    again = subprocess.run(
        [sys.executable, "-m", "inference.quantize", str(tmp_path / "out"), str(tmp_path / "again")],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert again.returncode == 2
    assert "already has quantization_config" in again.stderr


def _edit_config(root: Path, **changes: object) -> None:
    cfg = json.loads((root / "config.json").read_text())
    (root / "config.json").write_text(json.dumps({**cfg, **changes}))


def _add_tensor(root: Path, name: str, tensor: torch.Tensor) -> None:
    save_file({name: tensor}, str(root / "extra.safetensors"))
    index = json.loads((root / "model.safetensors.index.json").read_text())
    index["weight_map"][name] = "extra.safetensors"
    (root / "model.safetensors.index.json").write_text(json.dumps(index))


def _replace_with_bin(root: Path) -> None:
    for p in root.glob("*.safetensors*"):
        p.unlink()
    torch.save({"w": torch.zeros(1)}, root / "pytorch_model.bin")


def test_streaming_writer_output_loads_and_checks_order(tmp_path) -> None:
    """The one-tensor-at-a-time writer produces files safetensors reads, and rejects tensors out of spec order."""
    from inference.quantize._safetensors import StreamingWriter, TensorSpec

    a = torch.randn(3, 5).to(torch.float8_e4m3fn)
    b = torch.arange(7, dtype=torch.int64)
    specs = [TensorSpec("a", a.dtype, (3, 5)), TensorSpec("b", b.dtype, (7,))]
    with StreamingWriter(tmp_path / "x.safetensors", specs) as w:
        w.write("a", a)
        w.write("b", b)
    with safe_open(tmp_path / "x.safetensors", framework="pt") as f:
        assert torch.equal(f.get_tensor("a").view(torch.uint8), a.view(torch.uint8))
        assert torch.equal(f.get_tensor("b"), b)
    with (
        pytest.raises(ValueError, match="expected a"),
        StreamingWriter(tmp_path / "y.safetensors", specs) as w,
    ):
        w.write("b", b)
    assert not (tmp_path / "y.safetensors").exists()
