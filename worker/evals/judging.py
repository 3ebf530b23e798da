"""Ask the judge for each rubric check of a run, before the checks are evaluated.

The verdicts go into the outcome (`Outcome.judged`), where the rubric checks read them: checks stay
pure, and a results file keeps what the judge said. A judge that fails (its model down, a bad model
name) leaves a verdict without a grade that says why: the check fails, the suite goes on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from temporalio.client import Client
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError

from worker.evals.checks import Check, Rubric
from worker.evals.outcome import Outcome
from workflows.contracts import JudgeInput, JudgeVerdict

Ask = Callable[[JudgeInput, int], Awaitable[JudgeVerdict]]


async def judge_rubrics(checks: Sequence[Check], outcome: Outcome, goal: str, ask: Ask) -> None:
    for index, check in enumerate(c for c in checks if isinstance(c, Rubric)):
        key = check.label()
        if key in outcome.judged:
            continue
        request = JudgeInput(goal=goal, answer=outcome.answer, criteria=check.criteria, model=check.model)
        try:
            outcome.judged[key] = await ask(request, index)
        except (RPCError, TemporalError) as e:
            outcome.judged[key] = JudgeVerdict(model=check.model or "", reason=f"the judge failed: {_cause(e)}")


def through_worker(client: Client, task_queue: str, workflow_id: str) -> Ask:
    """Ask through a `JudgeAnswer` workflow on the worker's queue, one per rubric check of the run."""

    async def ask(request: JudgeInput, index: int) -> JudgeVerdict:
        return await client.execute_workflow("JudgeAnswer", request, id=f"judge-{workflow_id}-{index}",
                                             task_queue=task_queue, result_type=JudgeVerdict)

    return ask


def _cause(error: BaseException) -> str:
    while error.__cause__ is not None:
        error = error.__cause__
    return str(error)[:300]
