"""A long run's checkpoint stays O(1): older approvals, model events and compactions go to the blob
store at continue-as-new; the state shows the recent ones and how many were archived."""

from __future__ import annotations

import uuid

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowUpdateFailedError

from activities.context.archive import read_archive
from tests.conftest import dev_server_config, make_worker
from tests.scripted import ScriptedModel, call, final
from worker.blobs import open_blob_store
from worker.codec import project_data_converter
from worker.devserver import DevServer
from workflows.agent_run import RECENT_RECORDS, AgentRun
from workflows.contracts import ApproveAllInput, Budgets, RunRequest, RunResult, RunStatus

STEPS = RECENT_RECORDS + 12


async def carry_sizes(client: Client, workflow_id: str) -> list[int]:
    """The continue-as-new input of each run of the chain, oldest first, in bytes."""
    sizes = []
    runs = [r async for r in client.list_workflows(f'WorkflowId="{workflow_id}"')]
    for run in sorted(runs, key=lambda r: r.start_time):
        history = await client.get_workflow_handle(workflow_id, run_id=run.run_id).fetch_history()
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                attrs = event.workflow_execution_continued_as_new_event_attributes
                sizes.append(sum(p.ByteSize() for p in attrs.input.payloads))
    return sizes


async def test_approvals_past_the_recent_window_are_archived_and_the_carry_stops_growing(tmp_path, settings):
    config = dev_server_config(tmp_path, **{"limit.historyCount.suggestContinueAsNew": 60})
    server = DevServer(config, log_path=tmp_path / "server.log").start()
    try:
        client = await Client.connect(config.address, data_converter=project_data_converter())
        model = ScriptedModel(*[call("calculator", expression=f"{i}+1") for i in range(STEPS)], final("done"))
        async with make_worker(client, settings, model):
            handle = await client.start_workflow(
                AgentRun.run, RunRequest(goal="add", approval_risk_level=0, budgets=Budgets(max_steps=STEPS + 5)),
                id=f"long-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult)
            approved = 0
            while approved < STEPS:
                try:
                    approved += len(await handle.execute_update(AgentRun.approve_all, ApproveAllInput(approver="ops")))
                except WorkflowUpdateFailedError:
                    pass  # between two waits: nothing pending yet
            result = await handle.result()
            state = await handle.query(AgentRun.state)
            sizes = await carry_sizes(client, handle.id)
    finally:
        server.stop()
    assert result.status == RunStatus.COMPLETED and state.continued_runs >= 3
    # The state holds what the last checkpoint kept (at most RECENT_RECORDS) plus what came after it.
    assert state.archived.approvals > 0 and len(state.approvals) + state.archived.approvals == STEPS
    archived = read_archive(open_blob_store(settings.blob_store, data_dir=settings.data_dir), state.archived.head)
    assert [a["tool_call_id"] for a in archived["approvals"]] == [f"call-{i}-1" for i in range(1, state.archived.approvals + 1)]
    assert state.approvals[0].tool_call_id == f"call-{state.archived.approvals + 1}-1"
    # The carry grew while approvals accumulated, then stopped once RECENT_RECORDS of them rode in it
    # (the last hand-overs differ by a few digits of counts and step numbers at most).
    assert sizes[-1] > sizes[0] and max(sizes[-4:]) - min(sizes[-4:]) <= 32, sizes
