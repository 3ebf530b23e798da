"""The model activities: the catalogue for routing, and one decision per call with bounded repair."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context import transcript
from activities.context.blobs import BlobStore
from activities.context.calibration import MODELS, ModelCalibrations, observe, observe_overflow
from activities.context.history_index import HistoryIndex, Indexer
from activities.context.packing import SUMMARY_NAME, PackedContext, is_debug_output, pack, sanitize_line
from activities.context.tokens import ESTIMATOR, TokenCounter
from activities.context.tool_catalogue import CONTEXT_UNAVAILABLE, resolve_decide, resolve_pinned
from activities.decision import (
    MalformedDecision,
    decision_from_tool_call,
    decision_schema,
    parse_decision,
    render_prompt,
    render_turn,
)
from activities.gateway.gateway import Gateway, tenant_cache_salt
from activities.heartbeat import heartbeat, with_heartbeats
from activities.providers.anthropic_messages import anthropic_tools
from activities.providers.base import ChatRequest, ProviderError
from activities.stores import blob_store_id
from activities.token_stream import TokenStream, token_stream
from workflows.contracts import (
    DecideInput,
    DecideResult,
    LoadModelsInput,
    Message,
    ModelCatalogue,
    Price,
    TokenCalibration,
    ToolSpec,
    TranscriptRef,
    Usage,
    canonical_json,
)
from workflows.contracts.context import DecideWithContextInput, DecideWithContextResult

log = structlog.get_logger(__name__)

# Error types the workflow acts on by name (see workflows/retry.py and workflows/routing.py).
MALFORMED_DECISION = "MalformedDecision"
REPAIR_OVER_BUDGET = "RepairOverBudget"

# Each transcript message as sent and its tokens, per chain head and counter.
INDEXER = Indexer(SUMMARY_NAME, is_debug_output, sanitize_line, render_turn)


def request_overhead(provider: str, tools: list[ToolSpec], native: bool) -> str:
    """What a request carries beside its messages that the provider's server counts as prompt tokens.
    OpenAI's and Anthropic's APIs put the schema or the tool definitions in front of the model;
    self-hosted servers (vLLM, SGLang, llama.cpp) constrain decoding with the schema and count only
    the messages. Where a server does otherwise, calibration absorbs the difference."""
    if native:
        return canonical_json(anthropic_tools(tools))
    if provider == "openai":
        return canonical_json(decision_schema(tools))
    return ""


def _progress(model: str, repair: int, tokens_so_far: int) -> None:
    """A streaming call's heartbeat: the tokens generated so far by this attempt."""
    heartbeat({"model": model, "repair": repair, "tokens_so_far": tokens_so_far})


@dataclass(frozen=True)
class _Prepared:
    """One by-reference call, ready to send: the stored chain, the request, and its pack."""

    input: DecideWithContextInput
    ref: TranscriptRef
    decide: DecideInput
    model: str  # decide.model, resolved to the route's first model when the input names none
    pinned_ref: str
    head: list[Message]
    history: list[Message]
    index: HistoryIndex
    counter: TokenCounter
    overhead: int
    calibration: TokenCalibration
    packed: PackedContext

    def sent_anyway(self, packed: PackedContext) -> PackedContext:
        """`packed`, sent although our uncalibrated count says it does not fit."""
        report = packed.report.model_copy(update={"over_budget": False, "sent_messages": packed.report.history_messages})
        return PackedContext(packed.messages, report, packed.counted)

    def repacked(self, calibration: TokenCalibration) -> PackedContext:
        return pack(self.head, self.history, self.index, self.input.budget, self.counter, calibration, self.overhead)

    def result(self, packed: PackedContext, calibration: TokenCalibration, decided: DecideResult | None = None,
               reported: int = 0) -> DecideWithContextResult:
        return DecideWithContextResult(result=decided, transcript=self.ref, pack=packed.report,
                                       pinned_ref=self.pinned_ref, calibration=calibration,
                                       reported_prompt_tokens=reported)


