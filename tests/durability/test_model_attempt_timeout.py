"""A worker that dies or hangs during a model call's last attempt: the activity times out, and the run
treats that as the transient failure it is (waits, tries the route again) instead of failing with an
earlier attempt's provider error. Found by the fault matrix (tests/benchmarks/fault_matrix.py)."""

from __future__ import annotations

import asyncio
import uuid

from temporalio import activity
from temporalio.exceptions import ApplicationError

from tests.conftest import make_worker
from tests.scripted import ScriptedModel, final
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, RunStatus
from workflows.contracts.context import DecideWithContextInput, DecideWithContextResult


class DiesOnTheLastAttempt(ScriptedModel):
    """Four provider errors, then an attempt that never answers nor heartbeats (its worker is gone),
    then a healthy model."""

    def __init__(self, *script) -> None:
        super().__init__(*script)
        self.attempts = 0

    @activity.defn(name="model.decide_with_context")
    async def decide_with_context(self, input: DecideWithContextInput) -> DecideWithContextResult:
        self.attempts += 1
        if self.attempts <= 4:
            raise ApplicationError("HTTP 500: upstream crashed", type="Provider.unavailable")
        if self.attempts == 5:
            await asyncio.sleep(3600)  # a dead worker: no answer, no heartbeat
        return await super().decide_with_context(input)


async def test_a_timed_out_last_model_attempt_does_not_fail_the_run(ts_env, settings):
    model = DiesOnTheLastAttempt(final("done"))
    async with make_worker(ts_env.client, settings, model):
        handle = await ts_env.client.start_workflow(AgentRun.run, RunRequest(goal="answer"), id=f"dies-{uuid.uuid4()}",
                                                    task_queue=settings.task_queue, result_type=RunResult)
        result = await handle.result()
        state = await handle.query(AgentRun.state)
    assert result.status == RunStatus.COMPLETED and result.answer == "done", result
    assert model.attempts == 6
    assert any("timeout of the model activity" in e.reason for e in state.model_events), state.model_events
