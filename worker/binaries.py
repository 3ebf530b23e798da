"""Find the executables the project installs into its own environment (temporal, temporal-test-server)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


def find_binary(name: str) -> str:
    """The environment's own copy first (it is the pinned one), then PATH."""
    local = Path(sys.executable).parent / name
    if local.is_file():
        return str(local)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"`{name}` is not installed in this environment nor on PATH; run the README's setup command")
    return found
