"""The model half of a step: route, call, fall back; and the run-start lookups it needs.

Split from AgentRun so the loop reads in one file and the model policy in another. It is handed the
run's state (workflows/run.py) and writes to it: the transcript and its reference, usage, model events,
compactions and calibrations.
"""

from __future__ import annotations

import math
from typing import Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError, FailureError, TimeoutError

from workflows import calls, summaries
from workflows.budget import (
    BUDGET_PATCH,
    SUMMARY_PROMPT_OVERHEAD,
    call_over_budget,
    prompt_bound,
    spend_limit,
    stop_before_call,
)
from workflows.contracts import (
    Access,
    CompactionRecord,
    ContextBudget,
    ContextState,
    DecideInput,
    DecideResult,
    DecideWithContextInput,
    DecideWithContextResult,
    LoadModelsInput,
    Message,
    ModelCatalogue,
    ModelEvent,
    ModelInfo,
    RecordedWorld,
    RetrieveContextInput,
    StepKind,
    StoreToolsInput,
    SummarizeContextInput,
    TokenCalibration,
    TranscriptRef,
    Usage,
)
from workflows.contracts.prompt import assemble, by_reference, pinned_digest
from workflows.errors import cause_of, raise_if_cancelled
from workflows.outage import OUTAGE_PATCH, PROBE_PATCH, Outage, retry_hint
from workflows.retry import REPAIR_OVER_BUDGET
from workflows.routing import (
    CONTEXT_TOO_LONG,
    FALLBACK_ERRORS,
    ROUTE_PATCH,
    estimate_tokens,
    pinned_tokens,
    route,
)
from workflows.run import Run

# A model marked `local_activity` is called inside the workflow task: no task queue round trip and
# one workflow task per step (calls.ActivityStub.execute_local).
LOCAL_MODEL_PATCH = "model-local-activity"
# A step whose prompt does not fit compacts and calls again; more rounds than this and it stops.
MAX_COMPACTIONS_PER_CALL = 3


