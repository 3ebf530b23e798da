"""The wire types the workflow will import stay free of heavy or non-deterministic imports."""

from __future__ import annotations

import subprocess
import sys

from workflows.contracts.retrieval import Access


def test_contracts_import_only_pydantic() -> None:
    """Importing both contract modules loads neither qdrant-client, onnxruntime, numpy nor structlog."""
    code = ("import sys, workflows.contracts.retrieval, workflows.contracts.memory; "
            "print(sorted(m for m in ('qdrant_client', 'onnxruntime', 'numpy', 'structlog', 'temporalio') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_access_scope_keys() -> None:
    """A caller reads tenant-wide, own-user, own-team and own-run scopes; nothing else."""
    access = Access(tenant_id="acme", user_id="alice", team_ids=["eng"], run_id="r1")
    assert access.scope_keys() == ["tenant", "user:alice", "team:eng", "run:r1"]
