"""Test approvers: keys made once per session, an approvers file, and signed approval inputs."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from workflows.approval_signatures import approval_message, public_key_text, sign, signed_call
from workflows.contracts import ApproveAllInput, ApproveInput, PendingApproval

APPROVER = "alice"


@functools.cache
def key_of(name: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def write_approvers(path: Path, entries: dict[str, dict[str, Any]] | None = None, **top: Any) -> Path:
    """An approvers file; by default alice may approve anything. Each entry's key is key_of(name)."""
    entries = {APPROVER: {}} if entries is None else entries
    approvers = {name: {"public_key": public_key_text(key_of(name)), **fields} for name, fields in entries.items()}
    path.write_text(yaml.safe_dump({**top, "approvers": approvers}))
    return path


def soon(minutes: int = 15) -> datetime:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).replace(microsecond=0)


def scope_of(run: object) -> str:
    """What a signature binds: a started run's chain (`state.approval_scope`), or a string as given."""
    return run if isinstance(run, str) else f"{run.id}/{run.first_execution_run_id}"


def signed(run_id: object, pending: PendingApproval, approver: str = APPROVER, *, key: Ed25519PrivateKey | None = None,
           expires_at: datetime | None = None, arguments: dict | None = None, **fields: Any) -> ApproveInput:
    """An approval of `pending` signed by `key` (default: the approver's own test key)."""
    expires_at = expires_at or soon()
    message = approval_message(scope_of(run_id), approver, expires_at, [signed_call(pending, arguments)])
    return ApproveInput(tool_call_id=pending.tool_call_id, approver=approver, arguments=arguments,
                        expires_at=expires_at, signature=sign(key or key_of(approver), message), **fields)


def signed_all(run_id: object, pending: list[PendingApproval], approver: str = APPROVER) -> ApproveAllInput:
    expires_at = soon()
    message = approval_message(scope_of(run_id), approver, expires_at, [signed_call(p) for p in pending])
    return ApproveAllInput(approver=approver, tool_call_ids=sorted(p.tool_call_id for p in pending),
                           expires_at=expires_at, signature=sign(key_of(approver), message))
