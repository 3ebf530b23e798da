"""People's decisions: the update and signal inputs, what waits for them, what they decided.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from workflows.contracts.base import UserInput, Wire


class ApproveInput(UserInput):
    tool_call_id: str
    approver: str = "anonymous"
    comment: str | None = None
    arguments: dict[str, Any] | None = Field(
        default=None, description="edit before approving: these arguments (and their hash) are what runs"
    )
    expires_at: datetime | None = Field(default=None, description="signed approvals: when the signature lapses")
    signature: str | None = Field(
        default=None, description="base64 Ed25519 signature by `approver`'s key (workflows/approval_signatures.py)"
    )
    proof: str | None = Field(
        default=None, description="how the run API proved the approver (its API key or OIDC token); signed with the rest"
    )


class ApproveAllInput(UserInput):
    approver: str = "anonymous"
    comment: str | None = None
    tool_call_ids: list[str] | None = Field(
        default=None, description="signed approvals: the pending calls the signature covers (all of them)"
    )
    expires_at: datetime | None = None
    signature: str | None = None


class ApproverSpec(Wire):
    """One person who may approve, from the approvers file: their public key and what they may approve."""

    name: str = Field(min_length=1)
    public_key: str = Field(description="base64 of the raw 32-byte Ed25519 public key")
    tenants: list[str] = Field(default_factory=lambda: ["*"], description='"*" means every tenant')
    tools: list[str] = Field(default_factory=lambda: ["*"], description='"*" means every tool')
    max_risk: int = Field(default=4, ge=0, le=4)


class ApproversPolicy(Wire):
    """The approvers file as a run sees it: loaded once by an activity, kept in history and checkpoints."""

    approvers: list[ApproverSpec] = Field(default_factory=list)
    # At most 3: risk 3-4 calls always need a signed approval, whatever the file says.
    signed_from_risk: int = Field(default=3, ge=0, le=3, description="approvals of calls at or above need a signature")
    source: str = Field(default="", description="where it was read from, for messages")


class LoadApproversInput(Wire):
    """`approvals.load_approvers` reads the worker's approvers file; nothing to choose."""


class ResolveOutcomeInput(UserInput):
    """A person's decision on a call whose outcome is unknown."""

    tool_call_id: str
    decision: Literal["mark_done", "retry", "abandon"]
    by: str = "anonymous"
    comment: str | None = None
    data: Any = Field(default=None, description="mark_done: the result the person observed, shown to the model")


class PendingResolution(Wire):
    tool_call_id: str
    tool: str
    arguments: dict[str, Any]
    reason: Literal["outcome_unknown"] = "outcome_unknown"
    message: str


class RejectInput(UserInput):
    tool_call_id: str
    approver: str = "anonymous"
    comment: str | None = None
    proof: str | None = Field(default=None, description="how the run API identified the person (not signed)")


class PendingApproval(Wire):
    tool_call_id: str
    tool: str
    arguments: dict[str, Any]
    arguments_hash: str
    risk_level: int
    reason: str
    requested_at: datetime
    expires_at: datetime
    signature_required: bool = Field(default=False, description="only an approval signed by a permitted approver runs it")


class ApprovalRecord(Wire):
    """One line of a run's audit trail: who decided what about which call, and when."""

    tool_call_id: str
    tool: str
    decision: Literal["approved", "rejected", "expired", "mark_done", "retry", "abandon"]
    by: str
    at: datetime
    comment: str | None = None
    arguments_hash: str | None = None
    edited_arguments: dict[str, Any] | None = None
    reason: str | None = Field(default=None, description="why a person was asked")
    verified: bool = Field(default=False, description="`by` is proven: the decision was signed by that approver's key")
    proof: str | None = Field(default=None, description="how `by` was identified, when the run API decided for them")
