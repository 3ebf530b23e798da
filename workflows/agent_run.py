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
from temporalio.exceptions import ApplicationError

from workflows import search_attributes as sa
from workflows.approval_handlers import ApprovalHandlers
from workflows.approvals import Approvals
from workflows.contracts import (
    ArchiveRecordsInput,
    ApproversPolicy,
    CompactionRecord,
    ContextState,
    Message,
    ModelCatalogue,
    ModelEvent,
    RecordArchive,
    RunCheckpoint,
    RunRequest,
    RunResult,
    RunState,
    RunStatus,
    RunUsage,
    StoreBinding,
    TokenCalibration,
    ToolSpec,
    TranscriptRef,
    UserMessageInput,
    canonical_json,
)
from workflows.model_steps import ModelSteps
from workflows.telemetry import RunTelemetry
from workflows.retry import BOOKKEEPING_RETRY
from workflows.tool_steps import ToolSteps

# Approvals, model events and compactions a run keeps in its state; older ones are archived at
# continue-as-new, so the checkpoint never grows with the run's length.
RECENT_RECORDS = 50


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class AgentRun(ModelSteps, ToolSteps, ApprovalHandlers):
    @workflow.init
    def __init__(self, request: RunRequest) -> None:
        self.request = request
        carry = request.carry
        self.status = RunStatus.PLANNING
        self.step = carry.step if carry else 0
        self.started_at = carry.started_at if carry else workflow.now()
        self.transcript: list[Message] = list(carry.transcript) if carry else []
        self.tools: list[ToolSpec] = list(carry.tools) if carry else []
        # Set once the catalogue is in the blob store; model calls then name it instead of carrying it.
        self.tools_ref: str | None = carry.tools_ref if carry else None
        # The pinned block (system prompt, policy, goal) once stored by a model call; not carried, so a
        # continued run stores it once more and then names it.
        self.pinned_ref: str | None = None
        self.usage = carry.usage.model_copy() if carry else RunUsage()
        self.approvals = Approvals(history=list(carry.approvals) if carry else [])
        # The approvers file as this run loaded it (before its first approval); None for runs that
        # started before signed approvals, which keep the unsigned rule they started with.
        self.approvers: ApproversPolicy | None = carry.approvers if carry else None
        self.inbox: list[str] = list(carry.pending_user_messages) if carry else []
        self.paused = carry.paused if carry else False
        self.continued_runs = carry.continued_runs if carry else 0
        self.question: str | None = None
        self.last_action: str | None = "continued as new" if carry else None
        self.result: RunResult | None = None
        self.tenant_allowed: list[str] | None = carry.tenant_allowed_tools if carry else None
        self.models: ModelCatalogue | None = carry.models if carry else None
        # Set when the transcript lives in the blob store; `transcript` then holds only what is new.
        self.transcript_ref: TranscriptRef | None = carry.transcript_ref if carry else None
        self.compactions: list[CompactionRecord] = list(carry.compactions) if carry else []
        self.last_prompt_tokens = carry.last_prompt_tokens if carry else 0
        # How each model's server counts this run's prompts: the run's own, so any worker packs alike.
        self.calibrations: dict[str, TokenCalibration] = dict(carry.calibrations) if carry else {}
        self.compacted_turns = carry.compacted_turns if carry else 0
        self.context: ContextState | None = None
        self.model_events: list[ModelEvent] = list(carry.model_events) if carry else []
        self.archive = carry.archive if carry else RecordArchive()
        self.current_model: str | None = carry.current_model if carry else None
        self._published: tuple | None = None
        # The stores the chain's effects, files and transcript live in (activities/stores.py).
        self.stores: StoreBinding | None = carry.stores if carry else None
        self.chain_id = ""  # set first thing in run(): see _run_chain_id
        self.approval_scope = ""
        self.telemetry = RunTelemetry()  # details, metrics and spans; reads the run, never changes it

    def _run_chain_id(self) -> str:
        """What keys this run's effects, workspace and run-scoped memories: the workflow id and the
        chain's first run id. The same across retries, continue-as-new and reset (a reset run keeps
        its chain's first run id), and new when a workflow id is reused, so a second run under a
        closed run's id never gets the first one's receipts. Runs recorded before it keep the bare
        workflow id they started with."""
        info = workflow.info()
        if workflow.patched("run-chain-keys"):
            return f"{info.workflow_id}/{info.first_execution_run_id}"
        return info.workflow_id

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        try:
            self.chain_id = self._run_chain_id()
            # What an approval's signature binds: the run chain, so a signature taken from a closed
            # run's history cannot approve the same call of a new run under a reused workflow id.
            # Runs that began before it keep the workflow id they may already have signatures for.
            self.approval_scope = (self.chain_id if workflow.patched("approvals-bound-to-chain")
                                   else workflow.info().workflow_id)
            if self.stores is None and workflow.patched("store-binding"):
                # First, before any receipt, file or blob: the stores this run will use. Every later
                # activity goes to their queue, so a worker with another ledger never serves this run.
                self.stores = await workflow.execute_activity(
                    "stores.bind", result_type=StoreBinding, start_to_close_timeout=timedelta(seconds=30),
                    retry_policy=BOOKKEEPING_RETRY, summary="bind the run to this worker's stores")
            if not self.tools:
                self.tools = await self._load_tools()
            if self.models is None and workflow.patched("model-gateway"):
                self.models = await self._load_models()
                self._refuse_unknown_model()
                if workflow.patched("context-by-ref"):
                    self.transcript_ref = TranscriptRef()
            if self.transcript_ref is not None and self.tools_ref is None and workflow.patched("tools-by-ref"):
                self.tools_ref = await self._store_tools()
            # Only new runs can ask for it, so histories recorded before it existed never reach it.
            if self.request.retrieve_first and self.request.carry is None and self.step == 0:
                await self._retrieve_first()
            while True:
                self._raise_if_cancel_requested()
                await self._hold_while_paused()
                if stop := self._budget_stop():
                    return self._finish(RunStatus.BUDGET_EXCEEDED, None, stop)
                result = await self._step()
                if result is not None:
                    return result
                if workflow.info().is_continue_as_new_suggested():
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    await self._archive_old_records()
                    self.telemetry.continuing(self)
                    workflow.continue_as_new(self.request.model_copy(update={"carry": self._checkpoint()}))
        except asyncio.CancelledError:
            self._finish(RunStatus.CANCELLED, None, "the run was cancelled")
            raise

    # ---- one step: model decision, then tools -------------------------------------------------

    async def _step(self) -> RunResult | None:
        self._set_status(RunStatus.WAITING_FOR_MODEL)
        self._drain_inbox()
        decided = await self._decide()
        self._raise_if_cancel_requested()
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
        await self._handle_tool_calls(decision.tool_calls)
        self._publish()
        return None

    def _refuse_unknown_model(self) -> None:
        """`"model": "gpt-99"` is a mistake to report, not a reason to quietly use the default model.
        Patched inside the branch, so only runs that name an unknown model record the marker."""
        wanted = self.request.model
        known = sorted(m.name for m in self.models.models) if self.models else []
        if wanted and known and wanted not in known and workflow.patched("refuse-unknown-model"):
            self._fail(f"unknown model {wanted!r}; this worker's models file has {known}")

    def _raise_if_cancel_requested(self) -> None:
        """Honour a cancel that an activity swallowed. An activity that completes after the run is
        cancelled hands back its result and the SDK clears the cancellation (WAIT_CANCELLATION_COMPLETED),
        so without this the run would go on, e.g. into a 24 h approval wait, and never end cancelled.
        Patched so runs recorded before it replay as they ran."""
        if workflow.cancellation_reason() is not None and workflow.patched("late-cancel"):
            raise asyncio.CancelledError()

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
            pending_resolutions=list(self.approvals.unresolved.values()),
            question=self.question,
            usage=self.usage,
            budgets=self.request.budgets,
            approvals=self.approvals.history,
            result=self.result,
            continued_runs=self.continued_runs,
            model_events=self.model_events,
            transcript=self.transcript_ref,
            compactions=self.compactions,
            archived=self.archive,
            approval_scope=self.approval_scope,
            stores=self.stores,
            context=self.context,
        )

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
        """Mirror status, steps and cost into search attributes, only when they changed. New runs show
        the busy statuses as `running` and send only the attributes that changed: one small upsert
        per step. Patched: runs recorded before sent all four on every status change."""
        self.telemetry.observe(self)
        one_per_step = workflow.patched(sa.ONE_UPSERT_PATCH)
        status = sa.visible_status(self.status.value) if one_per_step else self.status.value
        current = (status, self.step, self.request.tenant_id, round(self.usage.cost_usd, 6))
        if current == self._published:
            return
        previous, self._published = self._published, current
        keys = (sa.AGENT_STATUS, sa.AGENT_STEPS, sa.AGENT_TENANT, sa.AGENT_COST_USD)
        workflow.upsert_search_attributes([
            key.value_set(value) for i, (key, value) in enumerate(zip(keys, current))
            if not one_per_step or previous is None or previous[i] != value
        ])

    async def _archive_old_records(self) -> None:
        """Keep the checkpoint O(1) in the run's length: all but the newest RECENT_RECORDS approvals,
        model events and compactions go to the blob store (context.archive_records) before the carry is
        built; the state shows the recent ones and the archived counts. Patched: older runs carried all."""
        old = {kind: records[:-RECENT_RECORDS] for kind, records in (
            ("approvals", self.approvals.history), ("model_events", self.model_events),
            ("compactions", self.compactions))}
        if not any(old.values()) or not workflow.patched("archive-records"):
            return
        head = await self._activity(
            "context.archive_records", ArchiveRecordsInput(previous=self.archive.head, **old), result_type=str,
            start_to_close_timeout=timedelta(seconds=30), retry_policy=BOOKKEEPING_RETRY,
            summary=f"archive {sum(map(len, old.values()))} old records before continue-as-new")
        self.archive = RecordArchive(
            head=head, approvals=self.archive.approvals + len(old["approvals"]),
            model_events=self.archive.model_events + len(old["model_events"]),
            compactions=self.archive.compactions + len(old["compactions"]))
        del self.approvals.history[:len(old["approvals"])]
        del self.model_events[:len(old["model_events"])]
        del self.compactions[:len(old["compactions"])]

    def _activity(self, activity: str, *args, **kwargs):
        """workflow.execute_activity, sent to the run's store queue once the run is bound."""
        if self.stores is not None and self.stores.task_queue:
            kwargs.setdefault("task_queue", self.stores.task_queue)
        return workflow.execute_activity(activity, *args, **kwargs)

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
            tenant_allowed_tools=self.tenant_allowed,
            transcript_ref=self.transcript_ref,
            compactions=self.compactions,
            archive=self.archive,
            current_model=self.current_model,
            last_prompt_tokens=self.last_prompt_tokens,
            tools_ref=self.tools_ref,
            approvers=self.approvers,
            stores=self.stores,
            calibrations=self.calibrations,
            compacted_turns=self.compacted_turns,
        )
