"""Spans and metrics for what activities do: model calls (OpenTelemetry GenAI semantic conventions),
tool calls, compaction and retrieval. An activity interceptor, so activity code stays as it is.

Activities are never replayed, only retried: each attempt is one span and counts once, which is what
happened (a provider call that was paid for and then lost is still a call). The span is a child of the
SDK plugin's `RunActivity` span, inside the run's trace. With tracing off the spans are no-ops; the
metrics go to the worker's Prometheus endpoint (AGENT_METRICS_ADDRESS) through activity.metric_meter().
"""

from __future__ import annotations

import time
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode
from temporalio import activity
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

_TRACER = "agent_engine.activities"

log = structlog.get_logger(__name__)


def model_attributes(input: Any, result: Any) -> dict[str, Any]:
    """GenAI semantic conventions for one decision (plus the cost the gateway priced)."""
    decide = getattr(input, "decide", input)
    decided = getattr(result, "result", result)
    usage = decided.usage
    return {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": decide.model or "",
        "gen_ai.response.model": decided.model,
        "gen_ai.provider.name": decided.provider,
        "gen_ai.system": decided.provider,
        "gen_ai.request.max_tokens": decide.max_output_tokens,
        "gen_ai.usage.input_tokens": usage.prompt_tokens,
        "gen_ai.usage.output_tokens": usage.completion_tokens,
        "gen_ai.usage.cache_read.input_tokens": usage.cached_prompt_tokens,
        "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
        "gen_ai.response.finish_reasons": [decided.finish_reason or "unknown"],
        "agent.decision": decided.decision.kind,
        "agent.cost_usd": usage.cost_usd,
        "agent.tenant": decide.tenant_id,
        "agent.step_kind": decide.step_kind,
        "agent.repair_attempts": decided.repair_attempts,
    }


def tool_outcome(result: Any) -> str:
    """What the ledger did with the call: ran it, returned its receipt, or could not tell."""
    if result.error_type == "outcome_unknown":
        return "outcome_unknown"
    if result.from_ledger:
        return "replayed_from_ledger"
    return result.status


class _Spans(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        kind = activity.info().activity_type
        describe = _DESCRIBE.get(kind)
        if describe is None:
            return await super().execute_activity(input)
        arg: Any = input.args[0] if input.args else None
        name, attributes = describe(arg)
        tracer = trace.get_tracer(_TRACER)
        attributes["agent.attempt"] = activity.info().attempt
        started = time.monotonic()
        with tracer.start_as_current_span(name, attributes=attributes, record_exception=True) as span:
            try:
                result = await super().execute_activity(input)
            except BaseException as e:
                span.set_status(Status(StatusCode.ERROR, f"{type(e).__name__}: {e}"[:300]))
                if kind == "tools.execute":
                    _tool_calls().add(1, {"tool": arg.tool_call.tool, "outcome": "attempt_failed"})
                raise
            finish = _FINISH.get(kind)
            if finish is not None:
                try:
                    finish(span, arg, result, time.monotonic() - started)
                except Exception as e:  # noqa: BLE001 - telemetry never fails the activity it observes
                    log.warning("telemetry.unreadable_result", activity=kind, error=f"{type(e).__name__}: {e}")
            return result


def _describe_model(arg: Any) -> tuple[str, dict[str, Any]]:
    decide = getattr(arg, "decide", arg)
    return f"chat {decide.model or 'default'}", {"gen_ai.operation.name": "chat",
                                                  "gen_ai.request.model": decide.model or ""}


def _finish_model(span: Any, arg: Any, result: Any, _elapsed: float) -> None:
    if getattr(result, "result", result) is not None:
        span.set_attributes(model_attributes(arg, result))
    if hasattr(result, "pack"):
        span.set_attributes({"agent.context.prompt_tokens": result.pack.total_tokens,
                             "agent.context.over_budget": result.pack.over_budget})


def _describe_tool(arg: Any) -> tuple[str, dict[str, Any]]:
    call = arg.tool_call
    return f"execute_tool {call.tool}", {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": call.tool, "gen_ai.tool.call.id": call.id,
        "agent.risk_level": call.risk_level, "agent.idempotency_key": arg.idempotency_key,
        "agent.tenant": arg.tenant_id}


def _finish_tool(span: Any, arg: Any, result: Any, _elapsed: float) -> None:
    outcome = tool_outcome(result)
    span.set_attributes({"agent.ledger.outcome": outcome, "agent.tool.status": result.status,
                         "error.type": result.error_type or ""})
    _tool_calls().add(1, {"tool": arg.tool_call.tool, "outcome": outcome})


def _describe_compaction(arg: Any) -> tuple[str, dict[str, Any]]:
    return "agent.compaction", {"gen_ai.operation.name": "chat", "gen_ai.request.model": arg.model,
                                "agent.compaction.start": arg.start, "agent.compaction.end": arg.end}


def _finish_compaction(span: Any, _arg: Any, result: Any, _elapsed: float) -> None:
    span.set_attributes({"agent.compaction.messages": result.summarized_messages,
                         "agent.compaction.tokens_before": result.tokens_before,
                         "agent.compaction.tokens_after": result.tokens_after,
                         "gen_ai.usage.input_tokens": result.prompt_tokens,
                         "gen_ai.usage.output_tokens": result.completion_tokens,
                         "gen_ai.usage.cache_read.input_tokens": result.cached_prompt_tokens,
                         "agent.cost_usd": result.cost_usd})


def _describe_retrieval(arg: Any) -> tuple[str, dict[str, Any]]:
    return "agent.retrieval", {"agent.tenant": arg.access.tenant_id, "agent.query_chars": len(arg.query)}


def _finish_retrieval(span: Any, _arg: Any, result: Any, _elapsed: float) -> None:
    span.set_attributes({"agent.retrieval.passages": len(result.passages),
                         "agent.retrieval.memories": len(result.memory_ids)})


_DESCRIBE = {"model.decide": _describe_model, "model.decide_with_context": _describe_model,
             "tools.execute": _describe_tool, "context.summarize": _describe_compaction,
             "retrieval.context": _describe_retrieval}
_FINISH = {"model.decide": _finish_model, "model.decide_with_context": _finish_model,
           "tools.execute": _finish_tool, "context.summarize": _finish_compaction,
           "retrieval.context": _finish_retrieval}


def _tool_calls() -> Any:
    return activity.metric_meter().create_counter("agent_tool_calls", "tool call attempts by tool and outcome")


class ActivityTelemetry(Interceptor):
    """Add to the worker's interceptors (worker/main.py does)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Spans(next)
