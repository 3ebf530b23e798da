"""The run seen from outside while it runs: current details, agent metrics and spans, derived from the
state the workflow publishes (Run.publish calls `observe` on each change it publishes).

Replay-safe by construction, with the SDK doing the work:
- `workflow.set_current_details` is metadata the SDK keeps in memory; it issues no command.
- `workflow.metric_meter()` records nothing while a worker replays history, so each counter moves
  once per event however often the run is replayed (a restart, a cache eviction).
- Spans come from the global tracer provider, which the worker sets to the SDK's replay-safe one
  (temporalio.contrib.opentelemetry.create_tracer_provider, worker/tracing.py): span ids come from the
  workflow's seeded random and a span ended during replay is not exported again. Without tracing
  configured the OpenTelemetry API hands out no-op spans.

The observer only reads the run: it never changes state or issues a command, so adding or changing it
keeps every recorded history replaying.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from temporalio import workflow

from workflows import summaries
from workflows.contracts import RunStatus

if TYPE_CHECKING:  # run.py builds a RunTelemetry: import only for the type
    from workflows.run import Run

TERMINAL = {RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.BUDGET_EXCEEDED}
_TRACER = "agent_engine.workflow"


def _ns(at: datetime) -> int:
    return int(at.timestamp() * 1_000_000_000)


class _Metrics:
    """The agent metrics a workflow emits; names are what Prometheus and docs/grafana-agent.json show."""

    def __init__(self) -> None:
        meter = workflow.metric_meter()
        self.runs_started = meter.create_counter("agent_runs_started", "runs started (not continued-as-new)")
        self.runs_finished = meter.create_counter("agent_runs_finished", "runs ended, by status and tenant")
        self.steps = meter.create_counter("agent_steps", "model decisions taken, by model and tenant")
        self.tokens = meter.create_counter("agent_tokens", "tokens by model, tenant and kind", "tokens")
        self.cost = meter.create_counter("agent_cost_microusd", "spend in millionths of a USD, by model and tenant")
        self.approval_wait = meter.create_histogram_float(
            "agent_approval_wait_seconds", "time from an approval request to its decision", "s")
        self.approvals = meter.create_counter("agent_approvals", "approval decisions by tool and decision")
        self.outcome_unknown = meter.create_counter("agent_outcome_unknown", "tool calls whose outcome was unknown")
        self.budget_stops = meter.create_counter("agent_budget_stops", "runs stopped by a budget, by budget")
        self.carried = meter.create_histogram_float(
            "agent_context_carried_ratio", "of the run's transcript messages, the share a model call carried")
        self.prompt_tokens = meter.create_histogram(
            "agent_context_prompt_tokens", "a model call's prompt as packed, in the server's tokens", "tokens")
        self.estimate_error = meter.create_histogram_float(
            "agent_context_estimate_ratio", "the server's count of a prompt over the packer's (1 is exact)")


class RunTelemetry:
    """Per run: what it last published, so each event is reported once."""

    def __init__(self) -> None:
        self._metrics: _Metrics | None = None
        self._details: str | None = None
        self._step = -1
        self._usage: dict[str, tuple[int, int, int, int]] = {}
        self._pending: dict[str, Any] = {}
        self._unknown: set[str] = set()
        self._finished = False
        self._step_span: trace.Span | None = None
        self._step_span_number = 0

    def _meter(self) -> _Metrics:
        if self._metrics is None:
            self._metrics = _Metrics()
        return self._metrics

    def observe(self, run: Run) -> None:
        """Called with the run each time it publishes its state."""
        tenant = run.request.tenant_id
        m = self._meter()
        if self._step < 0:
            self._step = run.saved.step
            self._usage = {name: _totals(u) for name, u in run.saved.usage.by_model.items()}
            if run.request.carry is None:
                m.runs_started.add(1, {"tenant": tenant})
        if run.saved.step > self._step:
            m.steps.add(run.saved.step - self._step, {"tenant": tenant, "model": run.saved.current_model or "default"})
            self._step = run.saved.step
        self._count_usage(run, tenant)
        self._track_approvals(run)
        self._track_steps(run)
        if run.status in TERMINAL and not self._finished:
            self._finished = True
            self._end_step_span()
            m.runs_finished.add(1, {"tenant": tenant, "status": run.status.value})
            if run.status == RunStatus.BUDGET_EXCEEDED:
                reason = (run.result.reason if run.result else None) or ""
                m.budget_stops.add(1, {"tenant": tenant, "budget": _budget_kind(reason)})
        self._publish_details(run)

    def context_packed(self, run: Run) -> None:
        """A model call was packed (and sent, unless it did not fit): how much of the run it carried."""
        context, m = run.context, self._meter()
        if context is None:
            return
        labels = {"tenant": run.request.tenant_id, "model": context.model}
        sent = context.sent_messages if context.transcript_messages else 1
        m.carried.record(sent / max(context.transcript_messages, 1), labels)
        if context.sent_messages or not context.transcript_messages:
            m.prompt_tokens.record(context.prompt_tokens, labels)
        if context.reported_prompt_tokens and context.prompt_tokens:
            m.estimate_error.record(context.reported_prompt_tokens / context.prompt_tokens, labels)

    def continuing(self, run: Run) -> None:
        """The run continues as new: close its step span and say so in its details."""
        self._track_approvals(run)
        self._end_step_span()
        self._publish_details(run, f"continued as new (run {run.saved.continued_runs + 2} of this chain)")

    # ---- parts ---------------------------------------------------------------------------------

    def _count_usage(self, run: Run, tenant: str) -> None:
        m = self._meter()
        for name, usage in run.saved.usage.by_model.items():
            before = self._usage.get(name, (0, 0, 0, 0))
            now = _totals(usage)
            if now == before:
                continue
            labels = {"tenant": tenant, "model": name}
            for kind, delta in (("prompt", now[0] - before[0]), ("completion", now[1] - before[1]),
                                ("cached_prompt", now[2] - before[2])):
                if delta > 0:
                    m.tokens.add(delta, {**labels, "kind": kind})
            if now[3] > before[3]:
                m.cost.add(now[3] - before[3], labels)
            self._usage[name] = now

    def _track_approvals(self, run: Run) -> None:
        m = self._meter()
        pending = run.approvals.pending
        for call_id, waiting in list(self._pending.items()):
            if call_id in pending:
                continue
            del self._pending[call_id]
            record = next((r for r in reversed(run.approvals.history) if r.tool_call_id == call_id), None)
            if record is None:
                continue
            waited = max((record.at - waiting.requested_at).total_seconds(), 0.0)
            m.approval_wait.record(waited, {"tool": waiting.tool, "decision": record.decision})
            m.approvals.add(1, {"tool": waiting.tool, "decision": record.decision})
            span = trace.get_tracer(_TRACER).start_span(
                f"agent.approval_wait {waiting.tool}", start_time=_ns(waiting.requested_at),
                attributes={"agent.tool": waiting.tool, "agent.tool_call_id": call_id,
                            "agent.risk_level": waiting.risk_level, "agent.approval.decision": record.decision,
                            "agent.approval.by": record.by, "agent.approval.verified": record.verified,
                            "agent.approval.wait_s": waited})
            span.end(end_time=_ns(record.at))
        for call_id, waiting in pending.items():
            self._pending.setdefault(call_id, waiting)
        for call_id, unresolved in run.approvals.unresolved.items():
            if call_id not in self._unknown:
                self._unknown.add(call_id)
                m.outcome_unknown.add(1, {"tool": unresolved.tool})

    def _track_steps(self, run: Run) -> None:
        """One span per step: from asking the model to the next step (or the run's end)."""
        if run.status != RunStatus.WAITING_FOR_MODEL:
            return
        number = run.saved.step + 1
        if self._step_span is not None and self._step_span_number == number:
            return  # the same step published again (e.g. after a model fallback)
        self._end_step_span()
        self._step_span_number = number
        self._step_span = trace.get_tracer(_TRACER).start_span(
            f"agent.step {number}", attributes={"agent.step": number, "agent.tenant": run.request.tenant_id,
                                                "temporalWorkflowID": workflow.info().workflow_id,
                                                "temporalRunID": workflow.info().run_id})

    def _end_step_span(self) -> None:
        if self._step_span is not None:
            self._step_span.end()
            self._step_span = None

    def _publish_details(self, run: Run, last_action: str | None = None) -> None:
        details = summaries.current_details(
            run_id=workflow.info().workflow_id, status=run.status.value, step=run.saved.step,
            last_action=last_action or run.last_action, usage=run.saved.usage, budgets=run.request.budgets,
            pending=list(run.approvals.pending.values()), unresolved=list(run.approvals.unresolved.values()),
            question=run.question, continued_runs=run.saved.continued_runs, now=workflow.now())
        if details != self._details:
            self._details = details
            workflow.set_current_details(details)


def _totals(usage: Any) -> tuple[int, int, int, int]:
    return (usage.prompt_tokens, usage.completion_tokens, usage.cached_prompt_tokens,
            round(usage.cost_usd * 1_000_000))


def _budget_kind(reason: str) -> str:
    for kind in ("step", "token", "cost", "wall-time"):
        if reason.startswith(kind) or f"{kind} budget" in reason:
            return kind
    return "other"
