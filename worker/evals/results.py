"""A suite run's results: each run's outcome and checks, summed per case and for the suite.

This is the JSON `run --out` writes and `compare` reads. Counts (passed, runs) are the data; rates
and Wilson intervals are derived, and written alongside for people and other tools to read.
"""

from __future__ import annotations

import statistics
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError, computed_field

from worker.evals.checks import CheckResult
from worker.evals.outcome import Outcome
from worker.evals.stats import wilson
from worker.evals.suite import Case

RESULTS_VERSION = 1


class RunRecord(BaseModel):
    outcome: Outcome
    checks: list[CheckResult] = Field(default_factory=list)
    passed: bool | None = Field(description="None: skipped (the case could not run on this worker)")

    @property
    def failures(self) -> list[CheckResult]:
        return [c for c in self.checks if not c.passed]


def judge(case: Case, outcome: Outcome) -> RunRecord:
    """Evaluate every check of the case; a skipped run is neither passed nor failed."""
    if outcome.skipped:
        return RunRecord(outcome=outcome, passed=None)
    checks = [check.evaluate(outcome) for check in case.checks]
    if outcome.error and outcome.status in ("error", "timed_out"):
        checks.insert(0, CheckResult(check="run", passed=False, detail=outcome.error))
    return RunRecord(outcome=outcome, checks=checks, passed=all(c.passed for c in checks))


def _mean(values: list[float]) -> float:
    return round(statistics.fmean(values), 6) if values else 0.0


class CaseResult(BaseModel):
    id: str
    tags: list[str] = Field(default_factory=list)
    records: list[RunRecord] = Field(default_factory=list)

    @property
    def counted(self) -> list[RunRecord]:
        return [r for r in self.records if r.passed is not None]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def runs(self) -> int:
        return len(self.counted)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> int:
        return sum(1 for r in self.counted if r.passed)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def skipped(self) -> int:
        return len(self.records) - len(self.counted)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def interval(self) -> tuple[float, float]:
        low, high = wilson(self.passed, self.runs)
        return round(low, 4), round(high, 4)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def mean(self) -> dict[str, float]:
        """Means over the runs that were counted: steps, tokens, cost_usd, latency_s."""
        outcomes = [r.outcome for r in self.counted]
        return {"steps": _mean([o.steps for o in outcomes]), "tokens": _mean([o.total_tokens for o in outcomes]),
                "cost_usd": _mean([o.cost_usd for o in outcomes]), "latency_s": _mean([o.latency_s for o in outcomes])}


class SuiteResult(BaseModel):
    version: int = RESULTS_VERSION
    suite: str
    suite_file: str = ""
    label: str = Field(default="", description="what was evaluated: the oracle mode, a model, a prompt version")
    started_at: datetime
    finished_at: datetime
    repeat: int = 1
    cases: list[CaseResult]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def runs(self) -> int:
        return sum(c.runs for c in self.cases)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> int:
        return sum(c.passed for c in self.cases)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def skipped(self) -> int:
        return sum(c.skipped for c in self.cases)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def interval(self) -> tuple[float, float]:
        low, high = wilson(self.passed, self.runs)
        return round(low, 4), round(high, 4)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def models(self) -> list[str]:
        return sorted({m for c in self.cases for r in c.records for m in r.outcome.models})

    @property
    def pass_rate(self) -> float:
        return self.passed / self.runs if self.runs else 0.0

    def write(self, path: Path) -> None:
        path.write_text(self.model_dump_json(indent=2) + "\n")


class ResultsError(ValueError):
    pass


def read_results(path: Path) -> SuiteResult:
    try:
        return SuiteResult.model_validate_json(path.read_text())
    except OSError as e:
        raise ResultsError(f"{path}: cannot read: {e.strerror}") from None
    except ValidationError as e:
        first = e.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ResultsError(f"{path}: not an eval results file ({where}: {first['msg']})") from None


def collect(cases: list[Case], outcomes: list[Outcome]) -> list[CaseResult]:
    by_case: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_case.setdefault(outcome.case_id, []).append(outcome)
    return [CaseResult(id=case.id, tags=case.tags,
                       records=[judge(case, o) for o in sorted(by_case.get(case.id, []), key=lambda o: o.repeat)])
            for case in cases]