class ModelActivities:
    def __init__(self, gateway: Gateway, max_repairs: int = 2, blobs: BlobStore | None = None,
                 counter_for: Callable[[str], TokenCounter] | None = None,
                 calibrations: ModelCalibrations = MODELS) -> None:
        self.gateway = gateway
        self.max_repairs = max_repairs
        self.blobs = blobs
        self.counter_for = counter_for or (lambda model: ESTIMATOR)
        self.calibrations = calibrations

    def _blob_store(self) -> BlobStore:
        if self.blobs is None:
            raise ApplicationError("this worker has no blob store for transcripts", type=CONTEXT_UNAVAILABLE,
                                   non_retryable=True)
        return self.blobs

    @functools.cache
    def _blob_store_id(self) -> str:
        return blob_store_id(self._blob_store())

    @activity.defn(name="model.decide_with_context")
    async def decide_with_context(self, input: DecideWithContextInput) -> DecideWithContextResult:
        """`model.decide` by reference: extend the stored transcript with what is new, rebuild the
        prompt from the chain as it will be sent, count it in the server's tokens, decide. O(1) input
        per step. A prompt over the model's budget is not sent: the result says so (result None,
        pack.over_budget) and names the turns to compact; nothing of the run is ever left out."""
        blobs = self._blob_store()
        if input.blob_store is not None and self._blob_store_id() != input.blob_store:
            # A local call on a worker whose blob store is not the run's: refuse before reading or
            # writing its transcript; the workflow sends the call to the run's store queue instead.
            raise ApplicationError(f"this worker's blob store is {self._blob_store_id()}, the run's is "
                                   f"{input.blob_store}", type="StoreMismatch", non_retryable=True)
        try:
            # The store reads and writes and the pack in one trip to a thread, not one each: every hop
            # costs a wake-up of the event loop, per step.
            prepared = await asyncio.to_thread(self._prepare, input, blobs)
        except ProviderError as e:
            raise _to_application_error(e) from e
        packed, model = prepared.packed, prepared.model
        if packed.report.over_budget:
            if prepared.calibration.calls:
                log.warning("model.prompt_over_budget", model=model, tokens=packed.report.total_tokens,
                            budget=packed.report.budget_tokens, compact_start=packed.report.compact_start,
                            compact_end=packed.report.compact_end)
                return prepared.result(packed, prepared.calibration)
            # Nothing has calibrated the count for this model yet: the estimate may be 4x off either way,
            # and the server's answer (its usage, or its refusal) is what tells. The whole prompt is sent.
            packed = prepared.sent_anyway(packed)
        try:
            decided, reported = await self._decide(prepared.decide, model, packed.messages)
        except ProviderError as e:
            if e.kind == "context_length_exceeded" and (refused := self._refused(prepared, e)) is not None:
                return refused
            log.warning("model.failed", model=model, kind=e.kind, status=e.status_code, message=str(e))
            raise _to_application_error(e) from e
        calibration = observe(prepared.calibration, packed.counted, reported)
        self.calibrations.observe(model, packed.counted, reported)
        return prepared.result(packed, calibration, decided, reported)

    def _refused(self, prepared: _Prepared, e: ProviderError) -> DecideWithContextResult | None:
        """The server refused the prompt as too long: it holds more of the server's tokens than we
        counted. Learn that, and if the prompt no longer fits the budget by the new count, report it
        over budget (the workflow compacts and calls again). None when it still fits by any count we
        can learn: the models file names a larger window than the server has, an error to report."""
        budget = prepared.input.budget.budget_tokens
        at_least = e.prompt_tokens if e.prompt_tokens is not None else budget + 1
        calibration = observe_overflow(prepared.calibration, prepared.packed.counted, at_least)
        self.calibrations.observe(prepared.model, prepared.packed.counted, at_least)
        repacked = prepared.repacked(calibration)
        if not repacked.report.over_budget:
            return None
        log.warning("model.prompt_refused_as_too_long", model=prepared.model, counted=prepared.packed.counted,
                    estimated=prepared.packed.report.total_tokens, server_at_least=at_least, budget=budget,
                    message=str(e))
        return prepared.result(repacked, calibration)

    def _prepare(self, input: DecideWithContextInput, blobs: BlobStore) -> _Prepared:
        """Extend and load the transcript, resolve the references, render and pack: the blocking half."""
        ref = transcript.append_ref(blobs, input.transcript, input.append)
        history = transcript.load_ref(blobs, ref)
        decide = resolve_decide(blobs, input)
        model = decide.model or self.gateway.catalogue().routes["act"][0]
        decide = decide.model_copy(update={"model": model})
        pinned, pinned_ref = resolve_pinned(blobs, input)
        native = self.gateway.uses_native_tools(model)
        counter = self.counter_for(model)
        head = render_prompt(pinned, decide.tools, native_tools=native)
        index = INDEXER.for_chain(ref.head, history, input.transcript.head, counter)
        overhead = request_overhead(self.gateway.config(model).provider, decide.tools, native)
        calibration = input.calibration or self.calibrations.get(model)
        overhead_tokens = counter.count(overhead) if overhead else 0
        packed = pack(head, history, index, input.budget, counter, calibration, overhead_tokens)
        return _Prepared(input, ref, decide, model, pinned_ref, head, history, index, counter, overhead_tokens, calibration,
                         packed)

    @activity.defn(name="models.catalogue")
    async def catalogue(self, input: LoadModelsInput = LoadModelsInput()) -> ModelCatalogue:
        return self.gateway.catalogue()

    @activity.defn(name="model.decide")
    async def decide(self, input: DecideInput) -> DecideResult:
        """One decision on the messages given (runs recorded before the transcript went by reference)."""
        model = input.model or self.gateway.catalogue().routes["act"][0]
        try:
            prompt = render_prompt(input.messages, input.tools, native_tools=self.gateway.uses_native_tools(model))
            decided, _ = await self._decide(input.model_copy(update={"model": model}), model, prompt)
        except ProviderError as e:
            log.warning("model.failed", model=model, kind=e.kind, status=e.status_code, message=str(e))
            raise _to_application_error(e) from e
        return decided

    async def _decide(self, input: DecideInput, model: str, prompt: list[Message]) -> tuple[DecideResult, int]:
        """A decision by `model` (`input.model`, resolved) on `prompt` (rendered, as sent), repaired at most
        `max_repairs` times; and the server's count of `prompt` itself. A repair's prompt is a longer one (the
        invalid reply and the correction appended): its cost counts, but it says nothing about how `prompt` counts.
        When the run asked for it, each reply is published on the run's event stream as it is written."""
        async with token_stream(input.stream_step, model) as tokens:
            return await self._repaired(input, model, prompt, tokens)

    async def _repaired(self, input: DecideInput, model: str, prompt: list[Message],
                        tokens: TokenStream | None) -> tuple[DecideResult, int]:
        native = self.gateway.uses_native_tools(model)
        price = self.gateway.config(model).price_per_mtok
        schema = None if native else decision_schema(input.tools)
        usage = Usage()
        first_prompt_tokens = 0
        latency_ms = 0.0
        problem = ""
        for attempt in range(self.max_repairs + 1):
            if tokens is not None:
                tokens.begin(attempt)
            request = ChatRequest(
                model=model, messages=prompt, max_output_tokens=input.max_output_tokens, json_schema=schema,
                tools=input.tools, cache_salt=tenant_cache_salt(input.tenant_id),
                on_progress=functools.partial(_progress, model, attempt),
                on_text=tokens.text if tokens is not None else None,
            )
            response = await with_heartbeats(self.gateway.chat(model, request), {"model": model, "repair": attempt})
            if attempt == 0:
                first_prompt_tokens = response.usage.prompt_tokens
            usage = _sum(usage, response.usage)
            latency_ms += response.latency_ms
            try:
                decision = (decision_from_tool_call(response.tool_call) if response.tool_call
                            else parse_decision(response.text, input.tools))
            except MalformedDecision as e:
                problem = str(e)
                log.warning("model.malformed_decision", model=model, attempt=attempt, problem=problem)
                correction = Message(role="user", content=f"That reply was invalid: {problem}. Reply again with one valid JSON object.")
                prompt = [*prompt, Message(role="assistant", content=response.text), correction]
                if attempt < self.max_repairs and (over := _repair_over_limit(
                        input, usage, response.usage, price, correction)):
                    raise ApplicationError(
                        f"model {model} gave an invalid decision ({problem}) and no repair was made: {over}",
                        {"usage": usage.model_dump()}, type=REPAIR_OVER_BUDGET, non_retryable=True) from None
                continue
            log.info("model.decided", model=model, provider=response.provider, kind=decision.kind, repairs=attempt,
                     latency_ms=round(latency_ms), prompt_tokens=usage.prompt_tokens,
                     cached_tokens=usage.cached_prompt_tokens, cost_usd=usage.cost_usd)
            return DecideResult(decision=decision, usage=usage, model=model, provider=response.provider,
                                latency_ms=latency_ms, repair_attempts=attempt,
                                finish_reason=response.finish_reason), first_prompt_tokens
        raise ApplicationError(
            f"model {model} gave no valid decision after {self.max_repairs} repair attempts: {problem}",
            {"usage": usage.model_dump()},
            type=MALFORMED_DECISION,
            non_retryable=True,
        )


