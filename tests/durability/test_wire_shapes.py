"""Two worker releases side by side: a payload with a field one of them does not know, or without
one it needs, stalls a run at worst; it never fails it. Only what people send refuses unknown keys."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ConfigDict, ValidationError
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus

from tests.conftest import eventually, make_worker
from tests.scripted import ScriptedModel, call, final
from workflows.agent_run import AgentRun
from workflows.contracts import ApproveInput, RunRequest, RunResult, RunStatus
from workflows.contracts.context import DecideWithContextInput, DecideWithContextResult


class NextRelease(ScriptedModel):
    """The model activity of a worker one release ahead: its results carry fields this release lacks."""

    @activity.defn(name="model.decide_with_context")
    async def decide_with_context(self, input: DecideWithContextInput) -> dict:
        result = (await super().decide_with_context(input)).model_dump(mode="json")
        result["served_by_release"] = "next"
        result["result"]["usage"]["reasoning_tokens"] = 7
        return result


class LosesAField(ScriptedModel):
    """A worker whose results lack a field this release requires (a bad rollback)."""

    @activity.defn(name="model.decide_with_context")
    async def decide_with_context(self, input: DecideWithContextInput) -> dict:
        result = (await super().decide_with_context(input)).model_dump(mode="json")
        del result["pack"]
        return result


class FutureInput(DecideWithContextInput):
    model_config = ConfigDict(extra="ignore")
    sent_from_next_release: str  # this release's workflow never sends it


class CannotReadInput(ScriptedModel):
    """A worker whose model activity needs an input field this release's workflow does not send."""

    @activity.defn(name="model.decide_with_context")
    async def decide_with_context(self, input: FutureInput) -> DecideWithContextResult:
        raise AssertionError("never reached: the input cannot be decoded")


def _messages(failure) -> str:
    """A failure's message and its causes' (the SDK wraps a decoding error in 'Failed decoding arguments')."""
    parts = []
    while failure is not None and failure.message:
        parts.append(failure.message)
        failure = failure.cause if failure.HasField("cause") else None
    return " <- ".join(parts)


async def start(client, settings):
    return await client.start_workflow(AgentRun.run, RunRequest(goal="add"), id=f"wire-{uuid.uuid4()}",
                                       task_queue=settings.task_queue, result_type=RunResult)


async def test_results_with_fields_from_the_next_release_are_read(dev_client, settings):
    """Unknown keys in an activity result, at the top and nested, are ignored: the run completes."""
    model = NextRelease(call("calculator", expression="2+2"), final("4"))
    async with make_worker(dev_client, settings, model):
        result = await (await start(dev_client, settings)).result()
    assert result.status == RunStatus.COMPLETED and result.answer == "4"


async def test_a_result_this_release_cannot_read_stalls_the_run_instead_of_failing_it(dev_client, settings):
    """A result missing a required field fails the workflow task (retried), not the workflow."""
    async with make_worker(dev_client, settings, LosesAField(final("4"))):
        handle = await start(dev_client, settings)

        async def task_failed() -> bool:
            history = await handle.fetch_history()
            return any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
                       and "cannot read a DecideWithContextResult payload" in
                       _messages(e.workflow_task_failed_event_attributes.failure) for e in history.events)

        await eventually(task_failed, timeout_s=30, what="a failed workflow task naming the payload")
        described = await handle.describe()
        await handle.terminate("test over")
    assert described.status == WorkflowExecutionStatus.RUNNING


async def test_an_input_one_release_cannot_read_waits_for_the_other_release(dev_client, settings):
    """Release B's model worker cannot decode this release's input: the attempt fails and is retried;
    once B is rolled back to a worker that reads it, the run completes."""
    async with make_worker(dev_client, settings, CannotReadInput(final("never"))):
        handle = await start(dev_client, settings)

        async def attempt_failed() -> bool:
            pending = (await handle.describe()).raw_description.pending_activities
            return any("cannot read a FutureInput payload" in _messages(a.last_failure) for a in pending)

        await eventually(attempt_failed, timeout_s=30, what="the unreadable input to fail an attempt")
    async with make_worker(dev_client, settings, ScriptedModel(final("4"))):
        result = await handle.result()
    assert result.status == RunStatus.COMPLETED and result.answer == "4"


def test_what_people_send_still_refuses_unknown_keys():
    """A typo in a start or approve input is an error, not silently dropped."""
    with pytest.raises(ValidationError, match="pre_approved"):
        ApproveInput.model_validate({"tool_call_id": "call-1-1", "pre_approved": True})
    with pytest.raises(ValidationError, match="gaol"):
        RunRequest.model_validate({"goal": "x", "gaol": "y"})
