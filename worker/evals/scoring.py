"""The activities of online scoring (workflows/scoring.py): list the runs to consider, score one.

A finished run is observed as the eval runner observes a case's run: its state query (status, answer,
steps, usage, approvals) and its history (the tool calls, with arguments). Then the checks of the eval
suite format are evaluated on it; a rubric check asks the judge model through this worker's gateway. Checks of workspace files read nothing here: a scorer has no
access to a run's workspace, so they fail with that reason.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from activities.judge import JudgeActivities
from worker.evals.checks import Check, parse_check
from worker.evals.judging import judge_rubrics
from worker.evals.outcome import Outcome
from worker.evals.recorded import NotARun, RecordedRun, read_run
from worker.evals.runner import read_state, tool_call_records
from workflows.contracts import JudgeInput, JudgeVerdict, ListRunsInput, RunScore, ScoreRunInput


def _rule_checks(raw: list[Any]) -> list[Check]:
    try:
        return [parse_check(i, item) for i, item in enumerate(raw)]
    except ValueError as e:  # the same input would fail the same way on every retry
        raise ApplicationError(f"not a check: {e}", type="BadCheck", non_retryable=True) from None


class ScoringActivities:
    def __init__(self, judge: JudgeActivities) -> None:
        self.judge = judge

    @activity.defn(name="scoring.list_runs")
    async def list_runs(self, input: ListRunsInput) -> list[str]:
        """The runs the query finds, oldest first, that have no score yet (after checking the checks)."""
        _rule_checks(input.checks)
        client = activity.client()
        found: list[str] = []
        async for run in client.list_workflows(input.query, limit=input.max_runs * 4):
            if run.id in found or run.id.startswith("score-"):
                continue
            try:
                await client.get_workflow_handle(f"score-{run.id}").describe()
                continue  # scored on an earlier pass
            except RPCError as e:
                if e.status != RPCStatusCode.NOT_FOUND:
                    raise
            found.append(run.id)
            if len(found) == input.max_runs:
                break
        return found[::-1]

    @activity.defn(name="scoring.score_run")
    async def score_run(self, input: ScoreRunInput) -> RunScore:
        checks = _rule_checks(input.checks)
        client = activity.client()
        handle = client.get_workflow_handle(input.workflow_id)
        outcome = Outcome(case_id=input.workflow_id, workflow_id=input.workflow_id, status="error")
        await read_state(handle, outcome)
        try:
            recorded: RecordedRun | None = await read_run(client, input.workflow_id)
        except NotARun:
            recorded = None  # the query found another kind of workflow: it made no tool calls
        outcome.tool_calls = tool_call_records(recorded, outcome.approvals)
        await judge_rubrics(checks, outcome, outcome.goal, self._ask)
        results = [check.evaluate(outcome) for check in checks]
        met = sum(r.passed for r in results)
        return RunScore(workflow_id=input.workflow_id, score=met / len(results), status=outcome.status,
                        failed=[f"{r.check}: {r.detail}" for r in results if not r.passed])

    async def _ask(self, request: JudgeInput, index: int) -> JudgeVerdict:
        try:
            return await self.judge.verdict(request)
        except ApplicationError as e:
            if not e.non_retryable:
                raise  # a judge model down for a moment: the activity retries, the score is not lowered
            # A judge that cannot answer (no such model, a bad request): the check fails, saying why.
            return JudgeVerdict(model=request.model or "", reason=f"the judge failed: {e.message}")
