"""A tool that hangs past its timeout: its thread cannot be killed, so the next attempt must wait for
it (the lease) instead of acting again; and hung tools must not starve other runs."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from temporalio.api.enums.v1 import PendingActivityState

from tests.conftest import eventually, make_worker
from tests.effect_tools import EFFECTS, GATES, effect_lines
from tests.scripted import ScriptedModel, call, final
from workflows.agent_run import AgentRun
from workflows.contracts import DecideInput, Decision, RunRequest, RunResult, RunStatus

EFFECT_TOOLS = "tests.effect_tools"


@pytest.fixture(autouse=True)
def effects_file(tmp_path):
    EFFECTS["file"] = tmp_path / "effects.txt"
    yield EFFECTS["file"]
    for gate in GATES.values():
        gate.set()  # never leave a tool thread hanging past its test


def tool_then_answer(tool: str, label: str):
    def step(input: DecideInput) -> Decision:
        done = [m.content for m in input.messages if m.role == "tool"]
        return final(done[0]) if done else call(tool, label=label)

    return step


def retried(handle):
    """The second attempt is running (not merely scheduled) while the first one still hangs."""
    async def check() -> bool:
        pending = (await handle.describe()).raw_description.pending_activities
        return any(a.activity_type.name == "tools.execute" and a.attempt >= 2
                   and a.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED for a in pending)

    return check


@pytest.mark.parametrize("tool", ["hung_keyed", "hung_once"])
async def test_a_tool_that_hangs_past_its_timeout_acts_once(dev_client, settings, tool):
    """The first attempt times out while its handler still runs; the retry waits for it and returns
    its receipt. Before the lease, a keyed retry reconciled too early and acted again, and a
    not-idempotent one became outcome_unknown and waited for a person."""
    label = f"{tool}-{uuid.uuid4().hex[:6]}"
    model = ScriptedModel(tool_then_answer(tool, label))
    async with make_worker(dev_client, settings, model, EFFECT_TOOLS):
        handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="act"), id=f"hung-{uuid.uuid4()}",
                                                 task_queue=settings.task_queue, result_type=RunResult)
        await eventually(retried(handle), timeout_s=30, what="the retry of the timed-out attempt")
        GATES.setdefault(label, threading.Event()).set()  # the first attempt acts now, after its timeout
        result = await asyncio.wait_for(handle.result(), 60)
    assert result.status == RunStatus.COMPLETED
    assert effect_lines() == [label]
    assert '"status":"ok"' in result.answer


async def test_hung_tools_do_not_starve_other_runs(dev_client, settings):
    """Eight runs hang in their tools (more than the event loop's default thread pool holds); a ninth
    run's tool call still completes while they hang."""
    async with make_worker(dev_client, settings, ScriptedModel(_route), EFFECT_TOOLS):
        hung = [await dev_client.start_workflow(AgentRun.run, RunRequest(goal=f"hang {n}"), id=f"hang-{uuid.uuid4()}",
                                                task_queue=settings.task_queue, result_type=RunResult)
                for n in range(8)]
        for handle in hung:
            await eventually(_running_tool(handle), timeout_s=30, what="the hung tools to start")
        other = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="add"), id=f"free-{uuid.uuid4()}",
                                                task_queue=settings.task_queue, result_type=RunResult)
        result = await asyncio.wait_for(other.result(), 30)
        still_hung = sum(not GATES.setdefault(f"hang {n}", threading.Event()).is_set() for n in range(8))
        for n in range(8):
            GATES[f"hang {n}"].set()
        finished = await asyncio.gather(*(h.result() for h in hung))
    assert result.status == RunStatus.COMPLETED and '"value":4' in result.answer
    assert still_hung == 8
    assert all(r.status == RunStatus.COMPLETED for r in finished)
    assert sorted(effect_lines()) == sorted(f"hang {n}" for n in range(8))


def _route(input: DecideInput) -> Decision:
    """Runs whose goal is "hang N" call the hung tool with label "hang N"; any other run adds."""
    done = [m.content for m in input.messages if m.role == "tool"]
    if done:
        return final(done[0])
    prompt = "\n".join(m.content for m in input.messages)
    hang = next((f"hang {n}" for n in range(8) if f"hang {n}" in prompt), None)
    return call("hung_keyed", label=hang) if hang else call("calculator", expression="2+2")


def _running_tool(handle):
    async def check() -> bool:
        pending = (await handle.describe()).raw_description.pending_activities
        return any(a.activity_type.name == "tools.execute" for a in pending)

    return check
