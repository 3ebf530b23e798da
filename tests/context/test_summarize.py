"""`context.summarize`: oldest turns become one summary message by reference; P0 stays verbatim; nothing is lost."""

from __future__ import annotations

import json
import os

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.context import transcript
from activities.context.packing import SUMMARY_NAME, pack
from activities.context.summarize import SummarizeActivities, gateway_chat
from activities.context.tokens import ESTIMATOR
from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway
from activities.model import INDEXER
from tests.conftest import wire_model, write_models_file
from tests.wire_server import ModelWireServer
from workflows.contracts import Message, TokenCalibration, Usage
from workflows.contracts.context import ContextBudget, SummarizeContextInput, TranscriptRef

GOAL = Message(role="user", content="Goal: add the numbers in data.csv and write the total to total.txt")


def _run(store, n: int) -> TranscriptRef:
    turns = [GOAL] + [Message(role="assistant" if i % 2 else "tool", content=f"step {i} " + "detail " * 20,
                              name=None if i % 2 else "calculator", tool_call_id=None if i % 2 else f"call-{i}")
                      for i in range(1, n)]
    return transcript.append_ref(store, TranscriptRef(), turns)


class FakeChat:
    """Records what it was asked and answers with a fixed summary."""

    def __init__(self, text: str = "Read data.csv; sums so far 42.") -> None:
        self.text, self.calls = text, []

    async def __call__(self, model: str, messages: list[Message], max_tokens: int) -> tuple[str, Usage]:
        self.calls.append((model, messages, max_tokens))
        return self.text, Usage(prompt_tokens=100, completion_tokens=10)


def _activities(store, chat) -> SummarizeActivities:
    return SummarizeActivities(store, chat, lambda model: ESTIMATOR)


async def test_summary_replaces_range_and_keeps_p0_verbatim(store) -> None:
    """Turns [1, 31) become one summary message; the goal (protected) and later turns are unchanged."""
    ref = _run(store, 41)
    original = transcript.load_ref(store, ref)
    chat = FakeChat()
    result = await ActivityEnvironment().run(_activities(store, chat).summarize, SummarizeContextInput(
        transcript=ref, start=1, end=31, model="m", protected=1))
    compacted = transcript.load_ref(store, result.transcript)
    assert compacted[0] == GOAL
    assert compacted[1].name == SUMMARY_NAME and compacted[1].content.endswith("sums so far 42.")
    assert compacted[1].content.startswith("Summary of earlier turns 1-30 (30 messages)")
    assert compacted[2:] == original[31:]
    assert result.transcript.length == 1 + 1 + 10 and result.summarized_messages == 30
    assert result.tokens_after < result.tokens_before
    assert transcript.get_message(store, result.summary.digest) == compacted[1]
    # nothing is lost: the previous head still names every original message
    transcript.CACHE.clear()
    assert transcript.load_ref(store, result.previous) == original
    prompt = chat.calls[0][1][1].content
    assert "step 1 " in prompt and "step 30 " in prompt and "step 31 " not in prompt and "Goal:" not in prompt


async def test_range_into_protected_p0_is_refused(store) -> None:
    """A range that would summarize a protected P0 message fails without retry and calls no model."""
    ref = _run(store, 5)
    chat = FakeChat()
    with pytest.raises(ApplicationError, match="protected") as e:
        await ActivityEnvironment().run(_activities(store, chat).summarize, SummarizeContextInput(
            transcript=ref, start=0, end=3, model="m", protected=1))
    assert e.value.non_retryable and chat.calls == []


async def test_pack_after_compaction_fits_and_summary_counts_as_history(store) -> None:
    """A pack that asked for compaction fits under its target after the summarize activity ran, and
    sends the summary in place of the turns it stands for."""
    turns = transcript.load_ref(store, _run(store, 201))[1:]  # the goal is pinned, not in the transcript
    ref = transcript.append_ref(store, TranscriptRef(), turns)
    budget = ContextBudget(context_window=8192, reserved_output=512)
    head = [Message(role="system", content="sys"), GOAL]

    def packed(ref: TranscriptRef):
        history = transcript.load_ref(store, ref)
        index = INDEXER.for_chain(ref.head, history, None, ESTIMATOR)
        return pack(head, history, index, budget, ESTIMATOR, TokenCalibration())

    before = packed(ref).report
    assert before.needs_compaction and before.compact_start == 0 and before.compact_end
    result = await ActivityEnvironment().run(_activities(store, FakeChat()).summarize, SummarizeContextInput(
        transcript=ref, start=before.compact_start, end=before.compact_end, model="m"))
    after = packed(result.transcript)
    assert not after.report.needs_compaction and after.report.total_tokens <= budget.target_tokens
    assert after.messages[1] == GOAL and after.messages[2].content.startswith("Summary of earlier turns 0-")
    assert after.report.sent_messages == result.transcript.length


async def test_summarize_through_the_gateway_on_the_openai_wire(store, tmp_path) -> None:
    """With the real gateway and a local OpenAI-wire server, the server's reply becomes the summary."""
    ref = _run(store, 9)

    def respond(body: dict) -> str:
        return "The agent computed partial sums over " + str(len(body["messages"][1]["content"].splitlines())) + " turns."

    with ModelWireServer(respond) as server:
        gateway = Gateway(load_models_file(write_models_file(tmp_path / "m.yaml", wire_model("wire", server)), os.environ),
                          BreakerRegistry(min_calls=2, cooldown_s=60))
        result = await ActivityEnvironment().run(_activities(store, gateway_chat(gateway)).summarize,
                                                 SummarizeContextInput(transcript=ref, start=1, end=7, model="wire",
                                                                       protected=1))
    summary = transcript.load_ref(store, result.transcript)[1]
    assert summary.content.endswith("The agent computed partial sums over 6 turns.")
    assert result.prompt_tokens > 0 and json.loads(result.model_dump_json())["model"] == "wire"
