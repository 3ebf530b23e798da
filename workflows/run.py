"""The run's state as the workflow holds it: one declared object, handed to the model half, the tool
half and the approval handlers, so a reader sees which part reads and writes what.

`saved` is everything continue-as-new carries (RunCheckpoint, a wire type): a continued run starts
from it and the next checkpoint is a copy of it. The other fields live only as long as this workflow
execution. The `state` query is built from both (`query`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ApplicationError

from workflows import search_attributes as sa
from workflows.approvals import Approvals
from workflows.calls import ActivityStub
from workflows.contracts import (
    ContextState,
    EventKind,
    RunCheckpoint,
    RunRequest,
    RunResult,
    RunState,
    RunStatus,
    RunUsage,
)
from workflows.run_events import RunEvents
from workflows.telemetry import RunTelemetry

I = TypeVar("I")  # noqa: E741 (an activity's input type)
R = TypeVar("R")


@dataclass
class Run:
    request: RunRequest
    saved: RunCheckpoint
    # Pending approvals and resolutions, and decisions not yet taken in; its `history` is
    # `saved.approvals`, the same list, so the audit trail is carried without a copy.
    approvals: Approvals
    status: RunStatus = RunStatus.PLANNING
    question: str | None = None
    last_action: str | None = None
    result: RunResult | None = None
    # What the last model call carried of the transcript (None until one reported it).
    context: ContextState | None = None
    # The pinned block (system prompt, policy, goal) once stored by a model call; not carried, so a
    # continued run stores it once more and then names it.
    pinned_ref: str | None = None
    # What keys the chain's effects, workspace and run-scoped memories (set first thing in run()).
    chain_id: str = ""
    # What an approval's signature binds.
    approval_scope: str = ""
    telemetry: RunTelemetry = field(default_factory=RunTelemetry)
    published: tuple[Any, ...] | None = None
    # The run's event stream (workflows/run_events.py); set by AgentRun.__init__, which must build it.
    events: RunEvents | None = None
    # The step the run is working on, counting from 1: what events are stamped with.
    step_in_progress: int = 0

    @classmethod
    def start(cls, request: RunRequest) -> Run:
        """A new run, or a continued one from the checkpoint its request carries."""
        carry = request.carry
        if carry is None:
            saved = RunCheckpoint(step=0, started_at=workflow.now(), transcript=[], tools=[], usage=RunUsage(),
                                  approvals=[], pending_user_messages=[], paused=False, continued_runs=0)
            return cls(request=request, saved=saved, approvals=Approvals(history=saved.approvals))
        saved = carry.model_copy(deep=True)
        return cls(request=request, saved=saved, approvals=Approvals(history=saved.approvals),
                   last_action="continued as new", step_in_progress=saved.step)

    def checkpoint(self) -> RunCheckpoint:
        """What the next run of the chain starts from."""
        stream = self.events.checkpoint() if self.events is not None else None
        return self.saved.model_copy(update={"continued_runs": self.saved.continued_runs + 1, "stream": stream})

    def query(self) -> RunState:
        saved = self.saved
        return RunState(
            status=self.status,
            step=saved.step,
            goal=self.request.goal,
            tenant_id=self.request.tenant_id,
            last_action=self.last_action,
            pending_approvals=list(self.approvals.pending.values()),
            pending_resolutions=list(self.approvals.unresolved.values()),
            question=self.question,
            usage=saved.usage,
            budgets=self.request.budgets,
            approvals=saved.approvals,
            result=self.result,
            continued_runs=saved.continued_runs,
            model_events=saved.model_events,
            transcript=saved.transcript_ref,
            compactions=saved.compactions,
            archived=saved.archive,
            approval_scope=self.approval_scope,
            stores=saved.stores,
            context=self.context,
        )

    # ---- what both halves do to the run ------------------------------------------------------------

    def activity(self, stub: ActivityStub[I, R], input: I, *, summary: str, **overrides: Any) -> Awaitable[R]:
        """Call an activity; once the run is bound to stores, on their queue."""
        queue = self.saved.stores.task_queue if self.saved.stores is not None else None
        return stub.execute(input, summary=summary, task_queue=queue, **overrides)

    def raise_if_cancel_requested(self) -> None:
        """Honour a cancel that an activity swallowed. An activity that completes after the run is
        cancelled hands back its result and the SDK clears the cancellation (WAIT_CANCELLATION_COMPLETED),
        so without this the run would go on, e.g. into a 24 h approval wait, and never end cancelled.
        Patched so runs recorded before it replay as they ran."""
        if workflow.cancellation_reason() is not None and workflow.patched("late-cancel"):
            raise asyncio.CancelledError()

    def emit(self, kind: EventKind, **fields: Any) -> None:
        """Tell the run's followers (workflows/run_events.py); no command, nothing in history."""
        if self.events is not None:
            self.events.emit(kind, self.step_in_progress, **fields)

    def finish(self, status: RunStatus, answer: str | None, reason: str | None) -> RunResult:
        saved = self.saved
        partial = next((m.content for m in reversed(saved.transcript) if m.role in ("tool", "assistant")), None)
        self.result = RunResult(
            status=status,
            answer=answer,
            reason=reason,
            steps=saved.step,
            usage=saved.usage,
            partial_output=None if status == RunStatus.COMPLETED else partial,
        )
        self.set_status(status)
        self.emit("result", status=status.value, message=answer if status == RunStatus.COMPLETED else reason)
        if self.events is not None:
            self.events.release_followers()
        return self.result

    def fail(self, message: str) -> NoReturn:
        self.finish(RunStatus.FAILED, None, message)
        raise ApplicationError(message, type="AgentRunFailed", non_retryable=True)

    def set_status(self, status: RunStatus) -> None:
        changed, self.status = status != self.status, status
        if changed:
            self.emit("status", status=status.value)
        self.publish()

    def publish(self) -> None:
        """Mirror status, steps and cost into search attributes, only when they changed. New runs show
        the busy statuses as `running` and send only the attributes that changed: one small upsert
        per step. Patched: runs recorded before sent all four on every status change."""
        self.telemetry.observe(self)
        one_per_step = workflow.patched(sa.ONE_UPSERT_PATCH)
        status = sa.visible_status(self.status.value) if one_per_step else self.status.value
        current = (status, self.saved.step, self.request.tenant_id, round(self.saved.usage.cost_usd, 6))
        if current == self.published:
            return
        previous, self.published = self.published, current
        updates: tuple[SearchAttributeUpdate[Any], ...] = (sa.AGENT_STATUS.value_set(status), sa.AGENT_STEPS.value_set(current[1]),
                   sa.AGENT_TENANT.value_set(current[2]), sa.AGENT_COST_USD.value_set(current[3]))
        workflow.upsert_search_attributes([
            update for i, update in enumerate(updates)
            if not one_per_step or previous is None or previous[i] != current[i]
        ])
