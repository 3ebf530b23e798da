"""AgentRun: one agent run as one Temporal workflow; its history is the run's event log.

Deterministic only: every model call and tool side effect is an activity, referenced by name so this
module imports no activity code. Time and ids come from workflow.now() and the step counter.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import NoReturn

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
from temporalio.workflow import ActivityCancellationType

from workflows import search_attributes as sa
from workflows.approvals import Approvals
from workflows.context import TOOL_RESULT_HINT, assemble
from workflows.contracts import (
    ApproveInput,
    DecideInput,
    DecideResult,
    ExecuteToolInput,
    ListToolsResult,
    Message,
    ModelCatalogue,
    ModelEvent,
    PendingApproval,
    ProposedToolCall,
    RejectInput,
    RunCheckpoint,
    RunRequest,
    RunResult,
    RunState,
    RunStatus,
    RunUsage,
    ToolCall,
    ToolResult,
    ToolSpec,
    UserMessageInput,
    arguments_hash,
    canonical_json,
)
from workflows.policy import judge
from workflows.routing import CONTEXT_TOO_LONG, FALLBACK_ERRORS, estimate_tokens, next_call_cost, route
from workflows.retry import BOOKKEEPING_RETRY, MODEL_FINAL_ERRORS, MODEL_RETRY, tool_retry_policy, with_non_retryable

MODEL_TIMEOUT = timedelta(minutes=5)
MODEL_HEARTBEAT = timedelta(seconds=30)
_CANCEL_WAITS = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class AgentRun:
    @workflow.init
    def __init__(self, request: RunRequest) -> None:
        self.request = request
        carry = request.carry
        self.status = RunStatus.PLANNING
        self.step = carry.step if carry else 0
        self.started_at = carry.started_at if carry else workflow.now()
        self.transcript: list[Message] = list(carry.transcript) if carry else []
        self.tools: list[ToolSpec] = list(carry.tools) if carry else []
        self.usage = carry.usage.model_copy() if carry else RunUsage()
        self.approvals = Approvals(history=list(carry.approvals) if carry else [])
        self.inbox: list[str] = list(carry.pending_user_messages) if carry else []
        self.paused = carry.paused if carry else False
        self.continued_runs = carry.continued_runs if carry else 0
        self.question: str | None = None
        self.last_action: str | None = "continued as new" if carry else None
        self.result: RunResult | None = None
        self.models: ModelCatalogue | None = carry.models if carry else None
        self.model_events: list[ModelEvent] = list(carry.model_events) if carry else []
        self.current_model: str | None = None
        self._published: tuple | None = None

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        try:
            if not self.tools:
                self.tools = await self._load_tools()
            if self.models is None and workflow.patched("model-gateway"):
                self.models = await workflow.execute_activity(
                    "models.catalogue",
                    result_type=ModelCatalogue,
                    start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=BOOKKEEPING_RETRY,
                )
            while True:
                await self._hold_while_paused()
                if stop := self._budget_stop():
                    return self._finish(RunStatus.BUDGET_EXCEEDED, None, stop)
                result = await self._step()
                if result is not None:
                    return result
                if workflow.info().is_continue_as_new_suggested():
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    workflow.continue_as_new(self.request.model_copy(update={"carry": self._checkpoint()}))
        except asyncio.CancelledError:
            self._finish(RunStatus.CANCELLED, None, "the run was cancelled")
            raise

    # ---- one step: model decision, then tools -------------------------------------------------

    async def _step(self) -> RunResult | None:
        self._set_status(RunStatus.WAITING_FOR_MODEL)
        self._drain_inbox()
        decided = await self._decide()
        if isinstance(decided, str):
            return self._finish(RunStatus.BUDGET_EXCEEDED, None, decided)
        self.step += 1
        self.usage.add(decided.usage, decided.model)
        decision = decided.decision
        self.transcript.append(Message(role="assistant", content=canonical_json(decision.model_dump(exclude_none=True))))

        if decision.kind == "final_answer":
            self.last_action = "final answer"
            return self._finish(RunStatus.COMPLETED, decision.answer, None)
        if decision.kind == "ask_human":
            await self._ask_human(decision.question or "")
            return None
        for index, proposed in enumerate(decision.tool_calls, 1):
            await self._handle_tool_call(f"call-{self.step}-{index}", proposed)
        self._publish()
        return None

    async def _decide(self) -> DecideResult | str:
        """Route, call, and fall back along the route; a str is the reason the cost budget stops the run."""
        messages = assemble(self.request, self.transcript)
        kind = "plan" if self.step == 0 else "act"
        if self.models is None:  # a run started before the model gateway existed
            return await self._call_model(None, messages, kind)
        needed = estimate_tokens(messages, self.tools) + self.request.max_output_tokens
        excluded: set[str] = set()
        reason = ""
        while True:
            candidates = route(self.models, kind, self.request.data_class, needed, self.request.model, frozenset(excluded))
            if not candidates.models:
                self._model_event("exhausted", None, "; ".join(candidates.skipped))
                self._fail(f"no model could take step {self.step + 1} of this {self.request.data_class} run: "
                           + "; ".join(candidates.skipped))
            model = candidates.models[0]
            if (limit := self.request.budgets.max_cost_usd) is not None:
                worst = next_call_cost(model, needed, self.request.max_output_tokens)
                if self.usage.cost_usd + worst > limit:
                    return (f"cost budget: ${self.usage.cost_usd:.6f} spent, the next call to {model.name} may cost "
                            f"${worst:.6f}, limit ${limit:.6f}")
            if excluded:
                self._model_event("fallback", model.name, reason)
            elif model.name != self.current_model:
                self._model_event("routed", model.name, f"first eligible model of the {kind} route")
            self.current_model = model.name
            try:
                return await self._call_model(model.name, messages, kind)
            except ActivityError as e:
                _raise_if_cancelled(e)
                error_type = getattr(e.cause, "type", None)
                if error_type == CONTEXT_TOO_LONG:
                    needed = max(needed, model.context_window + 1)
                elif error_type not in FALLBACK_ERRORS:
                    self._fail(f"model call to {model.name} failed: {_cause(e)}")
                excluded.add(model.name)
                reason = f"{model.name} failed with {error_type}: {_cause(e)}"

    async def _call_model(self, model: str | None, messages: list[Message], kind: str) -> DecideResult:
        try:
            return await workflow.execute_activity(
                "model.decide",
                DecideInput(
                    messages=messages,
                    tools=self.tools,
                    model=model or self.request.model,
                    max_output_tokens=self.request.max_output_tokens,
                    step_kind=kind,
                    tenant_id=self.request.tenant_id,
                ),
                result_type=DecideResult,
                start_to_close_timeout=MODEL_TIMEOUT,
                heartbeat_timeout=MODEL_HEARTBEAT,
                retry_policy=with_non_retryable(MODEL_RETRY, MODEL_FINAL_ERRORS),
                cancellation_type=_CANCEL_WAITS,
            )
        except ActivityError as e:
            _raise_if_cancelled(e)
            if model is None:
                self._fail(f"model call failed: {_cause(e)}")
            raise

    def _model_event(self, kind: str, model: str | None, reason: str) -> None:
        self.model_events.append(ModelEvent(step=self.step + 1, kind=kind, model=model, reason=reason))
        self.last_action = f"model {kind}: {model or '-'} ({reason})"[:300]

    async def _handle_tool_call(self, call_id: str, proposed: ProposedToolCall) -> None:
        spec = next((t for t in self.tools if t.name == proposed.tool), None)
        verdict = judge(spec, proposed.tool, self.request)
        self.last_action = f"{proposed.tool} proposed ({call_id}): {verdict.action}"
        if verdict.action == "deny" or spec is None:
            result = ToolResult(status="denied", error_type="policy", message=verdict.reason)
        else:
            call = ToolCall(
                id=call_id,
                tool=spec.name,
                arguments=proposed.arguments,
                arguments_hash=arguments_hash(proposed.arguments),
                risk_level=spec.risk_level,
            )
            denial = await self._approval(call, verdict.reason) if verdict.action == "ask" else None
            result = denial or await self._execute(call, spec)
        self.transcript.append(
            Message(
                role="tool",
                name=proposed.tool,
                tool_call_id=call_id,
                content=canonical_json(result.model_dump(exclude_none=True, exclude={"from_ledger"}))
                + "\n"
                + TOOL_RESULT_HINT,
            )
        )

    async def _approval(self, call: ToolCall, reason: str) -> ToolResult | None:
        """Wait for a person's decision; None means approved. Expiry is a durable timer."""
        now = workflow.now()
        timeout = timedelta(seconds=self.request.approval_timeout_s)
        self.approvals.pending[call.id] = PendingApproval(
            tool_call_id=call.id,
            tool=call.tool,
            arguments=call.arguments,
            arguments_hash=call.arguments_hash,
            risk_level=call.risk_level,
            reason=reason,
            requested_at=now,
            expires_at=now + timeout,
        )
        self.last_action = f"waiting for approval of {call.tool} ({call.id})"
        self._set_status(RunStatus.WAITING_FOR_HUMAN)
        try:
            await workflow.wait_condition(lambda: call.id in self.approvals.decided, timeout=timeout)
        except asyncio.TimeoutError:
            self.approvals.decide(call.id, "expired", "system:approval_timer", workflow.now())
        record = self.approvals.close(call.id)
        self.last_action = f"{call.tool} ({call.id}) {record.decision} by {record.by}"
        if record.decision == "approved":
            return None
        if record.decision == "expired":
            message = f"nobody approved this call within {self.request.approval_timeout_s:g} s, so it was not run"
            return ToolResult(status="denied", error_type="approval_expired", message=message)
        comment = f": {record.comment}" if record.comment else ""
        return ToolResult(status="denied", error_type="rejected", message=f"{record.by} rejected this call{comment}")

    async def _execute(self, call: ToolCall, spec: ToolSpec) -> ToolResult:
        self._set_status(RunStatus.RUNNING_TOOL)
        run_id = workflow.info().workflow_id
        try:
            result = await workflow.execute_activity(
                "tools.execute",
                ExecuteToolInput(
                    run_id=run_id,
                    tenant_id=self.request.tenant_id,
                    user_id=self.request.user_id,
                    tool_call=call,
                    idempotency_key=f"{run_id}/{call.id}",
                ),
                result_type=ToolResult,
                start_to_close_timeout=timedelta(seconds=spec.timeout_s),
                heartbeat_timeout=timedelta(seconds=spec.heartbeat_timeout_s) if spec.heartbeat_timeout_s else None,
                retry_policy=tool_retry_policy(spec.idempotency),
                cancellation_type=_CANCEL_WAITS,
            )
        except ActivityError as e:
            _raise_if_cancelled(e)
            result = ToolResult(status="error", error_type="tool_failed", message=_cause(e))
        self.usage.tool_calls += 1
        self.last_action = f"{call.tool} ({call.id}) {result.status}"
        return result

    async def _ask_human(self, question: str) -> None:
        self.question = question
        self.last_action = "asked a person"
        self._set_status(RunStatus.WAITING_FOR_HUMAN)
        timeout = timedelta(seconds=self.request.approval_timeout_s)
        try:
            await workflow.wait_condition(lambda: bool(self.inbox), timeout=timeout)
        except asyncio.TimeoutError:
            self.inbox.append(f"(no answer within {self.request.approval_timeout_s:g} s; continue without one)")
        self.question = None

    # ---- handlers ------------------------------------------------------------------------------

    @workflow.query(name="state")
    def state(self) -> RunState:
        return RunState(
            status=self.status,
            step=self.step,
            goal=self.request.goal,
            tenant_id=self.request.tenant_id,
            last_action=self.last_action,
            pending_approvals=list(self.approvals.pending.values()),
            question=self.question,
            usage=self.usage,
            budgets=self.request.budgets,
            approvals=self.approvals.history,
            result=self.result,
            continued_runs=self.continued_runs,
            model_events=self.model_events,
        )

    @workflow.update(name="approve")
    def approve(self, input: ApproveInput) -> str:
        self.approvals.decide(input.tool_call_id, "approved", input.approver, workflow.now(), input.comment)
        return f"approved {input.tool_call_id}"

    @approve.validator
    def _validate_approve(self, input: ApproveInput) -> None:
        if problem := self.approvals.problem_with(input.tool_call_id):
            raise ValueError(problem)

    @workflow.update(name="reject")
    def reject(self, input: RejectInput) -> str:
        self.approvals.decide(input.tool_call_id, "rejected", input.approver, workflow.now(), input.comment)
        return f"rejected {input.tool_call_id}"

    @reject.validator
    def _validate_reject(self, input: RejectInput) -> None:
        if problem := self.approvals.problem_with(input.tool_call_id):
            raise ValueError(problem)

    # Fire-and-forget twins of the updates: a signal cannot be refused, so a bad id is only logged.
    @workflow.signal(name="approve")
    def approve_signal(self, input: ApproveInput) -> None:
        if problem := self.approvals.problem_with(input.tool_call_id):
            workflow.logger.warning("approve signal ignored: %s", problem)
            return
        self.approve(input)

    @workflow.signal(name="reject")
    def reject_signal(self, input: RejectInput) -> None:
        if problem := self.approvals.problem_with(input.tool_call_id):
            workflow.logger.warning("reject signal ignored: %s", problem)
            return
        self.reject(input)

    @workflow.signal(name="pause")
    def pause(self) -> None:
        self.paused = True

    @workflow.signal(name="resume")
    def resume(self) -> None:
        self.paused = False

    @workflow.signal(name="user_message")
    def user_message(self, input: UserMessageInput) -> None:
        self.inbox.append(f"Message from {input.user}: {input.text}")

    # ---- helpers -------------------------------------------------------------------------------

    async def _load_tools(self) -> list[ToolSpec]:
        listed = await workflow.execute_activity(
            "tools.list",
            result_type=ListToolsResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=BOOKKEEPING_RETRY,
        )
        allowed = self.request.allowed_tools
        if allowed is None:
            return listed.tools
        known = {t.name for t in listed.tools}
        if unknown := sorted(set(allowed) - known):
            self._fail(f"allowed_tools names unknown tools {unknown}; registered: {sorted(known)}")
        return [t for t in listed.tools if t.name in allowed]

    async def _hold_while_paused(self) -> None:
        if self.paused:
            self.last_action = "paused"
            self._set_status(RunStatus.PAUSED)
            await workflow.wait_condition(lambda: not self.paused)
            self.last_action = "resumed"
            self._set_status(RunStatus.PLANNING)

    def _drain_inbox(self) -> None:
        self.transcript.extend(Message(role="user", content=text) for text in self.inbox)
        self.inbox.clear()

    def _budget_stop(self) -> str | None:
        budgets = self.request.budgets
        if self.usage.model_calls >= budgets.max_steps:
            return f"step budget exhausted: {self.usage.model_calls} of {budgets.max_steps} model calls used"
        if self.usage.total_tokens >= budgets.max_tokens:
            return f"token budget exhausted: {self.usage.total_tokens} of {budgets.max_tokens} tokens used"
        elapsed = (workflow.now() - self.started_at).total_seconds()
        if elapsed >= budgets.max_wall_time_s:
            return f"wall-time budget exhausted: {elapsed:.0f} s of {budgets.max_wall_time_s:g} s"
        return None

    def _finish(self, status: RunStatus, answer: str | None, reason: str | None) -> RunResult:
        partial = next((m.content for m in reversed(self.transcript) if m.role in ("tool", "assistant")), None)
        self.result = RunResult(
            status=status,
            answer=answer,
            reason=reason,
            steps=self.step,
            usage=self.usage,
            partial_output=None if status == RunStatus.COMPLETED else partial,
        )
        self._set_status(status)
        return self.result

    def _fail(self, message: str) -> NoReturn:
        self._finish(RunStatus.FAILED, None, message)
        raise ApplicationError(message, type="AgentRunFailed", non_retryable=True)

    def _set_status(self, status: RunStatus) -> None:
        self.status = status
        self._publish()

    def _publish(self) -> None:
        """Mirror status, steps and cost into search attributes, only when they changed."""
        current = (self.status.value, self.step, self.request.tenant_id, round(self.usage.cost_usd, 6))
        if current == self._published:
            return
        self._published = current
        workflow.upsert_search_attributes(
            [
                sa.AGENT_STATUS.value_set(current[0]),
                sa.AGENT_STEPS.value_set(current[1]),
                sa.AGENT_TENANT.value_set(current[2]),
                sa.AGENT_COST_USD.value_set(current[3]),
            ]
        )

    def _checkpoint(self) -> RunCheckpoint:
        return RunCheckpoint(
            step=self.step,
            started_at=self.started_at,
            transcript=self.transcript,
            tools=self.tools,
            usage=self.usage,
            approvals=self.approvals.history,
            pending_user_messages=self.inbox,
            paused=self.paused,
            continued_runs=self.continued_runs + 1,
            models=self.models,
            model_events=self.model_events,
        )


def _raise_if_cancelled(e: ActivityError) -> None:
    """An activity cancelled because the run was cancelled ends the run as cancelled, not failed."""
    if isinstance(e.cause, CancelledError):
        raise asyncio.CancelledError(str(e.cause)) from e


def _cause(e: BaseException) -> str:
    """The innermost message: an ActivityError's own text only says 'Activity task failed'."""
    while e.__cause__ is not None:
        e = e.__cause__
    return str(e)
