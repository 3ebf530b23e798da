"""Agent metrics count each event once: a budget stop, its run's steps, tokens and tool calls."""

from __future__ import annotations

import uuid
from collections import defaultdict

from temporalio.client import Client
from temporalio.runtime import MetricBuffer, Runtime, TelemetryConfig

from tests.conftest import make_worker
from tests.scripted import ScriptedModel, call, final
from worker.codec import project_data_converter
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, RunRequest, RunStatus, Usage


def totals(buffer: MetricBuffer) -> dict[tuple, float]:
    """Counter totals (and histogram counts) by metric name and the labels this test looks at."""
    found: dict[tuple, float] = defaultdict(float)
    for update in buffer.retrieve_updates():
        name = update.metric.name
        if not name.startswith("agent_"):
            continue
        labels = tuple(sorted((k, v) for k, v in update.attributes.items()
                              if k in ("tenant", "status", "budget", "tool", "outcome", "kind", "model")))
        found[(name, labels)] += update.value if update.metric.kind == 0 else 1
    return found


async def test_a_step_budget_stop_is_counted_once(dev_server, settings):
    """One step, one tool call, then the step budget stops the run: each counted once, by its labels."""
    buffer = MetricBuffer(10_000)
    runtime = Runtime(telemetry=TelemetryConfig(metrics=buffer))
    client = await Client.connect(dev_server.config.address, runtime=runtime,
                                  data_converter=project_data_converter())
    model = ScriptedModel(call("calculator", expression="6*7"), final("42"),
                          usage=Usage(prompt_tokens=100, completion_tokens=10, cost_usd=0.002))
    request = RunRequest(goal="compute", tenant_id="t1", budgets=Budgets(max_steps=1))
    async with make_worker(client, settings, model):
        result = await client.execute_workflow(AgentRun.run, request, id=f"budget-{uuid.uuid4()}",
                                               task_queue=settings.task_queue)
    assert result.status == RunStatus.BUDGET_EXCEEDED
    seen = totals(buffer)
    assert seen[("agent_runs_started", (("tenant", "t1"),))] == 1
    assert seen[("agent_runs_finished", (("status", "budget_exceeded"), ("tenant", "t1")))] == 1
    assert seen[("agent_budget_stops", (("budget", "step"), ("tenant", "t1")))] == 1
    steps = [v for (name, _), v in seen.items() if name == "agent_steps"]
    assert steps == [1]
    assert sum(v for (name, labels), v in seen.items() if name == "agent_tokens" and ("kind", "prompt") in labels) == 100
    assert sum(v for (name, _), v in seen.items() if name == "agent_cost_microusd") == 2000
    assert seen[("agent_tool_calls", (("outcome", "ok"), ("tool", "calculator")))] == 1


async def test_a_chain_of_continued_runs_is_one_run_and_says_where_it_went(tmp_path, settings):
    """Across continue-as-new: one run started and finished, every step counted once, and each closed
    run's details say it continued as new."""
    from temporalio.api.sdk.v1 import WorkflowMetadata

    from tests.conftest import dev_server_config
    from worker.devserver import DevServer

    config = dev_server_config(tmp_path, **{"limit.historyCount.suggestContinueAsNew": 40})
    server = DevServer(config, log_path=tmp_path / "server.log").start()
    buffer = MetricBuffer(10_000)
    try:
        client = await Client.connect(config.address, data_converter=project_data_converter(),
                                      runtime=Runtime(telemetry=TelemetryConfig(metrics=buffer)))
        model = ScriptedModel(*[call("calculator", expression=f"{i}+{i}") for i in range(6)], final("done"))
        async with make_worker(client, settings, model):
            handle = await client.start_workflow(AgentRun.run, RunRequest(goal="add", tenant_id="t2"),
                                                 id=f"can-{uuid.uuid4()}", task_queue=settings.task_queue)
            await handle.result()
            first = client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
            metadata = await first.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
    finally:
        server.stop()
    assert "continued as new (run 2 of this chain)" in metadata.current_details
    seen = totals(buffer)
    assert seen[("agent_runs_started", (("tenant", "t2"),))] == 1
    assert seen[("agent_runs_finished", (("status", "completed"), ("tenant", "t2")))] == 1
    assert sum(v for (name, _), v in seen.items() if name == "agent_steps") == 7
