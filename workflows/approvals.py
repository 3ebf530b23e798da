"""Pending approvals, outcome resolutions and their decisions: the bookkeeping behind the handlers.

Kept apart from the loop so the rules (what may be decided, by whom, once) read in one place. All
times come from the caller (workflow.now()), so this stays deterministic. `history` is the run's audit
trail: every decision a person (or the expiry timer) took, with what was approved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from workflows.contracts import ApprovalRecord, PendingApproval, PendingResolution, ResolveOutcomeInput


@dataclass
class Approvals:
    pending: dict[str, PendingApproval] = field(default_factory=dict)
    decided: dict[str, ApprovalRecord] = field(default_factory=dict)
    history: list[ApprovalRecord] = field(default_factory=list)
    unresolved: dict[str, PendingResolution] = field(default_factory=dict)
    resolutions: dict[str, ResolveOutcomeInput] = field(default_factory=dict)

    def problem_with(self, tool_call_id: str) -> str | None:
        """Why a decision on `tool_call_id` cannot be taken now, or None if it can."""
        if tool_call_id in self.decided or any(
            r.tool_call_id == tool_call_id and r.decision in ("approved", "rejected", "expired") for r in self.history
        ):
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
        edited_arguments: dict[str, Any] | None = None,
        verified: bool = False,
        proof: str | None = None,
    ) -> ApprovalRecord:
        pending = self.pending[tool_call_id]
        record = ApprovalRecord(
            tool_call_id=tool_call_id, tool=pending.tool, decision=decision, by=by, at=at, comment=comment,
            arguments_hash=pending.arguments_hash, edited_arguments=edited_arguments, reason=pending.reason,
            verified=verified, proof=proof,
        )
        self.decided[tool_call_id] = record
        return record

    def close(self, tool_call_id: str) -> ApprovalRecord:
        """Move a decided call out of `pending` into the audit history."""
        self.pending.pop(tool_call_id)
        record = self.decided.pop(tool_call_id)
        self.history.append(record)
        return record

    def undecided(self) -> list[str]:
        """Pending calls nobody has decided yet, in id order: what approve_all decides."""
        return sorted(i for i in self.pending if i not in self.decided)

    def problem_with_resolution(self, tool_call_id: str) -> str | None:
        if tool_call_id in self.resolutions:
            return f"tool call {tool_call_id!r} already has a decision being applied"
        if tool_call_id not in self.unresolved:
            waiting = ", ".join(sorted(self.unresolved)) or "none"
            return f"no call with an unknown outcome has id {tool_call_id!r} (waiting: {waiting})"
        return None
