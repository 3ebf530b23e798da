"""Large outputs stored by reference: content-addressed files in the run's workspace.

The one function to swap for the blob store (context-engine issue): callers keep only the returned
reference, never the path layout.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

OUTPUTS_DIR = ".outputs"


def store_output(workspace: Path, source: Path) -> dict:
    """Move `source` into `<workspace>/.outputs/<sha256>.txt`; return `{"ref", "path", "bytes"}`."""
    digest = hashlib.sha256()
    with source.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    ref = digest.hexdigest()
    target_dir = workspace / OUTPUTS_DIR
    # Root-owned and read-only to the sandbox uid: a later command may read a stored output, not alter it.
    target_dir.mkdir(mode=0o755, exist_ok=True)
    target = target_dir / f"{ref}.txt"
    size = source.stat().st_size
    if target.exists():
        source.unlink()  # same content, already stored
    else:
        shutil.move(source, target)
        os.chmod(target, 0o644)
    return {"ref": ref, "path": f"{OUTPUTS_DIR}/{ref}.txt", "bytes": size}
