"""Inputs and results of the ledger activities (`tools.propose`, `tools.approve_call`,
`tools.resolve_unknown`).

Like workflows/contracts.py this imports only pydantic, the standard library and the contracts, so
the workflow may import it through the sandbox (or the models may move into contracts.py verbatim).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from workflows.contracts import ToolCall, ToolResult


class _Wire(BaseModel):
    # Activity I/O: unknown keys from a newer or older worker are ignored (see workflows/contracts.py).
    model_config = ConfigDict(extra="ignore")


class LedgerReceipt(_Wire):
    """One call's receipt as the ledger holds it."""

    idempotency_key: str
    run_id: str
    tool: str
    arguments_hash: str
    status: Literal["proposed", "approved", "started", "succeeded", "failed", "outcome_unknown"]
    attempts: int
    requires_approval: bool
    decision: str | None = None
    decided_by: str | None = None


class ProposeToolCallInput(_Wire):
    run_id: str
    tool_call: ToolCall
    idempotency_key: str
    requires_approval: bool = Field(description="tools.execute refuses the call until tools.approve_call ran")


class ApproveToolCallInput(_Wire):
    idempotency_key: str
    arguments_hash: str = Field(description="the hash the person approved; a different call is a conflict")
    approver: str


class ResolveUnknownInput(_Wire):
    """A person's decision on a call whose outcome is unknown (a non-idempotent tool was interrupted)."""

    run_id: str
    idempotency_key: str
    decision: Literal["mark_done", "retry", "abandon"]
    by: str
    comment: str | None = None
    data: Any = Field(default=None, description="mark_done only: the result the person reports, shown to the model")


class ResolveUnknownResult(_Wire):
    receipt: LedgerReceipt
    # mark_done / abandon: the result to record in the transcript in place of outcome_unknown.
    # retry: None; the workflow calls tools.execute again with the SAME idempotency key.
    tool_result: ToolResult | None
    rerun: bool
