"""Traces and agent metrics survive a worker restart mid-run without counting anything twice.

A run waits for an approval; its worker is SIGKILLed and a new one takes over, replaying the run's
history to apply the approval. Every span is exported exactly once (the new worker re-creates the old
spans in memory while it replays, but exports only those it finishes), all in the run's one trace;
the new worker's metrics count only what happened after the restart (nothing on replay).
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections import Counter

import pytest

from tests.conftest import eventually
from tests.processes import WorkerProcess, temporal, temporal_json
from tests.wire_server import ModelWireServer, tool_then_answer
from worker.devserver import free_port


def scrape(address: str) -> dict[str, float]:
    """The agent_* samples of a Prometheus endpoint, keyed by `name{labels}` as exposed."""
    text = urllib.request.urlopen(f"http://{address}/metrics", timeout=10).read().decode()
    samples = {}
    for line in text.splitlines():
        if line.startswith("agent_"):
            key, _, value = line.rpartition(" ")
            samples[key] = float(value)
    return samples


def total(samples: dict[str, float], name: str, **labels: str) -> float:
    """Sum of the samples of `name` whose labels include `labels`."""
    found = 0.0
    for key, value in samples.items():
        metric, _, rest = key.partition("{")
        if metric == name and all(f'{k}="{v}"' in rest for k, v in labels.items()):
            found += value
    return found


def read_spans(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.mark.parametrize("ending", ["kill", "stop"])
async def test_each_span_and_metric_once_across_a_worker_restart(dev_server, tmp_path, ending):
    """SIGKILL the worker (or stop it: SIGTERM evicts its cached runs) while the run waits for approval;
    a new one finishes it: one trace, each span once."""
    address = dev_server.config.address
    queue, run_id = f"tq-{uuid.uuid4()}", f"trace-{uuid.uuid4()}"
    spans_file = tmp_path / "spans.jsonl"
    responder = tool_then_answer("write_file", {"path": "t.txt", "content": "traced"}, "t.txt written")

    def worker(metrics: str) -> WorkerProcess:
        process = WorkerProcess(address, queue, tmp_path / "data", model.base_url)
        process.env.update({"AGENT_TRACE_FILE": str(spans_file), "AGENT_METRICS_ADDRESS": metrics})
        return process

    def state() -> dict:
        return temporal_json(address, "workflow", "query", "-w", run_id, "--name", "state")["queryResult"][0]

    with ModelWireServer(responder) as model:
        first_metrics = f"127.0.0.1:{free_port()}"
        first = worker(first_metrics).start()
        try:
            temporal(address, "workflow", "start", "--type", "AgentRun", "--task-queue", queue, "-w", run_id,
                     "--input", json.dumps({"goal": "write traced to t.txt", "tenant_id": "acme"}))

            async def waiting() -> bool:
                return state()["status"] == "waiting_for_human"

            await eventually(waiting, timeout_s=60, what="the run to wait for approval")
            before = scrape(first_metrics)
            spans_before = read_spans(spans_file)
        finally:
            first.kill() if ending == "kill" else first.stop()
        second_metrics = f"127.0.0.1:{free_port()}"
        with worker(second_metrics):
            temporal(address, "workflow", "update", "execute", "-w", run_id, "--name", "approve",
                     "--input", json.dumps({"tool_call_id": "call-1-1", "approver": "alice"}))
            result = temporal_json(address, "workflow", "result", "-w", run_id)
            assert result["result"]["status"] == "completed", result

            async def flushed() -> bool:  # the run's root span is exported when the run completes
                return any(s["name"] == "RunWorkflow:AgentRun" for s in read_spans(spans_file))

            await eventually(flushed, what="the run's root span to be exported")
            after = scrape(second_metrics)
        history = temporal_json(address, "workflow", "show", "-w", run_id)

    spans = read_spans(spans_file)
    ids = Counter(s["span_id"] for s in spans)
    assert [i for i, n in ids.items() if n > 1] == [], "a span was exported twice"
    # Handlers of a CLI update carry no trace context: their spans start traces of their own.
    handlers = [s for s in spans if s["name"].split(":")[0] in ("HandleUpdate", "ValidateUpdate", "HandleQuery")]
    assert sorted(s["name"] for s in handlers) == ["HandleUpdate:approve", "ValidateUpdate:approve"]
    run_spans = [s for s in spans if s not in handlers]
    assert len({s["trace_id"] for s in run_spans}) == 1, "the run's spans are not one trace"
    names = Counter(s["name"] for s in spans)
    scheduled = [e for e in history["events"] if e["eventType"] == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED"]
    assert names["RunWorkflow:AgentRun"] == 1
    assert sum(n for name, n in names.items() if name.startswith("StartActivity:")) == len(scheduled)
    assert sum(n for name, n in names.items() if name.startswith("RunActivity:")) == len(scheduled)
    assert names["agent.step 1"] == 1 and names["agent.step 2"] == 1
    assert names["agent.approval_wait write_file"] == 1 and names["execute_tool write_file"] == 1
    chats = [s for s in spans if s["name"].startswith("chat ")]
    assert len(chats) == 2
    assert all(s["attributes"]["gen_ai.usage.input_tokens"] > 0 and s["attributes"]["gen_ai.provider.name"]
               for s in chats)
    [tool] = [s for s in spans if s["name"] == "execute_tool write_file"]
    assert tool["attributes"]["agent.ledger.outcome"] == "ok" and tool["attributes"]["agent.risk_level"] == 2
    assert tool["attributes"]["agent.idempotency_key"].endswith("/call-1-1")
    [wait] = [s for s in spans if s["name"] == "agent.approval_wait write_file"]
    assert wait["attributes"]["agent.approval.decision"] == "approved" and wait["end_ns"] >= wait["start_ns"]
    assert len(spans_before) < len(spans)

    # The first worker counted the start and step 1; the second only what happened after the restart.
    assert total(before, "agent_runs_started", tenant="acme") == 1
    assert total(before, "agent_steps", tenant="acme") == 1
    assert total(after, "agent_runs_started") == 0 and total(after, "agent_steps", tenant="acme") == 1
    assert total(after, "agent_runs_finished", tenant="acme", status="completed") == 1
    assert total(after, "agent_tool_calls", tool="write_file", outcome="ok") == 1
    assert total(after, "agent_approval_wait_seconds_count", tool="write_file", decision="approved") == 1
    prompt = total(before, "agent_tokens", kind="prompt") + total(after, "agent_tokens", kind="prompt")
    assert prompt == sum(s["attributes"]["gen_ai.usage.input_tokens"] for s in chats)
    print("\nspans:", dict(sorted(names.items())))
    print("metrics before kill:", {k: v for k, v in sorted(before.items()) if "_bucket" not in k})
    print("metrics after restart:", {k: v for k, v in sorted(after.items()) if "_bucket" not in k})
