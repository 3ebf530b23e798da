"""Long runs continue as new when Temporal suggests it, and keep their state across the hand-over."""

from __future__ import annotations

import uuid

from temporalio.client import Client

from tests.conftest import dev_server_config, make_worker
from tests.scripted import ScriptedModel, call, final
from worker.codec import project_data_converter
from worker.devserver import DevServer
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, RunRequest, RunResult, RunStatus


async def test_run_continues_as_new_and_keeps_its_state(tmp_path, settings):
    """With a low event threshold the run hands over several times; counts and transcript carry over."""
    config = dev_server_config(tmp_path, **{"limit.historyCount.suggestContinueAsNew": 40})
    server = DevServer(config, log_path=tmp_path / "server.log").start()
    try:
        client = await Client.connect(config.address, data_converter=project_data_converter())
        model = ScriptedModel(*[call("calculator", expression=f"{i}+{i}") for i in range(10)], final("done"))
        async with make_worker(client, settings, model):
            handle = await client.start_workflow(
                AgentRun.run, RunRequest(goal="add", budgets=Budgets(max_steps=20)),
                id=f"can-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult,
            )
            result = await handle.result()
            state = await handle.query(AgentRun.state)
            runs = [e async for e in client.list_workflows(f'WorkflowId="{handle.id}"')]
    finally:
        server.stop()
    assert result.status == RunStatus.COMPLETED and result.steps == 11
    assert result.usage.model_calls == 11 and result.usage.tool_calls == 10
    assert state.continued_runs == len(runs) - 1 >= 2
    last_prompt = model.calls[-1].messages
    assert [m.content.split("\n")[0] for m in last_prompt if m.role == "tool"] == [
        f'{{"data":{{"expression":"{i}+{i}","value":{2 * i}}},"message":"","retryable":false,"status":"ok"}}' for i in range(10)
    ]
