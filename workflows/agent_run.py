"""AgentRun: one agent run as one Temporal workflow; its history is the run's event log.

Deterministic only: every model call and tool side effect is an activity, called through its stub in
workflows/calls.py, so this module imports no activity code. Time and ids come from workflow.now() and
the step counter. The run's state is one object (workflows/run.py), handed to the model half
(model_steps.py), the tool half (tool_steps.py) and the approval handlers (approval_handlers.py).
"""

from __future__ import annotations

import asyncio

from pydantic import ValidationError
from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream

from workflows import calls, run_events
from workflows.approval_handlers import ApprovalHandlers
from workflows.contracts import (
    ArchiveRecordsInput,
    BindStoresInput,
    Message,
    RecordArchive,
    RunRequest,
    RunResult,
    RunState,
    RunStatus,
    RunUsage,
    TranscriptRef,
    UserMessageInput,
    canonical_json,
)
from workflows.contracts.events import WARN_AT
from workflows.model_steps import ModelSteps
from workflows.run import Run
from workflows.run_events import RunEvents
from workflows.tool_steps import ToolSteps


def _spent(usage: RunUsage) -> tuple[float, float, float]:
    """What the budgets limit, in their order: model calls (steps), tokens, cost."""
    return usage.model_calls, usage.total_tokens, usage.cost_usd


