"""Online scoring: `ScoreRuns` scores a sample of finished runs with eval checks, one `RunScoreRecord` each.

An operator starts it once or on a Temporal Schedule (docs/evals.md, Online scoring). A closed run's
search attributes cannot change, so each score is a tiny workflow of its own, `score-<run id>`, whose
search attributes hold the score and the run it names:

    temporal workflow list -q 'WorkflowType="RunScoreRecord" AND AgentScore < 0.5'

The id makes a run scored once: a later pass skips it. The sample is chosen by a hash of the run's
id, so the same runs are chosen on every pass at one rate, and a pass's choice replays the same.
Scores also go to the `agent_run_score` histogram (silent while a worker replays).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.contracts import (
    JudgeInput,
    JudgeVerdict,
    ListRunsInput,
    RunScore,
    ScoreRunInput,
    ScoreRunsInput,
    ScoreRunsResult,
)
from workflows.search_attributes import AGENT_SCORE, AGENT_SCORED_RUN

SCORING_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30),
                            maximum_attempts=5)


def sampled(workflow_id: str, rate: float) -> bool:
    """Whether `workflow_id` falls in the sample: its hash, as a fraction, below `rate`."""
    fraction = int(hashlib.sha256(workflow_id.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return fraction < rate


@workflow.defn(name="RunScoreRecord")
class RunScoreRecord:
    """A run's score, findable by its search attributes; it only returns what it was given."""

    @workflow.run
    async def run(self, score: RunScore) -> RunScore:
        return score


@workflow.defn(name="JudgeAnswer")
class JudgeAnswer:
    """One rubric check of an eval case: the judge model's verdict on a run's answer (`evals.judge`).

    A workflow so that the eval runner, a client, reaches the worker's gateway; its history keeps
    the verdict and its cost."""

    @workflow.run
    async def run(self, input: JudgeInput) -> JudgeVerdict:
        return await workflow.execute_activity(
            "evals.judge", input, result_type=JudgeVerdict, start_to_close_timeout=timedelta(seconds=180),
            retry_policy=SCORING_RETRY, summary=f"judge: {input.criteria[:200]}")


@workflow.defn(name="ScoreRuns")
class ScoreRuns:
    @workflow.run
    async def run(self, input: ScoreRunsInput) -> ScoreRunsResult:
        ids: list[str] = await workflow.execute_activity(
            "scoring.list_runs", ListRunsInput(query=input.query, max_runs=input.max_runs, checks=input.checks), result_type=list[str],
            start_to_close_timeout=timedelta(seconds=60), retry_policy=SCORING_RETRY,
            summary=f"list the runs of: {input.query[:200]}")
        result = ScoreRunsResult()
        scores = workflow.metric_meter().create_histogram_float(
            "agent_run_score", "share of the checks a finished run met, per scored run")
        for workflow_id in ids:
            if not sampled(workflow_id, input.sample_rate):
                result.not_sampled += 1
                continue
            score: RunScore = await workflow.execute_activity(
                "scoring.score_run", ScoreRunInput(workflow_id=workflow_id, checks=input.checks), result_type=RunScore,
                start_to_close_timeout=timedelta(seconds=120), retry_policy=SCORING_RETRY,
                summary=f"score {workflow_id[:200]}")
            try:
                await workflow.start_child_workflow(
                    RunScoreRecord.run, score, id=f"score-{workflow_id}",
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, parent_close_policy=ParentClosePolicy.ABANDON,
                    search_attributes=TypedSearchAttributes([SearchAttributePair(AGENT_SCORE, score.score),
                                                             SearchAttributePair(AGENT_SCORED_RUN, workflow_id)]),
                    static_summary=f"score {score.score:.2f} of {workflow_id[:200]}")
            except WorkflowAlreadyStartedError:
                result.already_scored += 1
                continue
            scores.record(score.score)
            result.scored.append(score)
        return result
