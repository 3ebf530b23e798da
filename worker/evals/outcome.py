"""What one eval run produced, as the checks read it: plain data, gathered by the runner from the run's
state query, its event stream, its history and its workspace (worker/evals/runner.py).

Keeping it a plain model lets the checks be tested on crafted outcomes, without a worker.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from workflows.contracts import JudgeVerdict


class ToolCallRecord(BaseModel):
    """One call the model proposed, and what became of it."""

    id: str = Field(description="the run's call id, call-<step>-<index>")
    step: int
    tool: str
    arguments: dict[str, Any] | None = Field(default=None, description="as proposed; None when history lacked them")
    verdict: str | None = Field(default=None, description="what policy said (the tool_proposed event's verdict)")
    approval: str | None = Field(default=None, description="approved, rejected or expired, when a person was asked")
    ran: bool = Field(default=False, description="the tool was executed (tools.execute)")
    result_status: str | None = Field(default=None, description="ok, error or denied")
    ran_arguments: dict[str, Any] | None = Field(default=None, description="what ran, when an approval edited them")


class ApprovalSeen(BaseModel):
    """One line of the run's approval audit trail (state.approvals)."""

    tool_call_id: str
    tool: str
    decision: str
    by: str
    comment: str | None = None


class RunnerDecision(BaseModel):
    """What the eval runner did for the run: approved, rejected, or answered a question."""

    kind: str = Field(description="approve, reject or reply")
    call_id: str | None = None
    tool: str | None = None
    note: str = ""


class Outcome(BaseModel):
    case_id: str
    repeat: int = 0
    workflow_id: str = ""
    goal: str = ""
    status: str = Field(description="the run's final status, or timed_out / error when the runner could not finish it")
    answer: str | None = None
    reason: str | None = None
    steps: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    models: list[str] = Field(default_factory=list, description="models that took the run's steps")
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    approvals: list[ApprovalSeen] = Field(default_factory=list)
    questions: list[str] = Field(default_factory=list, description="what the run asked the person (ask_human)")
    decisions: list[RunnerDecision] = Field(default_factory=list)
    files: dict[str, str] | None = Field(default=None, description="the workspace after the run, path -> text; "
                                         "None when the runner could not read it")
    judged: dict[str, JudgeVerdict] = Field(default_factory=dict, description="each rubric check's verdict, by "
                                            "the check's label")
    error: str | None = Field(default=None, description="why the runner could not observe the run fully")
    skipped: str | None = Field(default=None, description="why the case could not run on this worker")

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def executed(self) -> list[ToolCallRecord]:
        return [c for c in self.tool_calls if c.ran]