# Approvals, model events and compactions a run keeps in its state; older ones are archived at
# continue-as-new, so the checkpoint never grows with the run's length.
RECENT_RECORDS = 50


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class AgentRun(ApprovalHandlers):
    # The halves a run is made of; tests/histories/variants.py swaps one to prove a history takes a path.
    state_type: type[Run] = Run
    model_half: type[ModelSteps] = ModelSteps
    tool_half: type[ToolSteps] = ToolSteps

    @workflow.init
    def __init__(self, request: RunRequest) -> None:
        self.run_state = self.state_type.start(request)
        # Built here, in @workflow.init itself: the library refuses any other caller.
        self.stream = WorkflowStream(prior_state=run_events.prior_state(request.carry.stream if request.carry else None))
        self.run_state.events = RunEvents(self.stream)
        self.model = self.model_half(self.run_state)
        self.tools = self.tool_half(self.run_state)

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
        run, saved = self.run_state, self.run_state.saved
        try:
            run.chain_id = self._run_chain_id()
            # What an approval's signature binds: the run chain, so a signature taken from a closed
            # run's history cannot approve the same call of a new run under a reused workflow id.
            # Runs that began before it keep the workflow id they may already have signatures for.
            run.approval_scope = (run.chain_id if workflow.patched("approvals-bound-to-chain")
                                  else workflow.info().workflow_id)
            if saved.stores is None and workflow.patched("store-binding"):
                # First, before any receipt, file or blob: the stores this run will use. Every later
                # activity goes to their queue, so a worker with another ledger never serves this run.
                saved.stores = await calls.BIND_STORES.execute(
                    BindStoresInput(), summary="bind the run to this worker's stores")
            if not saved.tools:
                saved.tools = await self.tools.load_tools()
            if saved.models is None and workflow.patched("model-gateway"):
                saved.models = await self.model.load_models()
                self.model.refuse_unknown_model()
                if workflow.patched("context-by-ref"):
                    saved.transcript_ref = TranscriptRef()
            if saved.transcript_ref is not None and saved.tools_ref is None and workflow.patched("tools-by-ref"):
                saved.tools_ref = await self.model.store_tools()
            # Only new runs can ask for these, so histories recorded before they existed never reach them.
            if run.request.files and run.request.carry is None and saved.step == 0:
                await self.tools.seed_workspace(run.request.files)
            if run.request.retrieve_first and run.request.carry is None and saved.step == 0:
                await self.model.retrieve_first()
            while True:
                run.raise_if_cancel_requested()
                await self._hold_while_paused()
                if stop := self._budget_stop():
                    return run.finish(RunStatus.BUDGET_EXCEEDED, None, stop)
                result = await self._step()
                if result is not None:
                    return result
                if workflow.info().is_continue_as_new_suggested():
                    if run.events is not None:
                        run.events.release_followers()
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    await self._archive_old_records()
                    run.telemetry.continuing(run)
                    workflow.continue_as_new(run.request.model_copy(update={"carry": run.checkpoint()}))
        except asyncio.CancelledError:
            run.finish(RunStatus.CANCELLED, None, "the run was cancelled")
            raise

    # ---- one step: model decision, then tools -------------------------------------------------

    async def _step(self) -> RunResult | None:
        run, saved = self.run_state, self.run_state.saved
        run.step_in_progress = saved.step + 1
        before = _spent(saved.usage)
        run.set_status(RunStatus.WAITING_FOR_MODEL)
        run.emit("step_started")
        self._drain_inbox()
        decided = await self.model.decide()
        run.raise_if_cancel_requested()
        if isinstance(decided, str):
            return run.finish(RunStatus.BUDGET_EXCEEDED, None, decided)
        saved.step += 1
        saved.usage.add(decided.usage, decided.model)
        decision = decided.decision
        saved.transcript.append(Message(role="assistant", content=canonical_json(decision.model_dump(exclude_none=True))))

        if decision.kind == "final_answer":
            run.last_action = "final answer"
            run.emit("step_finished")
            return run.finish(RunStatus.COMPLETED, decision.answer, None)
        if decision.kind == "ask_human":
            await self.tools.ask_human(decision.question or "")
        else:
            await self.tools.handle_tool_calls(decision.tool_calls)
            run.publish()
        run.emit("step_finished")
        self._warn_of_budgets(before)
        return None

    def _warn_of_budgets(self, before: tuple[float, float, float]) -> None:
        """Tell followers when this step took a budget past WARN_AT of its limit (once per budget)."""
        run = self.run_state
        budgets = run.request.budgets
        limits = (budgets.max_steps, budgets.max_tokens, budgets.max_cost_usd)
        for name, was, used, limit in zip(("steps", "tokens", "cost"), before, _spent(run.saved.usage), limits,
                                          strict=True):
            if limit and was < WARN_AT * limit <= used:
                run.emit("budget_warning", budget=name, message=f"{name}: {used:g} of {limit:g} used")

    # ---- handlers ------------------------------------------------------------------------------

    @workflow.query(name="state")
    def state(self) -> RunState:
        return self.run_state.query()

    @workflow.signal(name="pause")
    def pause(self) -> None:
        self.run_state.saved.paused = True

    @workflow.signal(name="resume")
    def resume(self) -> None:
        self.run_state.saved.paused = False

    @workflow.signal(name="user_message")
    def user_message(self, input: UserMessageInput) -> None:
        self.run_state.saved.pending_user_messages.append(f"Message from {input.user}: {input.text}")

    # ---- helpers -------------------------------------------------------------------------------

    async def _hold_while_paused(self) -> None:
        run = self.run_state
        if run.saved.paused:
            run.last_action = "paused"
            run.set_status(RunStatus.PAUSED)
            await workflow.wait_condition(lambda: not run.saved.paused)
            run.last_action = "resumed"
            run.set_status(RunStatus.PLANNING)

    def _drain_inbox(self) -> None:
        saved = self.run_state.saved
        saved.transcript.extend(Message(role="user", content=text) for text in saved.pending_user_messages)
        saved.pending_user_messages.clear()

    def _budget_stop(self) -> str | None:
        run, saved = self.run_state, self.run_state.saved
        budgets = run.request.budgets
        if saved.usage.model_calls >= budgets.max_steps:
            return f"step budget exhausted: {saved.usage.model_calls} of {budgets.max_steps} model calls used"
        if saved.usage.total_tokens >= budgets.max_tokens:
            return f"token budget exhausted: {saved.usage.total_tokens} of {budgets.max_tokens} tokens used"
        elapsed = (workflow.now() - saved.started_at).total_seconds()
        if elapsed >= budgets.max_wall_time_s:
            return f"wall-time budget exhausted: {elapsed:.0f} s of {budgets.max_wall_time_s:g} s"
        return None

    async def _archive_old_records(self) -> None:
        """Keep the checkpoint O(1) in the run's length: all but the newest RECENT_RECORDS approvals,
        model events and compactions go to the blob store (context.archive_records) before the carry is
        built; the state shows the recent ones and the archived counts. Patched: older runs carried all."""
        run, saved = self.run_state, self.run_state.saved
        old = ArchiveRecordsInput(previous=saved.archive.head, approvals=saved.approvals[:-RECENT_RECORDS],
                                  model_events=saved.model_events[:-RECENT_RECORDS],
                                  compactions=saved.compactions[:-RECENT_RECORDS])
        moved = (len(old.approvals), len(old.model_events), len(old.compactions))
        if not any(moved) or not workflow.patched("archive-records"):
            return
        head = await run.activity(calls.ARCHIVE_RECORDS, old,
                                  summary=f"archive {sum(moved)} old records before continue-as-new")
        saved.archive = RecordArchive(
            head=head.root, approvals=saved.archive.approvals + moved[0],
            model_events=saved.archive.model_events + moved[1], compactions=saved.archive.compactions + moved[2])
        # In place: `saved.approvals` is also the approvals' history (workflows/run.py).
        del saved.approvals[:moved[0]]
        del saved.model_events[:moved[1]]
        del saved.compactions[:moved[2]]
