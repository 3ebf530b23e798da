"""The activity spans a person reads in a trace: a model call with the provider's finish reason and
token usage, and a compaction with its before/after tokens, each once per attempt."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from activities.gateway.breaker import BreakerRegistry
from tests.conftest import wire_model, write_models_file
from tests.gateway.test_budgets import FLAT, read_then_count, start_reading
from tests.gateway.test_runs_through_the_gateway import gateway_worker
from tests.wire_server import ModelWireServer
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets


def span_exporter() -> InMemorySpanExporter:
    """Spans of this process, whichever SDK provider an earlier test installed (the global is set once)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


async def test_model_and_compaction_spans_carry_what_happened(dev_client, settings, tmp_path):
    exporter = span_exporter()
    with ModelWireServer(read_then_count) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("small", server, context_window=2400,
                                                                 max_output_tokens=128, price_per_mtok=FLAT))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry()):
            handle = await start_reading(dev_client, settings, path, Budgets(max_steps=6, max_tokens=10**7), lines=250)
            await handle.result()
            state = await handle.query(AgentRun.state)
    mine = [s for s in exporter.get_finished_spans()
            if s.attributes.get("gen_ai.request.model") == "small" or s.name == "agent.compaction"]
    chats = [s for s in mine if s.name.startswith("chat ")]
    compactions = [s for s in mine if s.name == "agent.compaction"]
    assert state.compactions and len(compactions) == state.usage.compaction_calls
    for span in compactions:
        assert span.attributes["agent.compaction.tokens_after"] < span.attributes["agent.compaction.tokens_before"]
    assert len(chats) == state.usage.model_calls == 6
    assert all(tuple(s.attributes["gen_ai.response.finish_reasons"]) == ("stop",) for s in chats)
    assert sum(s.attributes["gen_ai.usage.input_tokens"] for s in chats) + sum(
        s.attributes["gen_ai.usage.input_tokens"] for s in compactions) == state.usage.prompt_tokens
