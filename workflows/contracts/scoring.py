"""Online scoring: a sample of finished runs, checked by rules, each score kept where visibility finds it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from workflows.contracts.base import UserInput, Wire


class ScoreRunsInput(UserInput):
    query: str = Field(default='WorkflowType="AgentRun" AND ExecutionStatus!="Running"',
                       description="a visibility query for the runs to consider (finished AgentRuns)")
    sample_rate: float = Field(default=0.1, ge=0, le=1, description="the share of those runs scored, chosen by id")
    max_runs: int = Field(default=100, ge=1, le=1000, description="at most this many runs considered")
    checks: list[dict[str, Any]] = Field(min_length=1, description="rule checks, in the eval suite's syntax "
                                         "(docs/evals.md); a run's score is the share it meets")


class ListRunsInput(Wire):
    query: str
    max_runs: int
    checks: list[dict[str, Any]] = Field(default_factory=list, description="checked first: a bad one fails the pass")


class ScoreRunInput(Wire):
    workflow_id: str
    checks: list[dict[str, Any]]


class RunScore(Wire):
    workflow_id: str
    score: float = Field(ge=0, le=1)
    status: str = ""
    failed: list[str] = Field(default_factory=list, description="each check the run missed, and why")


class ScoreRunsResult(Wire):
    scored: list[RunScore] = Field(default_factory=list)
    already_scored: int = 0
    not_sampled: int = 0
