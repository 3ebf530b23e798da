"""Pending approvals and their decisions: the bookkeeping behind the approve/reject handlers.

Kept apart from the loop so the rules (what may be decided, by whom, once) read in one place. All
times come from the caller (workflow.now()), so this stays deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from workflows.contracts import ApprovalRecord, PendingApproval


@dataclass
class Approvals:
    pending: dict[str, PendingApproval] = field(default_factory=dict)
    decided: dict[str, ApprovalRecord] = field(default_factory=dict)
    history: list[ApprovalRecord] = field(default_factory=list)

    def problem_with(self, tool_call_id: str) -> str | None:
        """Why a decision on `tool_call_id` cannot be taken now, or None if it can."""
        if tool_call_id in self.decided or any(r.tool_call_id == tool_call_id for r in self.history):
            return f"tool call {tool_call_id!r} was already decided"
        if tool_call_id not in self.pending:
            waiting = ", ".join(sorted(self.pending)) or "none"
            return f"no pending approval for tool call {tool_call_id!r} (pending: {waiting})"
        return None

    def decide(
        self,
        tool_call_id: str,
        decision: Literal["approved", "rejected", "expired"],
        by: str,
        at: datetime,
        comment: str | None = None,
    ) -> ApprovalRecord:
        pending = self.pending[tool_call_id]
        record = ApprovalRecord(
            tool_call_id=tool_call_id, tool=pending.tool, decision=decision, by=by, at=at, comment=comment
        )
        self.decided[tool_call_id] = record
        return record

    def close(self, tool_call_id: str) -> ApprovalRecord:
        """Move a decided call out of `pending` into the audit history."""
        self.pending.pop(tool_call_id)
        record = self.decided.pop(tool_call_id)
        self.history.append(record)
        return record
