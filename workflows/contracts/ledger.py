"""Inputs and results of the ledger activities (`tools.propose`, `tools.approve_call`,
`tools.resolve_unknown`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from workflows.contracts.base import Wire
from workflows.contracts.tools import ToolCall, ToolResult


class LedgerReceipt(Wire):
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


class ProposeToolCallInput(Wire):
    run_id: str
    tool_call: ToolCall
    idempotency_key: str
    requires_approval: bool = Field(description="tools.execute refuses the call until tools.approve_call ran")


class ApproveToolCallInput(Wire):
    idempotency_key: str
    arguments_hash: str = Field(description="the hash the person approved; a different call is a conflict")
    approver: str


class ResolveUnknownInput(Wire):
    """A person's decision on a call whose outcome is unknown (a non-idempotent tool was interrupted)."""

    run_id: str
    idempotency_key: str
    decision: Literal["mark_done", "retry", "abandon"]
    by: str
    comment: str | None = None
    data: Any = Field(default=None, description="mark_done only: the result the person reports, shown to the model")


class ResolveUnknownResult(Wire):
    receipt: LedgerReceipt
    # mark_done / abandon: the result to record in the transcript in place of outcome_unknown.
    # retry: None; the workflow calls tools.execute again with the SAME idempotency key.
    tool_result: ToolResult | None
    rerun: bool