class ModelSteps:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.saved = run.saved  # never replaced: continue-as-new starts a new Run

    def _catalogue(self) -> ModelCatalogue:
        assert self.saved.models is not None, "routing needs the models file, loaded at the run's start"
        return self.saved.models

    def _transcript_ref(self) -> TranscriptRef:
        assert self.saved.transcript_ref is not None, "only runs whose transcript is stored call by reference"
        return self.saved.transcript_ref

    async def load_models(self) -> ModelCatalogue:
        return await self.run.activity(calls.LOAD_MODELS, LoadModelsInput(),
                                       summary="read the models file: routes, windows, prices")

    def refuse_unknown_model(self) -> None:
        """`"model": "gpt-99"` is a mistake to report, not a reason to quietly use the default model.
        Patched inside the branch, so only runs that name an unknown model record the marker."""
        wanted = self.run.request.model
        known = sorted(m.name for m in self.saved.models.models) if self.saved.models else []
        if wanted and known and wanted not in known and workflow.patched("refuse-unknown-model"):
            self.run.fail(f"unknown model {wanted!r}; this worker's models file has {known}")

    def _recorded(self, world: RecordedWorld) -> DecideResult:
        """A forked run's early step: the decision the original run made, without a model call (a new
        request field, so only new runs come here and no recorded history changes)."""
        step = self.saved.step + 1
        self.run.emit("model", model="recorded", model_event="recorded",
                      message=f"step {step} is the recorded decision of {world.source or 'the original run'}")
        return DecideResult(decision=world.decisions[self.saved.step], usage=Usage(), model="recorded",
                            provider="recorded", latency_ms=0.0)

    async def retrieve_first(self) -> None:
        """Documents and memories for the goal, as one untrusted, cited user message after the goal."""
        try:
            found = await self.run.activity(
                calls.RETRIEVE_CONTEXT,
                RetrieveContextInput(
                    query=self.run.request.goal,
                    access=Access(tenant_id=self.run.request.tenant_id, user_id=self.run.request.user_id,
                                  run_id=self.run.chain_id),
                ),
                summary=summaries.retrieval(self.run.request.goal),
            )
        except ActivityError as e:
            raise_if_cancelled(e)
            self.run.last_action = f"automatic retrieval failed, going on without it: {cause_of(e)}"
            return
        if found.message:
            self.saved.transcript.append(Message(role="user", content=found.message))
        self.run.last_action = f"retrieved {len(found.passages)} passages, {len(found.memory_ids)} memories"

    async def decide(self) -> DecideResult | str:
        """Route, call, fall back along the route, and wait out an outage of the whole route; a str is
        the reason a budget stops the run."""
        if (world := self.run.request.world) is not None and self.saved.step < len(world.decisions):
            return self._recorded(world)
        messages = assemble(self.run.request, self.saved.transcript)
        kind: StepKind = "plan" if self.saved.step == 0 else "act"
        models = self.saved.models
        if models is None:  # a run started before the model gateway existed
            return await self._call_model(None, messages, kind)
        # By reference, `messages` is what the packer can never evict (system, goal, the new messages):
        # a window must hold that; the stored transcript is packed and compacted into whatever is left.
        needed = self._needed_tokens(messages)
        excluded: dict[str, str] = {}  # model -> why it failed this step
        outage = Outage()
        reason = ""
        while True:
            candidates = route(models, kind, self.run.request.data_class, needed, self.run.request.model, excluded)
            if not candidates.models:
                if outage.failed and workflow.patched(OUTAGE_PATCH):
                    if stop := await self._wait_out_outage(outage, candidates.skipped):
                        return stop
                    for name in outage.failed:
                        excluded.pop(name, None)
                    outage.failed.clear()
                    continue
                self._model_event("exhausted", None, "; ".join(candidates.skipped))
                self.run.fail(f"no model could take step {self.saved.step + 1} of this {self.run.request.data_class} run: "
                           + "; ".join(candidates.skipped))
            model = candidates.models[0]
            if stop := stop_before_call(self.run, model, messages):
                return stop
            if excluded:
                self._model_event("fallback", model.name, reason)
            elif model.name != self.saved.current_model:
                self._model_event("routed", model.name, f"first eligible model of the {kind} route")
            self.saved.current_model = model.name
            try:
                if self.saved.transcript_ref is not None:
                    return await self._call_model_by_ref(model, kind)
                return await self._call_model(model.name, messages, kind)
            except ActivityError as e:
                raise_if_cancelled(e)
                error_type = getattr(e.cause, "type", None)
                detail = cause_of(e)
                if isinstance(e.cause, TimeoutError) and workflow.patched("model-attempt-timeout"):
                    # The last attempt timed out: its worker died or hung mid-call. Transient, like a
                    # provider timeout, not a reason to fail the run; and the cause to show is the
                    # timeout, not whatever error an earlier attempt happened to see.
                    error_type = "Provider.timeout"
                    which = e.cause.type.name if e.cause.type is not None else "unspecified"
                    detail = (f"{which.lower().replace('_', '-')} timeout of the model activity (its "
                              f"worker died or hung during the last attempt; before that: {detail})")
                if error_type == CONTEXT_TOO_LONG:
                    # A window this size cannot hold the step: neither can any smaller one.
                    floor = model.context_window + 1
                    needed = ({name: max(n, floor) for name, n in needed.items()} if isinstance(needed, dict)
                              else max(needed, floor))
                elif error_type not in FALLBACK_ERRORS:
                    if self._count_failed_decision(e, model.name) and error_type == REPAIR_OVER_BUDGET:
                        return f"cost or token budget: {detail}"
                    self.run.fail(f"model call to {model.name} failed: {detail}")
                else:
                    outage.failed[model.name] = f"{error_type}: {detail}"
                    outage.retry_hint_s = max(outage.retry_hint_s, retry_hint(getattr(e.cause, "details", None)))
                excluded[model.name] = f"{error_type}: {detail}"
                reason = f"{model.name} failed with {error_type}: {detail}"

    def _needed_tokens(self, messages: list[Message]) -> int | dict[str, int]:
        """What a model's window must hold for this step: the prompt's part that is never left out, and
        the reply. By reference (new runs) each model's own count, in its calibrated tokens; runs recorded
        before judged every window by one conservative estimate (3 characters a token)."""
        reply = self.run.request.max_output_tokens
        if self.saved.transcript_ref is None or not workflow.patched(ROUTE_PATCH):
            return estimate_tokens(messages, self.saved.tools) + reply
        base = pinned_tokens(messages, self.saved.tools)
        return {m.name: math.ceil(base * self.saved.calibrations.get(m.name, TokenCalibration()).ratio) + reply
                for m in self._catalogue().models}

    def _count_failed_decision(self, e: ActivityError, model: str) -> bool:
        """A decision that ended without one (malformed replies, a repair over budget) still spent
        tokens: its error carries the usage, which the run counts. True when counted (new runs)."""
        if not workflow.patched(BUDGET_PATCH):
            return False
        details = getattr(e.cause, "details", None)
        first = details[0] if isinstance(details, (list, tuple)) and details else None
        if isinstance(first, dict) and isinstance(first.get("usage"), dict):
            self.saved.usage.add(Usage.model_validate(first["usage"]), model)
        return True

    async def _wait_out_outage(self, outage: Outage, skipped: list[str]) -> str | None:
        """Every model of the route failed transiently: sleep with backoff, then walk the route again.
        Fails the run past the models file's limit; a str is the wall-time budget's stop."""
        policy = self._catalogue().outage
        now = workflow.now()
        cause = "; ".join(skipped)
        if outage.since is None:
            outage.since = now
            self._model_event("exhausted", None, f"{cause}; waiting up to {policy.max_wait_s:g} s for the outage to end")
        waited = (now - outage.since).total_seconds()
        if waited >= policy.max_wait_s:
            self.run.fail(f"model outage: no model could take step {self.saved.step + 1} of this {self.run.request.data_class} "
                       f"run within {waited:.0f} s (limit: the models file's outage.max_wait_s, "
                       f"{policy.max_wait_s:g} s): {cause}")
        wall_left = self.run.request.budgets.max_wall_time_s - (now - self.saved.started_at).total_seconds()
        if wall_left <= 0:
            return f"wall-time budget exhausted while waiting for a model: {cause}"
        to_probe = outage.only_breakers and workflow.patched(PROBE_PATCH)
        delay = outage.next_delay(policy, waited, wall_left, to_probe)
        if to_probe:
            outage.retry_hint_s = 0.0  # the next round's refusals say when their probe is
        outage.waits += 1
        names = ", ".join(outage.failed)
        self.run.last_action = (f"waiting {delay:.1f} s for model {names} (outage for {waited:.0f} s of at most "
                            f"{policy.max_wait_s:g} s): {cause}")[:500]
        await workflow.sleep(delay, summary=f"waiting for model {names}"[:200])
        # Still waiting until a call succeeds: say so, and keep the cause, while the route is tried again.
        self.run.last_action = (f"waiting for model {names}, trying it again (outage for {waited + delay:.0f} s of at "
                            f"most {policy.max_wait_s:g} s): {cause}")[:500]
        return None

    async def _call_model(self, model: str | None, messages: list[Message], kind: StepKind) -> DecideResult:
        try:
            return await self.run.activity(
                calls.DECIDE,
                DecideInput(
                    messages=messages,
                    tools=self.saved.tools,
                    model=model or self.run.request.model,
                    max_output_tokens=self.run.request.max_output_tokens,
                    step_kind=kind,
                    tenant_id=self.run.request.tenant_id,
                    limit=spend_limit(self.run),
                    stream_step=self._stream_step(),
                ),
                summary=summaries.model_call(self.saved.step + 1, model or self.run.request.model, kind, len(messages)),
            )
        except ActivityError as e:
            raise_if_cancelled(e)
            if model is None:
                self.run.fail(f"model call failed: {cause_of(e)}")
            raise

    def _stream_step(self) -> int | None:
        """The step whose reply the model activity publishes as it is written, when the run asked for it.
        Only an input field: the commands, and so replay, are the same either way."""
        return self.saved.step + 1 if self.run.request.stream_tokens else None

    async def _call_model_by_ref(self, model: ModelInfo, kind: StepKind) -> DecideResult:
        """Send the transcript's head and only the messages since the last call; the activity rebuilds
        and packs the prompt. Every input stays O(1) in the run's length, so history grows linearly.
        A prompt that does not fit is not sent: its oldest turns are compacted and the call is made
        again; when compaction cannot make it fit, the run stops and says why."""
        summary = summaries.model_call(self.saved.step + 1, model.name, kind, len(self.saved.transcript))
        for _ in range(MAX_COMPACTIONS_PER_CALL + 1):
            packed = await self._decide_by_ref(model, kind, summary)
            if packed.result is not None:
                break
            # Over budget: nothing was sent. Older turns leave the prompt only through a compaction.
            report = packed.pack
            span = report.compaction()
            why = await self._compact(*span, Usage()) if span is not None else (
                "the pinned block, the tool catalogue and the newest turn alone need "
                f"{report.tokens_by_priority.get('P0', 0)} tokens")
            if why is not None:
                self.run.fail(f"step {self.saved.step + 1} cannot be sent to {model.name}: its prompt needs about "
                           f"{report.total_tokens} tokens of the {report.budget_tokens} the window leaves after "
                           f"the reply, and {why}; use a model with a larger window, a shorter goal or fewer tools")
        else:
            self.run.fail(f"step {self.saved.step + 1} still does not fit {model.name}'s window after "
                       f"{MAX_COMPACTIONS_PER_CALL} compactions")
        result = packed.result
        assert result is not None  # the loop ends on a sent call or fails the run
        self.saved.last_prompt_tokens = packed.pack.total_tokens
        if workflow.patched(BUDGET_PATCH):
            self.saved.last_prompt_tokens = prompt_bound(packed.pack, result)
        if packed.pack.needs_compaction and (span := packed.pack.compaction()) is not None:
            await self._compact(*span, result.usage)
        return result

    async def _decide_by_ref(self, model: ModelInfo, kind: StepKind, summary: str) -> DecideWithContextResult:
        """One `model.decide_with_context` call with what is new since the last; takes its result in."""
        pinned = assemble(self.run.request, [])
        # Sent once per run: the first call stores the block and later calls name it by digest.
        pinned_ref = self.run.pinned_ref if self.run.pinned_ref == pinned_digest(pinned) else None
        request = DecideWithContextInput(
            decide=DecideInput(messages=[], tools=[] if self.saved.tools_ref else self.saved.tools, model=model.name,
                               max_output_tokens=self.run.request.max_output_tokens, step_kind=kind,
                               tenant_id=self.run.request.tenant_id, limit=spend_limit(self.run),
                               stream_step=self._stream_step()),
            pinned=[] if pinned_ref else pinned,
            pinned_ref=pinned_ref,
            transcript=self._transcript_ref(),
            append=[by_reference(m) for m in self.saved.transcript],
            budget=ContextBudget(context_window=model.context_window,
                                 reserved_output=min(self.run.request.max_output_tokens, model.context_window - 1)),
            tools_ref=self.saved.tools_ref,
            calibration=self.saved.calibrations.get(model.name),
        )
        packed = None
        # Patched inside the branch: only runs on a local-activity model record the marker.
        if model.local_activity and workflow.patched(LOCAL_MODEL_PATCH):
            packed = await self._local_model_call(request, summary)
        if packed is None:
            packed = await self.run.activity(calls.DECIDE_WITH_CONTEXT, request, summary=summary)
        self.saved.transcript_ref = packed.transcript
        self.saved.transcript = []
        if packed.pinned_ref is not None and packed.pinned_ref == pinned_digest(pinned):
            self.run.pinned_ref = packed.pinned_ref
        if packed.calibration is not None:
            self.saved.calibrations[model.name] = packed.calibration
        self._context_carried(model, packed)
        return packed

    def _context_carried(self, model: ModelInfo, packed: DecideWithContextResult) -> None:
        """What this call carried of the transcript, for the state query and the metrics."""
        report = packed.pack
        if report.history_messages is None:
            self.run.context = None  # a result from a worker before this was reported: unknown, not stale
            return
        self.run.context = ContextState(
            step=self.saved.step + 1, model=model.name, transcript_messages=report.history_messages,
            sent_messages=report.sent_messages or 0, compacted_turns=self.saved.compacted_turns,
            prompt_tokens=report.total_tokens, reported_prompt_tokens=packed.reported_prompt_tokens,
            budget_tokens=report.budget_tokens, tokenizer=report.tokenizer, exact=report.exact,
            calibration=packed.calibration or TokenCalibration())
        self.run.telemetry.context_packed(self.run)

    async def _local_model_call(self, request: DecideWithContextInput, summary: str) -> DecideWithContextResult | None:
        """The call inside this workflow task, on whichever worker runs it. A run bound to stores names
        its blob store, and a worker with another one refuses at once (StoreMismatch): the call then
        goes as a normal activity to the run's store queue (None here), so the transcript is never
        read from or written to the wrong store."""
        if self.saved.stores is not None:
            request = request.model_copy(update={"blob_store": self.saved.stores.blob_store_id or None})
        try:
            return await calls.DECIDE_WITH_CONTEXT.execute_local(request, summary=summary)
        except ActivityError as e:
            raise_if_cancelled(e)
            failure = e
        except FailureError as e:
            # A local activity's failure arrives bare (ApplicationError, TimeoutError, CancelledError), not
            # wrapped as an activity's is: wrap it, so fallback, outage waits and timeouts read it alike.
            failure = ActivityError("local activity failed", scheduled_event_id=0, started_event_id=0, identity="",
                                    activity_type=calls.DECIDE_WITH_CONTEXT.name, activity_id="", retry_state=None)
            failure.__cause__ = e
            raise_if_cancelled(failure)
        if getattr(failure.cause, "type", None) != "StoreMismatch":
            raise failure
        self.run.last_action = f"local model call refused on this worker, sent to the run's stores: {cause_of(failure)}"[:300]
        return None

    async def store_tools(self) -> str:
        """Put the catalogue in the blob store once: every later model call names it by digest, so
        history holds the tool specs once per run instead of once per step."""
        stored = await self.run.activity(calls.STORE_TOOLS, StoreToolsInput(tools=self.saved.tools),
                                         summary=f"store the catalogue of {len(self.saved.tools)} tools once")
        return stored.root

    async def _compact(self, start: int, end: int, pending: Usage) -> str | None:
        """Replace the oldest turns by a summary: an activity, so the compaction is an event in history.
        Its call is checked against the budgets first (with the step's own `pending` usage, not yet
        counted) and its usage is counted in the run's totals. Returns why it did not compact, or None."""
        candidates = route(self._catalogue(), "summarize", self.run.request.data_class, 0)
        if not candidates.models:
            self.run.last_action = "compaction skipped: no model may summarize this run's data"
            return "no model may summarize this run's data"
        summarizer = candidates.models[0]
        request = SummarizeContextInput(transcript=self._transcript_ref(), start=start, end=end, model=summarizer.name)
        counted = workflow.patched(BUDGET_PATCH)
        if counted:
            spent = self.saved.usage.model_copy(deep=True)
            spent.add(pending)
            # The turns to summarize were in the last prompt (or, if it dropped turns, at most a window).
            prompt = min(self.saved.last_prompt_tokens + SUMMARY_PROMPT_OVERHEAD, summarizer.context_window)
            if stop := call_over_budget(spent, self.run.request.budgets, summarizer, prompt, request.max_summary_tokens,
                                        f"compaction by {summarizer.name}"):
                self.run.last_action = f"compaction skipped: {stop}"[:500]
                return f"compaction would pass the run's budget ({stop})"
        try:
            done = await self.run.activity(calls.SUMMARIZE, request,
                                           summary=summaries.compaction(start, end, summarizer.name))
        except ActivityError as e:
            raise_if_cancelled(e)
            self.run.last_action = f"compaction failed: {cause_of(e)}"[:500]
            return f"compaction failed: {cause_of(e)}"
        if counted:
            self.saved.usage.add_compaction(Usage(prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens,
                                            cached_prompt_tokens=done.cached_prompt_tokens, cost_usd=done.cost_usd),
                                      done.model)
        self.saved.transcript_ref = done.transcript
        self.saved.compacted_turns += done.summarized_messages
        self.saved.compactions.append(CompactionRecord(
            step=self.saved.step + 1, start=done.start, end=done.end, tokens_before=done.tokens_before,
            tokens_after=done.tokens_after, summary_digest=done.summary.digest, previous_head=done.previous.head))
        self.run.last_action = f"compacted turns {done.start}-{done.end}: {done.tokens_before} -> {done.tokens_after} tokens"
        self.run.emit("compacted", model=done.model, message=self.run.last_action)
        return None

    def _model_event(self, kind: Literal["routed", "fallback", "exhausted"], model: str | None, reason: str) -> None:
        self.saved.model_events.append(ModelEvent(step=self.saved.step + 1, kind=kind, model=model, reason=reason))
        self.run.emit("model", model_event=kind, model=model, message=reason)
        self.run.last_action = f"model {kind}: {model or '-'} ({reason})"[:300]
