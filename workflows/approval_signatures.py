"""Signed approvals: the message an approver's key signs, and how a run checks it.

Pure and deterministic: no clock (the caller passes workflow.now()), no I/O (the approvers file reaches
the run through the `approvals.load_approvers` activity and is kept in history), no randomness (Ed25519
verification is a function of key, message and signature). So it runs in update validators and signal
handlers and replays the same way.

The signed message is canonical JSON of what the decision is about, so a signature cannot be moved:

    {"v": "agent-approval/v1", "workflow_id": ..., "decision": "approved", "approver": ...,
     "expires_at": "2026-11-26T12:00:00Z",
     "calls": [{"tool_call_id": ..., "arguments_hash": ..., "edited_arguments_hash": null}, ...]}

A signature made for another run, another call, other (or edited) arguments, another approver or a later
expiry does not verify. `approve` signs one call; `approve_all` signs the whole pending set it saw.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from workflows.contracts import ApproverSpec, ApproversPolicy, PendingApproval, arguments_hash, canonical_json

MESSAGE_VERSION = "agent-approval/v1"
SIGN_HINT = "sign it: python -m worker.approve RUN CALL_ID --key FILE (see docs/tools.md, Signed approvals)"


@dataclass(frozen=True)
class SignedCall:
    tool_call_id: str
    arguments_hash: str
    edited_arguments_hash: str | None = None


@dataclass(frozen=True)
class Verdict:
    problem: str | None  # why the approval is refused; None when it may be applied
    verified: bool = False  # the approver is proven by a signature


def expiry_text(at: datetime) -> str:
    """Whole seconds in UTC. A time without a zone is read as UTC (never the machine's local zone)."""
    at = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def approval_message(workflow_id: str, approver: str, expires_at: datetime, calls: list[SignedCall],
                     decision: str = "approved", proof: str | None = None) -> bytes:
    """The bytes an approver's key signs. `proof` (the run API's account of how it identified the approver)
    is in the message only when given, so signatures made before it existed still verify."""
    ordered = sorted(calls, key=lambda c: c.tool_call_id)
    return canonical_json({
        **({"proof": proof} if proof is not None else {}),
        "v": MESSAGE_VERSION,
        "workflow_id": workflow_id,
        "decision": decision,
        "approver": approver,
        "expires_at": expiry_text(expires_at),
        "calls": [{"tool_call_id": c.tool_call_id, "arguments_hash": c.arguments_hash,
                   "edited_arguments_hash": c.edited_arguments_hash} for c in ordered],
    }).encode()


def signed_call(pending: PendingApproval, edited: dict[str, Any] | None = None) -> SignedCall:
    return SignedCall(pending.tool_call_id, pending.arguments_hash, arguments_hash(edited) if edited is not None else None)


def sign(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode()


def public_key_text(key: Ed25519PrivateKey) -> str:
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()


def _verifies(spec: ApproverSpec, message: bytes, signature: str) -> bool:
    try:
        key = Ed25519PublicKey.from_public_bytes(base64.b64decode(spec.public_key, validate=True))
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def permission_problem(spec: ApproverSpec, pending: PendingApproval, tenant_id: str, requester: str) -> str | None:
    call = f"{pending.tool} ({pending.tool_call_id}, risk {pending.risk_level})"
    if "*" not in spec.tenants and tenant_id not in spec.tenants:
        return f"approver {spec.name!r} may not approve calls of tenant {tenant_id!r} (may: {spec.tenants})"
    if "*" not in spec.tools and pending.tool not in spec.tools:
        return f"approver {spec.name!r} may not approve {call} (tools: {spec.tools})"
    if pending.risk_level > spec.max_risk:
        return f"approver {spec.name!r} may not approve {call}: their max_risk is {spec.max_risk}"
    if pending.risk_level >= 4 and spec.name == requester:
        return f"approver {spec.name!r} requested this run and may not approve its risk-4 call {call}"
    return None


def check_approval(
    policy: ApproversPolicy | None,
    calls: list[tuple[PendingApproval, dict[str, Any] | None]],
    *,
    workflow_id: str,
    tenant_id: str,
    requester: str,
    approver: str,
    expires_at: datetime | None,
    signature: str | None,
    now: datetime,
    proof: str | None = None,
) -> Verdict:
    """May `approver` approve these pending calls (each with its edited arguments, if any)?

    A run that loaded no approvers file (it started before signed approvals) checks nothing and proves
    nothing. Otherwise an unsigned approval is refused if any call requires a signature, and a signature,
    when given, must verify whether or not the call requires one.
    """
    if policy is None:
        return Verdict(None)
    if signature is None:
        guarded = [p for p, _ in calls if p.signature_required]
        if guarded:
            named = ", ".join(f"{p.tool} ({p.tool_call_id}, risk {p.risk_level})" for p in guarded)
            return Verdict(f"approval of {named} must be signed by a listed approver's key; unsigned approvals "
                           f"are refused. {SIGN_HINT}")
        return Verdict(None)
    spec = next((a for a in policy.approvers if a.name == approver), None)
    if spec is None:
        where = f" ({policy.source})" if policy.source else ""
        return Verdict(f"approver {approver!r} is not in the approvers file{where} this run loaded")
    if expires_at is None:
        return Verdict("a signed approval needs expires_at (the time its signature lapses)")
    if now >= datetime.fromisoformat(expiry_text(expires_at)):
        return Verdict(f"the signed approval expired at {expiry_text(expires_at)} (run time now {expiry_text(now)}); "
                       "sign a new one")
    message = approval_message(workflow_id, approver, expires_at, [signed_call(p, e) for p, e in calls], proof=proof)
    if not _verifies(spec, message, signature):
        return Verdict(f"the signature does not verify with {approver!r}'s key for this approval: it was made "
                       "with another key, or for another run, call, arguments, approver, proof or expiry")
    for pending, _ in calls:
        if problem := permission_problem(spec, pending, tenant_id, requester):
            return Verdict(problem)
    return Verdict(None, verified=True)
