"""Tracing, built on the SDK's OpenTelemetry support: one trace per run, never a span twice on replay.

`temporalio.contrib.opentelemetry.OpenTelemetryPlugin` (on the client, so the worker inherits it)
carries the trace context from the starter into the workflow and from the workflow into each
activity; with `add_temporal_spans` it also opens a `RunWorkflow:AgentRun` span around the run and a
`StartActivity`/`RunActivity` pair per activity. The tracer provider is the SDK's replay-safe one
(`create_tracer_provider`): inside a workflow its span ids come from the workflow's seeded random and
a span ended while a worker replays history is not exported, so a worker restarted mid-run re-creates
the spans of the past in memory but exports only the ones it finishes. A run started without a trace
(the `temporal` CLI) gets its own: the `RunWorkflow` span is the root.

What is exported, and where:
- `OTEL_EXPORTER_OTLP_ENDPOINT` set: OTLP over HTTP (the exporter reads the standard OTEL_* variables).
- `AGENT_TRACE_FILE` set: finished spans as JSON lines appended to that file (tests, local debugging).
- neither: no tracer provider is installed and the plugin is not added; the API hands out no-op spans.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.sdk.trace.export import SpanExporter

TRACE_FILE = "AGENT_TRACE_FILE"
OTLP_ENDPOINT = "OTEL_EXPORTER_OTLP_ENDPOINT"


def tracing_wanted(environ: Mapping[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return bool(env.get(OTLP_ENDPOINT) or env.get(TRACE_FILE))


def configure_tracing(environ: Mapping[str, str] | None = None) -> list:
    """Install the replay-safe tracer provider and return the client plugins; [] when tracing is off."""
    env = os.environ if environ is None else environ
    if not tracing_wanted(env):
        return []
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from temporalio.contrib.opentelemetry import OpenTelemetryPlugin, create_tracer_provider

    provider = create_tracer_provider(resource=Resource.create({"service.name": env.get("OTEL_SERVICE_NAME",
                                                                                         "agent-worker")}))
    if env.get(OTLP_ENDPOINT):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(_processor(_SkipQueries(BatchSpanProcessor(OTLPSpanExporter()))))
    if path := env.get(TRACE_FILE):
        exporter = cast("SpanExporter", JsonLinesSpanExporter(Path(path)))  # duck-typed, see _processor
        provider.add_span_processor(_processor(_SkipQueries(SimpleSpanProcessor(exporter))))
    trace.set_tracer_provider(provider)
    return [OpenTelemetryPlugin(add_temporal_spans=True)]


def shutdown_tracing() -> None:
    """Flush what the batch processor holds (a SIGKILLed worker loses at most its unflushed batch)."""
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    if hasattr(provider, "force_flush"):
        provider.force_flush()


def _processor(processor: _SkipQueries) -> SpanProcessor:
    # _SkipQueries and JsonLinesSpanExporter implement the SDK's interfaces without subclassing them,
    # so importing this module does not import the OpenTelemetry SDK (only configure_tracing does).
    return cast("SpanProcessor", processor)


class _SkipQueries:
    """Drop the plugin's `HandleQuery:*` spans: the Web UI and `watch` poll queries every second or
    so, and each would be a trace of its own (a query carries no trace context from the CLI)."""

    def __init__(self, processor) -> None:
        self.processor = processor

    def on_start(self, span, parent_context=None) -> None:
        self.processor.on_start(span, parent_context=parent_context)

    def _on_ending(self, span) -> None:
        pass

    def on_end(self, span) -> None:
        if not span.name.startswith("HandleQuery:"):
            self.processor.on_end(span)

    def shutdown(self) -> None:
        self.processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.processor.force_flush(timeout_millis)


class JsonLinesSpanExporter:
    """Each finished span as one JSON object a line: name, ids, parent, times, attributes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans: Sequence) -> object:
        from opentelemetry.sdk.trace.export import SpanExportResult

        lines = []
        for span in spans:
            context, parent = span.get_span_context(), span.parent
            lines.append(json.dumps({
                "name": span.name,
                "trace_id": f"{context.trace_id:032x}",
                "span_id": f"{context.span_id:016x}",
                "parent_id": f"{parent.span_id:016x}" if parent else None,
                "start_ns": span.start_time,
                "end_ns": span.end_time,
                "status": span.status.status_code.name,
                "attributes": dict(span.attributes or {}),
            }, default=str))
        with self._lock, self.path.open("a") as out:
            out.write("".join(line + "\n" for line in lines))
            out.flush()
            os.fsync(out.fileno())  # the test SIGKILLs the worker: what was exported must be on disk
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True
