"""Scripted models for the recorded scenarios whose path needs more than a script (tests/histories/record.py).

Each drives one patched path of AgentRun with real activities around it: a model call that completes
after a cancel, a route whose first model is down, a context window small enough to need a summary,
and a payment whose earlier attempt was interrupted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context import transcript
from activities.context.packing import pack
from activities.context.summarize import SummarizeActivities
from activities.context.tokens import ESTIMATOR
from activities.context.tool_catalogue import resolve_decide, resolve_pinned
from activities.decision import render_prompt
from activities.ledger import open_ledger
from activities.model import INDEXER
from tests.scripted import SCRIPTED_CATALOGUE, ScriptedModel, Step, call
from workflows.contracts import (
    DecideInput,
    DecideResult,
    Decision,
    LoadModelsInput,
    Message,
    ModelCatalogue,
    TokenCalibration,
    Usage,
    arguments_hash,
)
from workflows.contracts.context import DecideWithContextInput, DecideWithContextResult


class FallbackModel(ScriptedModel):
    """Two models on every route: `primary` is down (an outage error the workflow falls back on), `backup`
    follows the script."""

    CATALOGUE = ModelCatalogue(
        models=[SCRIPTED_CATALOGUE.models[0].model_copy(update={"name": n}) for n in ("primary", "backup")],
        routes={kind: ["primary", "backup"] for kind in ("plan", "act", "summarize")},
    )

    @activity.defn(name="models.catalogue")
    async def catalogue(self, input: LoadModelsInput = LoadModelsInput()) -> ModelCatalogue:
        return self.CATALOGUE

    @activity.defn(name="model.decide")
    async def decide(self, input: DecideInput) -> DecideResult:
        if input.model == "primary":
            # Non-retryable so the workflow falls back at once instead of after the retry policy's waits.
            raise ApplicationError("primary is down", type="Provider.unavailable", non_retryable=True)
        return await super().decide(input)


class CompactingModel(ScriptedModel):
    """A model with a small window whose by-reference calls pack the prompt as the real activity does, so
    the pack report asks for compaction once the transcript outgrows 80 % of the window; a scripted
    summarizer answers context.summarize."""

    WINDOW = 1000
    CATALOGUE = ModelCatalogue(
        models=[SCRIPTED_CATALOGUE.models[0].model_copy(update={"context_window": WINDOW,
                                                                 "max_output_tokens": 64})],
        routes=SCRIPTED_CATALOGUE.routes,
    )

    @activity.defn(name="models.catalogue")
    async def catalogue(self, input: LoadModelsInput = LoadModelsInput()) -> ModelCatalogue:
        return self.CATALOGUE

    @activity.defn(name="model.decide_with_context")
    async def decide_with_context(self, input: DecideWithContextInput) -> DecideWithContextResult:
        ref = transcript.append_ref(self.blobs, input.transcript, input.append)
        decide = resolve_decide(self.blobs, input)
        history = transcript.load_ref(self.blobs, ref)
        pinned, pinned_ref = resolve_pinned(self.blobs, input)
        index = INDEXER.for_chain(ref.head, history, input.transcript.head, ESTIMATOR)
        packed = pack(render_prompt(pinned, decide.tools), history, index, input.budget, ESTIMATOR,
                      TokenCalibration())
        result = None
        if not packed.report.over_budget:
            result = await self.decide(decide.model_copy(update={"messages": packed.messages}))
        return DecideWithContextResult(result=result, transcript=ref, pack=packed.report, pinned_ref=pinned_ref)

    def extra_activities(self) -> list:
        async def chat(model: str, messages: list[Message], max_tokens: int) -> tuple[str, Usage]:
            return "the calculator added up every sum", Usage(prompt_tokens=200, completion_tokens=10)

        return [SummarizeActivities(self.blobs, chat, lambda model: ESTIMATOR).summarize]


class TightWindowModel(CompactingModel):
    """A window that holds the run until a long reply from the person arrives: the prompt with it does
    not fit, so the turns before it are compacted before the call is made."""

    WINDOW = 1500
    CATALOGUE = ModelCatalogue(
        models=[SCRIPTED_CATALOGUE.models[0].model_copy(update={"context_window": WINDOW, "max_output_tokens": 64})],
        routes=SCRIPTED_CATALOGUE.routes,
    )

    @activity.defn(name="models.catalogue")
    async def catalogue(self, input: LoadModelsInput = LoadModelsInput()) -> ModelCatalogue:
        return self.CATALOGUE


def interrupted_payment(ledger_path: Path, **args: Any) -> Step:
    """The first step proposes a payment whose earlier attempt started and whose worker died: the ledger
    says 'started' under the call's key, so the call's outcome is unknown and a person must decide."""

    def step(_: DecideInput) -> Decision:
        info = activity.info()
        chain = f"{info.workflow_id}/{info.workflow_run_id}"
        open_ledger(ledger_path).begin(f"{chain}/call-1-1", chain, "send_payment", arguments_hash(args))
        return call("send_payment", **args)

    return step
