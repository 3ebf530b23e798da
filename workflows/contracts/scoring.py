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
    checks: list[dict[str, Any]] = Field(min_length=1, description="checks (rule or rubric), in the eval suite syntax "
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


class JudgeInput(Wire):
    """A rubric check's question to a judge model: does this answer to this goal meet the criteria?"""

    goal: str
    answer: str | None
    criteria: str = Field(min_length=1, max_length=4000)
    model: str | None = Field(default=None, description="the judge; None: the first model of the plan route")


class JudgeVerdict(Wire):
    model: str = Field(description="the model that judged, or '' when none was asked")
    grade: int | None = Field(default=None, ge=1, le=5, description="1 (fails the criteria) to 5 (fully meets "
                              "them); None when there was no verdict")
    reason: str = ""
    cost_usd: float = 0.0

    @property
    def score(self) -> float:
        """The grade as a share, 1 -> 0.0 and 5 -> 1.0; 0.0 without a verdict."""
        return 0.0 if self.grade is None else (self.grade - 1) / 4