def _repair_over_limit(input: DecideInput, used: Usage, last: Usage, price: Price, correction: Message) -> str | None:
    """Could the next repair call pass the run's budgets left? Its prompt is the last prompt, the
    invalid reply and the correction (all uncached, at 3 characters a token); its reply the longest."""
    if input.limit is None:
        return None
    prompt = last.prompt_tokens + last.completion_tokens + len(correction.content) // 3 + 16
    tokens = prompt + input.max_output_tokens
    if used.total_tokens + tokens > input.limit.tokens:
        return f"the run has {input.limit.tokens} tokens left, {used.total_tokens} used by this step, a repair may use {tokens}"
    if input.limit.cost_usd is not None:
        worst = (prompt * price.input + input.max_output_tokens * price.output) / 1_000_000
        if used.cost_usd + worst > input.limit.cost_usd:
            return (f"the run has ${input.limit.cost_usd:.6f} left, ${used.cost_usd:.6f} used by this step, "
                    f"a repair may cost ${worst:.6f}")
    return None


def _sum(a: Usage, b: Usage) -> Usage:
    return Usage(
        prompt_tokens=a.prompt_tokens + b.prompt_tokens,
        completion_tokens=a.completion_tokens + b.completion_tokens,
        cached_prompt_tokens=a.cached_prompt_tokens + b.cached_prompt_tokens,
        cache_write_tokens=a.cache_write_tokens + b.cache_write_tokens,
        cost_usd=a.cost_usd + b.cost_usd,
    )


def _to_application_error(e: ProviderError) -> ApplicationError:
    delay = timedelta(seconds=e.retry_after_s) if e.retry_after_s else None
    return ApplicationError(
        str(e),
        {"kind": e.kind, "status_code": e.status_code, "retry_after_s": e.retry_after_s},
        type=f"Provider.{e.kind}",
        non_retryable=not e.retryable,
        next_retry_delay=delay,
    )
