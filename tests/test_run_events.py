"""A run's event stream, followed as a client follows it: live, from an offset, across continue-as-new.

The follower here uses only the stream (temporalio.contrib.workflow_streams) to know what the run is
doing: it approves the call when the stream says one waits, never by polling the state query.
"""

from __future__ import annotations

import uuid

from temporalio.client import Client
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from tests.conftest import dev_server_config, make_worker
from tests.scripted import ScriptedModel, call, final
from worker.codec import project_data_converter
from worker.devserver import DevServer
from workflows.agent_run import AgentRun
from workflows.contracts import (
    EVENTS_TOPIC,
    ApproveInput,
    Budgets,
    RunEvent,
    RunRequest,
    RunResult,
    RunStatus,
)


async def _follow(client: Client, workflow_id: str, from_offset: int = 0, on_event=None) -> list[tuple[int, RunEvent]]:
    """Every event from `from_offset` until the run's result, with its offset."""
    stream = WorkflowStreamClient.create(client, workflow_id)
    seen: list[tuple[int, RunEvent]] = []
    async for item in stream.subscribe([EVENTS_TOPIC], from_offset=from_offset, result_type=RunEvent):
        seen.append((item.offset, item.data))
        if on_event is not None:
            await on_event(item.data)
        if item.data.kind == "result":
            break
    return seen


async def test_a_follower_sees_the_run_live_and_resumes_from_any_offset(dev_client, settings):
    model = ScriptedModel(call("write_file", path="out.txt", content="x"), final("written"))
    async with make_worker(dev_client, settings, model):
        handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="write a file"),
                                                 id=f"events-{uuid.uuid4()}", task_queue=settings.task_queue,
                                                 result_type=RunResult)

        async def approve_when_asked(event: RunEvent) -> None:
            if event.kind == "approval_needed":
                await handle.execute_update(AgentRun.approve, ApproveInput(tool_call_id=event.call_id or "",
                                                                           approver="ops"))

        events = await _follow(dev_client, handle.id, on_event=approve_when_asked)
        result = await handle.result()
        # A follower that lost its connection after the approval resumes from the next offset.
        decided = next(offset for offset, e in events if e.kind == "approval_decided")
        tail = await _follow(dev_client, handle.id, from_offset=decided + 1)

    assert result.status == RunStatus.COMPLETED
    assert [offset for offset, _ in events] == list(range(len(events)))  # every event once, in order
    kinds = [e.kind for _, e in events]
    for before, after in [("step_started", "tool_proposed"), ("tool_proposed", "approval_needed"),
                          ("approval_needed", "approval_decided"), ("approval_decided", "tool_started"),
                          ("tool_started", "tool_finished"), ("tool_finished", "step_finished")]:
        assert kinds.index(before) < kinds.index(after), kinds
    assert [e.step for e in (e for _, e in events) if e.kind == "step_started"] == [1, 2]
    by_kind = {e.kind: e for _, e in events}
    assert by_kind["tool_proposed"].verdict == "ask" and by_kind["tool_proposed"].tool == "write_file"
    assert by_kind["approval_decided"].decision == "approved" and by_kind["approval_decided"].by == "ops"
    assert by_kind["tool_finished"].result_status == "ok" and by_kind["tool_finished"].step == 1
    assert events[-1][1].kind == "result" and events[-1][1].status == "completed"
    assert events[-1][1].message == "written"
    assert [s for _, e in events if e.kind == "status" for s in [e.status]][-1] == "completed"
    assert tail == events[decided + 1:]


async def test_a_follower_follows_the_run_across_continue_as_new(tmp_path, settings):
    """With a low event threshold the run hands over several times; the follower sees each step once,
    with offsets that go on across the hand-overs."""
    config = dev_server_config(tmp_path, **{"limit.historyCount.suggestContinueAsNew": 40})
    server = DevServer(config, log_path=tmp_path / "server.log").start()
    try:
        client = await Client.connect(config.address, data_converter=project_data_converter())
        model = ScriptedModel(*[call("calculator", expression=f"{i}+{i}") for i in range(8)], final("done"))
        async with make_worker(client, settings, model):
            handle = await client.start_workflow(
                AgentRun.run, RunRequest(goal="add", budgets=Budgets(max_steps=20)),
                id=f"events-can-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult)
            events = await _follow(client, handle.id)
            result = await handle.result()
            state = await handle.query(AgentRun.state)
    finally:
        server.stop()
    assert result.status == RunStatus.COMPLETED and state.continued_runs >= 2
    assert [offset for offset, _ in events] == list(range(len(events)))
    assert [e.step for _, e in events if e.kind == "step_started"] == list(range(1, 10))
    finished = [(e.step, e.result_status) for _, e in events if e.kind == "tool_finished"]
    assert finished == [(step, "ok") for step in range(1, 9)]
    assert events[-1][1].kind == "result" and events[-1][1].message == "done"


async def test_a_budget_warning_comes_once_in_the_step_that_passes_four_fifths(dev_client, settings):
    model = ScriptedModel(*[call("calculator", expression=f"{i}*2") for i in range(4)], final("done"))
    async with make_worker(dev_client, settings, model):
        handle = await dev_client.start_workflow(
            AgentRun.run, RunRequest(goal="double", budgets=Budgets(max_steps=5)),
            id=f"events-budget-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult)
        events = await _follow(dev_client, handle.id)
    warnings = [(e.step, e.budget, e.message) for _, e in events if e.kind == "budget_warning"]
    assert warnings == [(4, "steps", "steps: 4 of 5 used")]
    assert events[-1][1].status == "completed"
