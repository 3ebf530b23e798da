"""Long runs under lowered history limits: linear history, continue-as-new, compaction with P0 intact."""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.worker import Worker

from activities.gateway.breaker import BreakerRegistry
from tests.benchmarks.baseline_workflow import ByValueLoop, echo_transcript
from tests.conftest import (
    dev_server_config,
    make_worker,
    registry_with,
    run_workspace,
    wire_model,
    write_models_file,
)
from tests.gateway.test_runs_through_the_gateway import gateway_worker
from tests.scripted import ScriptedModel, call, final
from tests.test_replay import replayer
from tests.wire_server import ModelWireServer
from worker.codec import project_data_converter
from worker.devserver import DevServer
from worker.main import WORKFLOWS
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, DecideInput, Decision, RunRequest, RunResult, RunStatus
from workflows.contracts.prompt import SYSTEM_PROMPT

LIMITS = {
    "limit.historyCount.error": 200,
    "limit.historySize.error": 300_000,
    "limit.historyCount.suggestContinueAsNew": 40,
    "limit.historySize.suggestContinueAsNew": 100_000,
}


@pytest.fixture
async def limited(tmp_path):
    """A dev server whose per-run history limits a by-value design cannot live within."""
    server = DevServer(dev_server_config(tmp_path, **LIMITS), log_path=tmp_path / "server.log").start()
    try:
        yield await Client.connect(server.config.address, data_converter=project_data_converter())
    finally:
        server.stop()


def counting_model(steps: int, payload: int = 2048) -> ScriptedModel:
    def next_step(input: DecideInput) -> Decision:
        done = sum(m.role == "tool" for m in input.messages)
        return call("calculator", expression=f"{done}+{'0' * 0}1") if done < steps - 1 else final(f"{done} steps")

    return ScriptedModel(next_step)


async def count_to_the_end(client: Client, settings, model: ScriptedModel, max_steps: int
                           ) -> tuple[RunResult, list[WorkflowHistory]]:
    """Run a counting model to its final answer; return the result and the history of every run."""
    async with make_worker(client, settings, model):
        handle = await client.start_workflow(
            AgentRun.run, RunRequest(goal="count", budgets=Budgets(max_steps=max_steps, max_tokens=10_000_000)),
            id=f"count-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult)
        result = await handle.result()
        runs = [e async for e in client.list_workflows(f'WorkflowId="{handle.id}"')]
        histories = [await client.get_workflow_handle(handle.id, run_id=r.run_id).fetch_history() for r in runs]
    return result, histories


async def test_300_step_run_completes_within_limits_a_by_value_design_exceeds(limited, settings):
    """300 steps complete by continuing as new with the transcript by reference; every run replays; the
    by-value loop dies on the same server."""
    model = counting_model(300)
    result, histories = await count_to_the_end(limited, settings, model, max_steps=400)
    assert result.status == RunStatus.COMPLETED and result.steps == 300 and result.usage.tool_calls == 299
    assert len(histories) > 5 and max(len(h.events) for h in histories) < LIMITS["limit.historyCount.error"]
    assert max(len(h.to_json()) for h in histories) < LIMITS["limit.historySize.error"]
    # the last prompt was rebuilt from the stored chain: every tool result of every earlier run is in it
    assert sum(m.role == "tool" for m in model.calls[-1].messages) == 299
    for history in histories:
        assert (await replayer(WORKFLOWS).replay_workflow(history, raise_on_replay_failure=False)).replay_failure is None

    queue = f"byvalue-{uuid.uuid4()}"
    async with Worker(limited, task_queue=queue, workflows=[ByValueLoop], activities=[echo_transcript]):
        by_value = await limited.start_workflow(ByValueLoop.run, 300, id=f"byvalue-{uuid.uuid4()}", task_queue=queue)
        with pytest.raises(WorkflowFailureError):
            await by_value.result()
    assert (await by_value.describe()).status.name == "TERMINATED"


def summarizing(tool_output: int):
    """A model server that reads the log until its prompt holds a summary and 2 results after it."""

    def respond(body: dict) -> str:
        system = body["messages"][0]["content"]
        if system.startswith("You compress"):
            return "Earlier: the calculator returned 1 for each early step."
        contents = [m["content"] for m in body["messages"]]
        summarized = any("Summary of earlier turns" in c for c in contents)
        results = sum(c.startswith("Result of tool") for c in contents)
        if summarized and results >= 2:
            return json.dumps({"action": "final_answer", "answer": "done"})
        return json.dumps({"action": "call_tool", "tool": "read_file", "arguments": {"path": "big.txt"}})

    return respond


async def test_compaction_keeps_p0_and_a_continued_run_resumes_with_the_summary(limited, settings):
    """A small window forces compaction (an activity in history); P0 stays verbatim; after continue-as-new
    the prompt still holds the summary."""
    with ModelWireServer(summarizing(3000)) as server:
        path = write_models_file(settings.data_dir.parent / "m.yaml",
                                 wire_model("small", server, context_window=3000, max_output_tokens=128))
        settings.workspaces.mkdir(parents=True, exist_ok=True)
        async with gateway_worker(limited, settings, path, BreakerRegistry()):
            run_id = f"compact-{uuid.uuid4()}"
            # Started paused, so the log is in the run's workspace before its first step reads it.
            handle = await limited.start_workflow(
                AgentRun.run, RunRequest(goal="read the log until you know it", max_output_tokens=128,
                                         allowed_tools=["read_file"],
                                         budgets=Budgets(max_steps=40)),
                id=run_id, task_queue=settings.task_queue, result_type=RunResult, start_signal="pause")
            run_workspace(settings, handle).mkdir(parents=True)
            (run_workspace(settings, handle) / "big.txt").write_text("line of log output\n" * 150)
            await handle.signal(AgentRun.resume)
            result = await handle.result()
            state = await handle.query(AgentRun.state)
    assert result.status == RunStatus.COMPLETED and state.compactions and state.continued_runs >= 1
    decisions = [r for r in server.requests if not r["messages"][0]["content"].startswith("You compress")]
    last = decisions[-1]["messages"]
    assert last[0]["content"].startswith(SYSTEM_PROMPT) and last[1]["content"] == "Goal: read the log until you know it"
    assert any("Summary of earlier turns" in m["content"] for m in last)
    record = state.compactions[0]
    assert record.tokens_after < record.tokens_before and record.previous_head


async def test_tool_catalogue_is_stored_once_and_named_by_every_model_call(limited, settings):
    """The catalogue lands in history once per workflow id (context.store_tools); each model call carries
    only its digest, across continue-as-new, and the model still sees every tool at every step."""
    model = counting_model(30)
    result, histories = await count_to_the_end(limited, settings, model, max_steps=40)
    assert result.status == RunStatus.COMPLETED and len(histories) > 1
    stores, refs = 0, set()
    for history in histories:
        for event in history.events:
            attrs = event.activity_task_scheduled_event_attributes
            if not event.HasField("activity_task_scheduled_event_attributes"):
                continue
            if attrs.activity_type.name == "context.store_tools":
                stores += 1
            if attrs.activity_type.name == "model.decide_with_context":
                sent = json.loads(attrs.input.payloads[0].data)
                assert sent["decide"]["tools"] == [] and sent["tools_ref"].startswith("sha256:")
                refs.add(sent["tools_ref"])
    assert stores == 1 and len(refs) == 1
    names = {t.name for t in registry_with().specs()}
    assert all({t.name for t in call.tools} == names for call in model.calls) and len(model.calls) == 30
