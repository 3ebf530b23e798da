"""A scripted model registered under the real activity's name, for workflow tests.

Each entry of the script is a Decision, or a function of the DecideInput that returns one (so a test
can answer from what the model was shown). The last entry repeats once the script runs out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from temporalio import activity

from activities.context import transcript
from activities.context.blobs import BlobStore
from activities.context.tool_catalogue import resolve_decide, resolve_pinned
from workflows.contracts import (
    DecideInput,
    DecideResult,
    Decision,
    LoadModelsInput,
    ModelCatalogue,
    ModelInfo,
    ProposedToolCall,
    Usage,
)
from workflows.contracts.context import DecideWithContextInput, DecideWithContextResult, PackReport

Step = Decision | Callable[[DecideInput], Decision]
SCRIPTED_CATALOGUE = ModelCatalogue(
    models=[ModelInfo(name="scripted", provider="llamacpp", self_hosted=True, context_window=1_000_000,
                      max_output_tokens=4096, data_classes=["public", "internal", "confidential"])],
    routes={"plan": ["scripted"], "act": ["scripted"], "summarize": ["scripted"]},
)


def final(answer: str) -> Decision:
    return Decision(kind="final_answer", answer=answer)


def call(tool: str, **arguments: Any) -> Decision:
    return Decision(kind="tool_calls", tool_calls=[ProposedToolCall(tool=tool, arguments=arguments)])


def ask(question: str) -> Decision:
    return Decision(kind="ask_human", question=question)


class ScriptedModel:
    def __init__(self, *script: Step, usage: Usage | None = None) -> None:
        self.script = list(script)
        self.calls: list[DecideInput] = []
        self.usage = usage or Usage(prompt_tokens=100, completion_tokens=20)
        self.cancelled = asyncio.Event()
        self.blobs: BlobStore | None = None  # set by the test worker (tests/conftest.py make_worker)
        self.hang = False

    @activity.defn(name="models.catalogue")
    async def catalogue(self, input: LoadModelsInput = LoadModelsInput()) -> ModelCatalogue:
        return SCRIPTED_CATALOGUE

    @activity.defn(name="model.decide")
    async def decide(self, input: DecideInput) -> DecideResult:
        self.calls.append(input)
        if self.hang:
            # Heartbeat until cancelled: the only way a Python activity hears of cancellation.
            try:
                while True:
                    activity.heartbeat()
                    await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        step = self.script[min(len(self.calls), len(self.script)) - 1]
        decision = step(input) if callable(step) else step
        return DecideResult(decision=decision, usage=self.usage, model=input.model or "scripted",
                            provider="scripted", latency_ms=0.0)

    @activity.defn(name="model.decide_with_context")
    async def decide_with_context(self, input: DecideWithContextInput) -> DecideWithContextResult:
        """The real activity's storage half, so scripted runs store their transcript by reference too."""
        ref = transcript.append_ref(self.blobs, input.transcript, input.append)
        pinned, pinned_ref = resolve_pinned(self.blobs, input)
        history = transcript.load_ref(self.blobs, ref)
        decide = resolve_decide(self.blobs, input)
        result = await self.decide(decide.model_copy(update={"messages": [*pinned, *history]}))
        report = PackReport(tokenizer="scripted", exact=False, total_tokens=self.usage.prompt_tokens,
                            budget_tokens=input.budget.budget_tokens, threshold_tokens=input.budget.threshold_tokens,
                            tokens_by_priority={}, prefix_messages=len(pinned), history_messages=len(history),
                            sent_messages=len(history))
        return DecideWithContextResult(result=result, transcript=ref, pack=report, pinned_ref=pinned_ref)

    def last_messages_text(self) -> str:
        return "\n".join(m.content for m in self.calls[-1].messages)


class GatedModel(ScriptedModel):
    """A model call that starts, then answers only when the test opens the gate, never heartbeating,
    so it cannot hear that it was cancelled: it completes after the cancel, as a slow provider can."""

    def __init__(self, *script: Step) -> None:
        super().__init__(*script)
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    @activity.defn(name="model.decide")
    async def decide(self, input: DecideInput) -> DecideResult:
        self.entered.set()
        await self.gate.wait()
        return await super().decide(input)
