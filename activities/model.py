"""The model activities: the catalogue for routing, and one decision per call with bounded repair."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from datetime import timedelta

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import prefix_map
from activities.context import transcript
from activities.context.blobs import BlobStore
from activities.context.contracts import DecideWithContextInput, DecideWithContextResult, PackContextInput
from activities.context.packing import INDEXER, ContextBudgetExceeded, pack
from activities.context.tokens import TokenCounter, estimator_for
from activities.context.tool_catalogue import CONTEXT_UNAVAILABLE, resolve_decide, resolve_pinned
from activities.decision import (
    MalformedDecision,
    decision_from_tool_call,
    decision_schema,
    parse_decision,
    render_prompt,
)
from activities.gateway.gateway import Gateway, tenant_cache_salt
from activities.heartbeat import heartbeat, with_heartbeats
from activities.providers.base import ChatRequest, ProviderError
from activities.stores import blob_store_id
from workflows.contracts import DecideInput, DecideResult, Message, ModelCatalogue, Price, Usage

log = structlog.get_logger(__name__)

# Error types the workflow acts on by name (see workflows/retry.py and workflows/routing.py).
MALFORMED_DECISION = "MalformedDecision"
REPAIR_OVER_BUDGET = "RepairOverBudget"


class ModelActivities:
    def __init__(self, gateway: Gateway, max_repairs: int = 2, blobs: BlobStore | None = None,
                 counter_for: Callable[[str], TokenCounter] | None = None) -> None:
        self.gateway = gateway
        self.max_repairs = max_repairs
        self.blobs = blobs
        self.counter_for = counter_for or estimator_for

    @functools.cache
    def _blob_store_id(self) -> str:
        return blob_store_id(self.blobs)

    @activity.defn(name="model.decide_with_context")
    async def decide_with_context(self, input: DecideWithContextInput) -> DecideWithContextResult:
        """`model.decide` by reference: extend the stored transcript with what is new, rebuild the
        prompt from the chain, pack it into the model's exact budget, decide. O(1) input per step."""
        if self.blobs is None:
            raise ApplicationError("this worker has no blob store for transcripts", type=CONTEXT_UNAVAILABLE,
                                   non_retryable=True)
        if input.blob_store is not None and self._blob_store_id() != input.blob_store:
            # A local call on a worker whose blob store is not the run's: refuse before reading or
            # writing its transcript; the workflow sends the call to the run's store queue instead.
            raise ApplicationError(f"this worker's blob store is {self._blob_store_id()}, the run's is "
                                   f"{input.blob_store}", type="StoreMismatch", non_retryable=True)
        # The store reads and writes and the pack in one trip to a thread, not one each: every hop
        # costs a wake-up of the event loop, per step.
        ref, decide, pinned_ref, packed, counter = await asyncio.to_thread(self._prepare, input)
        # The prompt's stages reuse their work on this run's previous prompt (activities/prefix_map.py).
        info = activity.info()
        run = prefix_map.RUN.set((info.workflow_id, info.workflow_run_id))
        try:
            result = await self.decide(decide.model_copy(update={"messages": packed.messages}))
        finally:
            prefix_map.RUN.reset(run)
        if hasattr(counter, "observe"):
            counter.observe(packed.messages, result.usage.prompt_tokens, raw=packed.raw_tokens)
        return DecideWithContextResult(result=result, transcript=ref, pack=packed.report, pinned_ref=pinned_ref)

    def _prepare(self, input: DecideWithContextInput) -> tuple:
        """Extend and load the transcript, resolve the references, pack: the blocking half of a call."""
        ref = transcript.append_ref(self.blobs, input.transcript, input.append)
        history = transcript.load_ref(self.blobs, ref)
        decide = resolve_decide(self.blobs, input)
        pinned, pinned_ref = resolve_pinned(self.blobs, input)
        counter = self.counter_for(decide.model or self.gateway.catalogue().routes["act"][0])
        # The estimator packs from an index that each step extends with its new messages only.
        index = (INDEXER.for_chain(ref.head, history, input.transcript.head, counter)
                 if hasattr(counter, "raw_tokens") else None)
        try:
            packed = pack(PackContextInput(
                pinned=pinned, tools=decide.tools, history=history, current_task=input.current_task,
                volatile=input.volatile, protected=input.protected, budget=input.budget), counter, index)
        except ContextBudgetExceeded as e:
            raise ApplicationError(str(e), type="Provider.context_length_exceeded", non_retryable=True) from e
        return ref, decide, pinned_ref, packed, counter

    @activity.defn(name="models.catalogue")
    async def catalogue(self) -> ModelCatalogue:
        return self.gateway.catalogue()

    @activity.defn(name="model.decide")
    async def decide(self, input: DecideInput) -> DecideResult:
        model = input.model or self.gateway.catalogue().routes["act"][0]
        try:
            native = self.gateway.uses_native_tools(model)
        except ProviderError as e:
            raise _to_application_error(e) from e
        prompt = render_prompt(input.messages, input.tools, native_tools=native)
        price = self.gateway.config(model).price_per_mtok
        schema = None if native else decision_schema(input.tools)
        usage = Usage()
        latency_ms = 0.0
        problem = ""
        for attempt in range(self.max_repairs + 1):
            request = ChatRequest(
                model=model, messages=prompt, max_output_tokens=input.max_output_tokens, json_schema=schema,
                tools=input.tools, cache_salt=tenant_cache_salt(input.tenant_id),
                on_progress=lambda n, a=attempt: heartbeat({"model": model, "repair": a, "tokens_so_far": n}),
            )
            try:
                response = await with_heartbeats(self.gateway.chat(model, request), {"model": model, "repair": attempt})
            except ProviderError as e:
                log.warning("model.failed", model=model, kind=e.kind, status=e.status_code, message=str(e))
                raise _to_application_error(e) from e
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
                                latency_ms=latency_ms, repair_attempts=attempt, finish_reason=response.finish_reason)
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
