"""What the workflow does with a prompt that does not fit: compact, then call; or stop, saying why.

The model activity's double answers like the real one does for a prompt over its budget (no call
made, `pack.over_budget`, a range to compact or none) until the transcript it is given holds a
summary; then it decides. The summarizer is the real activity with a fixed summary.
"""

from __future__ import annotations

import uuid

import pytest
from temporalio import activity
from temporalio.client import WorkflowFailureError

from activities.context import transcript
from activities.context.packing import SUMMARY_NAME
from activities.context.summarize import SummarizeActivities
from activities.context.tokens import ESTIMATOR
from tests.conftest import model_activities
from tests.scripted import ScriptedModel, call, final
from worker.main import build_tool_layer, build_worker
from workflows.agent_run import AgentRun
from workflows.contracts import Message, RunRequest, RunResult, RunStatus, Usage
from workflows.contracts.context import DecideWithContextInput, DecideWithContextResult, PackReport


class OverBudgetUntilCompacted(ScriptedModel):
    """Over budget (nothing sent) while the transcript has 4 or more messages and no summary."""

    def __init__(self, *script, compactable: bool = True) -> None:
        super().__init__(*script)
        self.compactable, self.refused = compactable, 0

    @activity.defn(name="model.decide_with_context")
    async def decide_with_context(self, input: DecideWithContextInput) -> DecideWithContextResult:
        ref = transcript.append_ref(self.blobs, input.transcript, input.append)
        history = transcript.load_ref(self.blobs, ref)
        if len(history) >= 4 and not any(m.name == SUMMARY_NAME for m in history):
            self.refused += 1
            newest = max(i for i, m in enumerate(history) if m.role == "assistant")
            report = PackReport(
                tokenizer="test", exact=False, total_tokens=9_000, budget_tokens=7_680, threshold_tokens=6_553,
                tokens_by_priority={"P0": 2_000 if self.compactable else 8_000}, prefix_messages=2 + len(history),
                needs_compaction=True, over_budget=True, compact_start=0 if self.compactable else None,
                compact_end=newest if self.compactable else None, history_messages=len(history), sent_messages=0)
            return DecideWithContextResult(result=None, transcript=ref, pack=report)
        return await super().decide_with_context(input.model_copy(update={"transcript": ref, "append": []}))


def worker(client, settings, model):
    async def chat(model_name: str, messages: list[Message], max_tokens: int) -> tuple[str, Usage]:
        return "the calculator added everything so far", Usage(prompt_tokens=50, completion_tokens=10)

    summarize = SummarizeActivities(model_activities(model, settings)[0].__self__.blobs, chat, lambda m: ESTIMATOR)
    activities = [*model_activities(model, settings), summarize.summarize, *build_tool_layer(settings).activities()]
    return build_worker(client, settings, activities)


async def test_a_prompt_over_the_budget_is_compacted_before_it_is_sent(dev_client, settings):
    """Nothing was sent; the workflow summarizes the range the report named and calls again."""
    model = OverBudgetUntilCompacted(*[call("calculator", expression=f"{i}+{i}") for i in range(3)], final("done"))
    async with worker(dev_client, settings, model):
        handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="add"), id=f"ob-{uuid.uuid4()}",
                                                 task_queue=settings.task_queue, result_type=RunResult)
        result = await handle.result()
        state = await handle.query(AgentRun.state)
    assert result.status == RunStatus.COMPLETED and model.refused == 1
    assert len(state.compactions) == 1 and state.compactions[0].start == 0
    assert state.usage.compaction_calls == 1 and state.context.sent_messages == state.context.transcript_messages


async def test_a_prompt_no_compaction_can_fit_stops_the_run_saying_why(dev_client, settings):
    """No range to compact (the pinned block and the newest turn alone pass the budget): the run fails at
    once with the reason in its state; it never sends the model less than its run."""
    model = OverBudgetUntilCompacted(*[call("calculator", expression=f"{i}+{i}") for i in range(3)], final("done"),
                                     compactable=False)
    async with worker(dev_client, settings, model):
        handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="add"), id=f"ob-{uuid.uuid4()}",
                                                 task_queue=settings.task_queue, result_type=RunResult)
        with pytest.raises(WorkflowFailureError):
            await handle.result()
        state = await handle.query(AgentRun.state)
    assert state.status == RunStatus.FAILED and model.refused == 1 and len(model.calls) == 2
    assert state.result.reason.startswith("step 3 cannot be sent to scripted: its prompt needs about 9000 tokens of "
                                          "the 7680 the window leaves after the reply, and the pinned block, the tool "
                                          "catalogue and the newest turn alone need 8000 tokens")
    assert state.context.sent_messages == 0 and not state.compactions
