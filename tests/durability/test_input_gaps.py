"""What people send is checked at the door, and refusals read well: a blank goal, an unknown model, an
update refused (not 'retryable') or sent without its input."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import WorkflowFailureError

from tests.conftest import eventually, make_worker
from tests.processes import temporal
from tests.scripted import ScriptedModel, call, final
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult


async def test_a_blank_goal_fails_the_run_at_once(dev_client, settings):
    async with make_worker(dev_client, settings, ScriptedModel(final("never"))):
        handle = await dev_client.start_workflow("AgentRun", {"goal": "   \n "}, id=f"blank-{uuid.uuid4()}",
                                                 task_queue=settings.task_queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    assert "goal is blank" in str(failed.value.cause)


async def test_an_unknown_model_is_refused_naming_the_known_ones(dev_client, settings):
    model = ScriptedModel(final("never"))
    async with make_worker(dev_client, settings, model):
        handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="x", model="gpt-99"),
                                                 id=f"model-{uuid.uuid4()}", task_queue=settings.task_queue)
        with pytest.raises(WorkflowFailureError) as failed:
            await handle.result()
    assert "unknown model 'gpt-99'" in str(failed.value.cause) and "['scripted']" in str(failed.value.cause)
    assert model.calls == []


async def test_refused_and_empty_updates_say_why_and_are_not_retryable(dev_client, dev_server, settings):
    address = dev_server.config.address
    async with make_worker(dev_client, settings, ScriptedModel(call("write_file", path="a", content="b"), final("ok"))):
        handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="write"), id=f"upd-{uuid.uuid4()}",
                                                 task_queue=settings.task_queue, result_type=RunResult)

        async def waiting() -> bool:
            return bool((await handle.query(AgentRun.state)).pending_approvals)

        await eventually(waiting, what="the approval wait")
        # The CLI runs on a thread: this test's event loop also runs the worker that answers it.
        unknown = await asyncio.to_thread(temporal, address, "workflow", "update", "execute", "-w", handle.id, "--name", "approve",
                           "--input", '{"tool_call_id": "call-9-9"}', check=False)
        empty = await asyncio.to_thread(temporal, address, "workflow", "update", "execute", "-w", handle.id, "--name", "approve", check=False)
        rejected = await asyncio.to_thread(temporal, address, "workflow", "update", "execute", "-w", handle.id, "--name", "reject",
                            "--input", '{"tool_call_id": "call-1-1"}')
        result = await handle.result()
    unknown_text, empty_text = unknown.stdout + unknown.stderr, empty.stdout + empty.stderr
    assert unknown.returncode != 0 and "no pending approval for tool call 'call-9-9'" in unknown_text
    assert "retryable: true" not in unknown_text.lower().replace('"', "")
    assert empty.returncode != 0 and "approve needs an input with tool_call_id" in empty_text, empty_text
    assert "TypeError" not in empty_text and "positional argument" not in empty_text
    assert "rejected call-1-1" in rejected.stdout and result.status == "completed"
