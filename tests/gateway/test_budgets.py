"""Budgets at their edges on the real worker path: every model call (decisions and compactions) is
counted in state.usage and checked before it is made, priced on the whole prompt it may send."""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio.client import WorkflowFailureError

from activities.gateway.breaker import BreakerRegistry
from tests.conftest import registry_with, run_workspace, wire_model, write_models_file
from tests.gateway.test_runs_through_the_gateway import gateway_worker
from tests.test_replay import replayer
from tests.wire_server import ModelWireServer
from worker.main import WORKFLOWS
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, RunRequest, RunResult, RunStatus
from workflows.contracts.prompt import assemble
from workflows.routing import estimate_tokens

# Cached input priced like input, so cost is simply tokens times $1 per million.
FLAT = {"input": 1.0, "cached_input": 1.0, "output": 1.0}


def priced(usages: list[dict]) -> float:
    return sum(u["prompt_tokens"] + u["completion_tokens"] for u in usages) / 1e6


def read_then_count(body: dict) -> str:
    """Read a big file once, then add numbers forever: every later prompt carries the big result (or its
    summary), although the messages new at each step are small."""
    if body["messages"][0]["content"].startswith("You compress"):
        return "Earlier: read big.txt, then added numbers."
    read = any("Result of tool read_file" in m["content"] or "Summary of earlier turns" in m["content"]
               for m in body["messages"])
    if not read:
        return json.dumps({"action": "call_tool", "tool": "read_file", "arguments": {"path": "big.txt"}})
    return json.dumps({"action": "call_tool", "tool": "calculator", "arguments": {"expression": "1+1"}})


async def start_reading(client, settings, path, budgets: Budgets, lines: int = 300):
    # Started paused, so big.txt is in the run's workspace before its first step reads it.
    handle = await client.start_workflow(
        AgentRun.run, RunRequest(goal="read big.txt, then keep adding", max_output_tokens=64,
                                 allowed_tools=["read_file", "calculator"], budgets=budgets),
        id=f"budget-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult, start_signal="pause")
    run_workspace(settings, handle).mkdir(parents=True)
    (run_workspace(settings, handle) / "big.txt").write_text("line of log output\n" * lines)
    await handle.signal(AgentRun.resume)
    return handle


async def test_compaction_calls_are_counted_in_state_usage(dev_client, settings, tmp_path):
    """A small window forces compaction; the summary calls' tokens and cost are in state.usage (totals and
    by model) and counted as compaction_calls, not as steps."""
    with ModelWireServer(read_then_count) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("small", server, context_window=2400,
                                                                 max_output_tokens=128, price_per_mtok=FLAT))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry()):
            handle = await start_reading(dev_client, settings, path, Budgets(max_steps=10, max_tokens=10**7), lines=250)
            result = await handle.result()
            state = await handle.query(AgentRun.state)
            history = await handle.fetch_history()
    assert (await replayer(WORKFLOWS).replay_workflow(history, raise_on_replay_failure=False)).replay_failure is None
    summaries = sum(r["messages"][0]["content"].startswith("You compress") for r in server.requests)
    assert result.status == RunStatus.BUDGET_EXCEEDED and "step budget" in result.reason
    assert summaries >= 1 and state.compactions and state.usage.compaction_calls == summaries
    assert state.usage.model_calls == 10 and state.usage.by_model["small"].calls == 10 + summaries
    assert state.usage.prompt_tokens == sum(u["prompt_tokens"] for u in server.usages)
    assert state.usage.completion_tokens == sum(u["completion_tokens"] for u in server.usages)
    assert abs(state.usage.cost_usd - priced(server.usages)) < 1e-12 and state.usage == result.usage


async def test_cost_budget_prices_the_whole_packed_prompt(dev_client, settings, tmp_path):
    """Once a big tool result is in the transcript every prompt carries it; the guard prices the whole
    packed prompt, not only the new messages, so the run stops before the call that would overshoot."""
    limit = 0.0125  # between two steps' totals where pricing only the new messages lets one more call through
    with ModelWireServer(read_then_count) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("priced", server, price_per_mtok=FLAT))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry()):
            handle = await start_reading(dev_client, settings, path, Budgets(max_cost_usd=limit, max_tokens=10**7))
            result = await handle.result()
    assert result.status == RunStatus.BUDGET_EXCEEDED and "cost budget" in result.reason
    assert abs(result.usage.cost_usd - priced(server.usages)) < 1e-12 and len(server.usages) >= 3
    assert result.usage.cost_usd <= limit


async def test_token_budget_stops_before_a_call_that_could_pass_it(dev_client, settings, tmp_path):
    """max_tokens is checked before each call at its worst case; the total never passes it."""
    limit = 12_500
    with ModelWireServer(read_then_count) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("m", server))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry()):
            handle = await start_reading(dev_client, settings, path, Budgets(max_tokens=limit))
            result = await handle.result()
    used = sum(u["prompt_tokens"] + u["completion_tokens"] for u in server.usages)
    assert result.status == RunStatus.BUDGET_EXCEEDED and "token budget" in result.reason
    assert result.usage.total_tokens == used and len(server.usages) >= 3
    assert used <= limit


async def test_a_repair_call_that_could_pass_the_budget_is_not_made(dev_client, settings, tmp_path):
    """The first call fits max_tokens, the repair after its invalid reply could not: the run stops
    budget_exceeded without the repair, and the invalid call's tokens are counted."""
    request = RunRequest(goal="g", max_output_tokens=64, allowed_tools=["calculator"])
    first = estimate_tokens(assemble(request, []), [t for t in registry_with().specs() if t.name == "calculator"])
    limit = first + 64 + 50  # the first call's worst case fits; it plus a repair does not
    with ModelWireServer(lambda body: "this is not JSON") as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("m", server))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry()):
            handle = await dev_client.start_workflow(
                AgentRun.run, request.model_copy(update={"budgets": Budgets(max_tokens=limit)}),
                id=f"repair-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult)
            result = await handle.result()
    used = sum(u["prompt_tokens"] + u["completion_tokens"] for u in server.usages)
    assert result.status == RunStatus.BUDGET_EXCEEDED and "no repair was made" in result.reason
    assert len(server.requests) == 1 and result.usage.total_tokens == used <= limit


async def test_a_decision_that_failed_after_repairs_is_still_counted(dev_client, settings, tmp_path):
    """Three invalid replies (the call and two repairs) fail the run, and all three calls are in its usage."""
    with ModelWireServer(lambda body: "this is not JSON") as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("m", server, price_per_mtok=FLAT))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry()):
            handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="g"), id=f"bad-{uuid.uuid4()}",
                                                     task_queue=settings.task_queue, result_type=RunResult)
            with pytest.raises(WorkflowFailureError):
                await handle.result()
            state = await handle.query(AgentRun.state)
    assert len(server.requests) == 3 and state.status == RunStatus.FAILED
    assert state.usage.total_tokens == sum(u["prompt_tokens"] + u["completion_tokens"] for u in server.usages)
    assert abs(state.usage.cost_usd - priced(server.usages)) < 1e-12 and state.usage.by_model["m"].calls == 1
