"""A run with the real embedded model (llama.cpp, Qwen2.5-Coder 0.5B) through a real worker."""

from __future__ import annotations

import uuid

from tests.processes import WorkerProcess
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, RunStatus


async def test_embedded_model_calls_a_tool_and_answers(dev_client, dev_server, llama_server, tmp_path):
    """The small local model calls the calculator, reads its result and gives the final answer."""
    queue = f"tq-{uuid.uuid4()}"
    with WorkerProcess(dev_server.config.address, queue, tmp_path / "data", llama_server.base_url):
        handle = await dev_client.start_workflow(
            AgentRun.run,
            RunRequest(goal="What is 1234 * 5678? Use the calculator tool, then give the number."),
            id=f"embedded-{uuid.uuid4()}",
            task_queue=queue,
            result_type=RunResult,
        )
        result = await handle.result()
        history = await handle.fetch_history()
    assert result.status == RunStatus.COMPLETED, result
    assert result.usage.tool_calls >= 1
    assert "7006652" in result.answer.replace(",", "")
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens > 0
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name
                 for e in history.events if e.HasField("activity_task_scheduled_event_attributes")]
    assert scheduled[:7] == ["stores.bind", "tools.list", "mcp.list_tools", "models.catalogue", "context.store_tools",
                             "model.decide_with_context", "tools.execute"]
