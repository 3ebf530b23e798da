"""Where a run chain's files live: a private directory named by a digest of its chain id.

A workflow id is chosen by whoever starts the run, so it never becomes a path: `..`, `.`, slashes,
unicode or 4 KB of text all map to 32 hex digits under the workspaces root. The chain id
(`<workflow id>/<first run id>`) stays the same across retries, continue-as-new and reset, and differs
when a workflow id is reused, so a new run under an old id never sees the old run's files.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def workspace_dir(root: Path, chain_id: str) -> Path:
    return root / hashlib.sha256(chain_id.encode()).hexdigest()[:32]
