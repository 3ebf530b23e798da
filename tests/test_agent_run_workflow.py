"""AgentRun on the time-skipping server, with a scripted model and the real tool activities."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from temporalio.client import WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError, CancelledError

from tests.conftest import eventually, make_worker
from tests.scripted import GatedModel, ScriptedModel, ask, call, final
from workflows.agent_run import AgentRun
from workflows.contracts import (
    ApproveInput,
    Budgets,
    RejectInput,
    RunRequest,
    RunResult,
    RunStatus,
    UserMessageInput,
)
from workflows.search_attributes import AGENT_STATUS, AGENT_STEPS


async def start(env, settings, request: RunRequest) -> WorkflowHandle:
    return await env.client.start_workflow(
        AgentRun.run, request, id=f"run-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult
    )


async def wait_status(handle: WorkflowHandle, status: RunStatus) -> None:
    async def reached() -> bool:
        return (await handle.query(AgentRun.state)).status == status

    await eventually(reached, what=f"status {status}")


async def test_happy_path_runs_a_read_only_tool_then_answers(ts_env, settings):
    """A risk-0 tool runs without approval and its result reaches the model."""
    model = ScriptedModel(call("calculator", expression="6*7"), final("42"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="what is 6*7?"))
        result = await handle.result()
        state = await handle.query(AgentRun.state)
    assert result.status == RunStatus.COMPLETED
    assert result.answer == "42"
    assert result.usage.model_calls == 2 and result.usage.tool_calls == 1
    assert result.usage.prompt_tokens == 200
    assert '"value":42' in model.last_messages_text()
    assert state.status == RunStatus.COMPLETED and state.result.answer == "42"
    attributes = (await handle.describe()).typed_search_attributes
    assert attributes.get(AGENT_STATUS) == "completed" and attributes.get(AGENT_STEPS) == 2


async def test_approved_tool_call_runs_and_is_audited(ts_env, settings):
    """A risk-2 write waits for approval; approving it runs it once and records who approved."""
    model = ScriptedModel(call("write_file", path="out.txt", content="hello"), final("written"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="write hello to out.txt"))
        await wait_status(handle, RunStatus.WAITING_FOR_HUMAN)
        state = await handle.query(AgentRun.state)
        [pending] = state.pending_approvals
        assert (pending.tool, pending.arguments, pending.risk_level) == ("write_file", {"path": "out.txt", "content": "hello"}, 2)
        assert pending.expires_at > pending.requested_at
        assert not list(settings.workspaces.rglob("out.txt"))
        reply = await handle.execute_update(AgentRun.approve, ApproveInput(tool_call_id=pending.tool_call_id, approver="alice", comment="ok"))
        assert reply == f"approved {pending.tool_call_id}"
        result = await handle.result()
        [record] = (await handle.query(AgentRun.state)).approvals
    assert result.status == RunStatus.COMPLETED
    [written] = list(settings.workspaces.rglob("out.txt"))
    assert written.read_text() == "hello"
    assert (record.decision, record.by, record.comment) == ("approved", "alice", "ok")


async def test_rejected_tool_call_is_not_run_and_the_model_is_told(ts_env, settings):
    """Rejecting returns a denied result with the reason to the model; the file is never written."""
    model = ScriptedModel(call("write_file", path="out.txt", content="x"), final("gave up"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="write x"))
        await wait_status(handle, RunStatus.WAITING_FOR_HUMAN)
        [pending] = (await handle.query(AgentRun.state)).pending_approvals
        await handle.execute_update(AgentRun.reject, RejectInput(tool_call_id=pending.tool_call_id, approver="bob", comment="not now"))
        result = await handle.result()
    assert result.status == RunStatus.COMPLETED
    assert "bob rejected this call: not now" in model.last_messages_text()
    assert not list(settings.workspaces.rglob("out.txt"))


async def test_unknown_or_decided_approval_is_refused(ts_env, settings):
    """The update validator refuses unknown and already-decided ids with a clear message."""
    model = ScriptedModel(call("write_file", path="a.txt", content="a"), final("done"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="write a"))
        await wait_status(handle, RunStatus.WAITING_FOR_HUMAN)
        with pytest.raises(WorkflowUpdateFailedError) as unknown:
            await handle.execute_update(AgentRun.approve, ApproveInput(tool_call_id="call-9-9"))
        assert "no pending approval for tool call 'call-9-9'" in str(unknown.value.cause)
        [pending] = (await handle.query(AgentRun.state)).pending_approvals
        await handle.execute_update(AgentRun.approve, ApproveInput(tool_call_id=pending.tool_call_id))
        with pytest.raises(WorkflowUpdateFailedError) as twice:
            await handle.execute_update(AgentRun.reject, RejectInput(tool_call_id=pending.tool_call_id))
        assert "already decided" in str(twice.value.cause)
        assert (await handle.result()).status == RunStatus.COMPLETED


async def test_approval_expires_on_a_durable_timer(ts_env, settings):
    """With nobody deciding, the approval expires after approval_timeout_s and counts as rejected."""
    model = ScriptedModel(call("write_file", path="late.txt", content="x"), final("expired"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="write", approval_timeout_s=3600))
        result = await handle.result()  # the test server skips the hour
        [record] = (await handle.query(AgentRun.state)).approvals
    assert result.status == RunStatus.COMPLETED
    assert record.decision == "expired"
    assert "nobody approved this call within 3600 s" in model.last_messages_text()
    assert not list(settings.workspaces.rglob("late.txt"))


async def test_step_budget_stops_with_a_partial_result(ts_env, settings):
    """A model that never finishes is stopped by max_steps with status budget_exceeded."""
    model = ScriptedModel(call("calculator", expression="1+1"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="loop", budgets=Budgets(max_steps=3)))
        result = await handle.result()
    assert result.status == RunStatus.BUDGET_EXCEEDED
    assert result.steps == 3 and len(model.calls) == 3
    assert "step budget exhausted: 3 of 3" in result.reason
    assert '"value":2' in result.partial_output


async def test_token_budget_counts_prompt_and_completion(ts_env, settings):
    """max_tokens stops the run before a call whose worst case (its prompt and the longest reply) could
    pass it, so the total never overshoots (each call here uses 120 tokens; 2,050 is no multiple of it)."""
    model = ScriptedModel(call("calculator", expression="1+1"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="loop", budgets=Budgets(max_tokens=2_050)))
        result = await handle.result()
    assert result.status == RunStatus.BUDGET_EXCEEDED and "token budget" in result.reason
    assert 0 < result.usage.total_tokens <= 2_050 and "may use" in result.reason


async def test_pause_holds_between_steps_and_resume_continues(ts_env, settings):
    """A paused run makes no model call until resumed."""
    model = ScriptedModel(call("write_file", path="p.txt", content="p"), final("done"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="write p"))
        await wait_status(handle, RunStatus.WAITING_FOR_HUMAN)
        await handle.signal(AgentRun.pause)
        [pending] = (await handle.query(AgentRun.state)).pending_approvals
        await handle.signal("approve", ApproveInput(tool_call_id=pending.tool_call_id))
        await wait_status(handle, RunStatus.PAUSED)
        assert len(model.calls) == 1
        await handle.signal(AgentRun.resume)
        result = await handle.result()
    assert result.status == RunStatus.COMPLETED and len(model.calls) == 2


async def test_user_message_reaches_the_next_model_call(ts_env, settings):
    """An instruction sent mid-run is in the next prompt; ask_human waits for one."""
    model = ScriptedModel(ask("which file?"), final("ok"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="edit a file"))
        await wait_status(handle, RunStatus.WAITING_FOR_HUMAN)
        assert (await handle.query(AgentRun.state)).question == "which file?"
        await handle.signal(AgentRun.user_message, UserMessageInput(text="use notes.md", user="carol"))
        result = await handle.result()
    assert result.status == RunStatus.COMPLETED
    assert "Message from carol: use notes.md" in model.last_messages_text()


async def test_cancel_stops_the_running_activity_and_records_cancelled(ts_env, settings):
    """Cancelling mid model call cancels the activity and ends with status cancelled."""
    model = ScriptedModel(final("never"))
    model.hang = True
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="hang"))
        await wait_status(handle, RunStatus.WAITING_FOR_MODEL)
        await eventually(lambda: asyncio.sleep(0, bool(model.calls)), what="the model activity to start")
        await handle.cancel()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        assert isinstance(failure.value.cause, CancelledError)
        assert model.cancelled.is_set()
        state = await handle.query(AgentRun.state)
    assert state.status == RunStatus.CANCELLED and state.step == 0


async def test_cancel_holds_when_the_model_call_completes_after_it(ts_env, settings):
    """A model call that finishes after the run was cancelled returns its result (the SDK then clears the
    cancellation); the run must still end cancelled, not go on to wait for approval of the proposed call."""
    model = GatedModel(call("write_file", path="a.txt", content="x"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="write"))
        await model.entered.wait()
        await handle.cancel()

        async def activity_cancel_requested() -> bool:
            history = await handle.fetch_history()
            return any(e.HasField("activity_task_cancel_requested_event_attributes") for e in history.events)

        await eventually(activity_cancel_requested, what="the workflow to ask the model activity to cancel")
        model.gate.set()
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        state = await handle.query(AgentRun.state)
    assert isinstance(failure.value.cause, CancelledError)
    assert state.status == RunStatus.CANCELLED and not state.pending_approvals


async def test_invalid_input_fails_the_run_at_once(ts_env, settings):
    """A request that does not validate fails the workflow with the validation message."""
    model = ScriptedModel(final("never"))
    async with make_worker(ts_env.client, settings, model):
        handle = await ts_env.client.start_workflow(
            "AgentRun", {"goal": "", "budgets": {"max_steps": 0}}, id=f"bad-{uuid.uuid4()}", task_queue=settings.task_queue
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    message = str(failure.value.cause)
    assert "goal" in message and "max_steps" in message
    assert not model.calls


async def test_unknown_tool_and_invalid_arguments_go_back_to_the_model(ts_env, settings):
    """Bad tool names and arguments become normalized errors, not a crashed run."""
    model = ScriptedModel(call("teleport", to="mars"), call("calculator", expr="1"), final("sorry"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="try"))
        result = await handle.result()
    assert result.status == RunStatus.COMPLETED
    prompts = [json.dumps([m.content for m in c.messages]) for c in model.calls]
    assert "unknown tool 'teleport'" in prompts[1]
    assert "invalid_arguments" in prompts[2] and "expression" in prompts[2]


async def test_allowed_tools_limits_what_the_model_sees_and_runs(ts_env, settings):
    """A tool outside allowed_tools is hidden from the model and denied if proposed."""
    model = ScriptedModel(call("write_file", path="x", content="x"), final("ok"))
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="g", allowed_tools=["calculator"]))
        result = await handle.result()
    assert [t.name for t in model.calls[0].tools] == ["calculator"]
    assert "not in this run's allowed_tools" in model.last_messages_text()
    assert result.status == RunStatus.COMPLETED


async def test_final_model_error_fails_the_run_without_retrying(ts_env, settings):
    """A non-retryable provider error (bad key) fails the run once, with the provider's message."""

    def bad_key(input):
        raise ApplicationError("HTTP 401: Incorrect API key", type="Provider.authentication", non_retryable=True)

    model = ScriptedModel(bad_key)
    async with make_worker(ts_env.client, settings, model):
        handle = await start(ts_env, settings, RunRequest(goal="g"))
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
        state = await handle.query(AgentRun.state)
    assert "Incorrect API key" in str(failure.value.cause) and len(model.calls) == 1
    assert state.status == RunStatus.FAILED and "Incorrect API key" in state.result.reason
