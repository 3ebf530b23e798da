"""Effects belong to one run chain: a reused workflow id acts again, while retries, reset and
continue-as-new get the receipts of effects that already happened. Effects are counted where the
outside world would see them (tests/effect_tools.py), not in the ledger."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import Client

from activities.ledger import open_ledger
from tests.conftest import chain_id, dev_server_config, make_worker
from tests.effect_tools import EFFECTS, effect_lines
from tests.processes import temporal
from tests.scripted import ScriptedModel, call, final
from worker.codec import project_data_converter
from worker.devserver import DevServer
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, DecideInput, Decision, RunRequest, RunResult, RunStatus

EFFECT_TOOLS = "tests.effect_tools"


def effect_then_answer(label: str):
    """Act once, answer once the result is in the prompt: a model that behaves the same after a reset."""
    def step(input: DecideInput) -> Decision:
        if any(m.role == "tool" for m in input.messages):
            return final("done")
        return call("record_effect", label=label)

    return step


@pytest.fixture(autouse=True)
def effects_file(tmp_path):
    EFFECTS["file"] = tmp_path / "effects.txt"
    return EFFECTS["file"]


async def start(client: Client, settings, run_id: str, goal: str = "pay", **budgets):
    return await client.start_workflow(AgentRun.run, RunRequest(goal=goal, budgets=Budgets(**budgets)), id=run_id,
                                       task_queue=settings.task_queue, result_type=RunResult)


async def test_a_reused_workflow_id_applies_its_own_effects(dev_client, settings):
    """Two runs under one id (allowed once the first has closed) each pay once: the second is not
    handed the first one's receipt."""
    run_id = f"reuse-{uuid.uuid4()}"
    async with make_worker(dev_client, settings, ScriptedModel(effect_then_answer("pay")), EFFECT_TOOLS):
        first = await start(dev_client, settings, run_id)
        assert (await first.result()).status == RunStatus.COMPLETED
        second = await start(dev_client, settings, run_id)
        assert (await second.result()).status == RunStatus.COMPLETED
    assert effect_lines() == ["pay", "pay"]
    ledger = open_ledger(settings.ledger_path)
    assert chain_id(first) != chain_id(second)
    for handle in (first, second):
        assert ledger.receipt(f"{chain_id(handle)}/call-1-1")["attempts"] == 1


async def test_reset_returns_the_receipts_of_effects_that_already_happened(dev_client, dev_server, settings):
    """`temporal workflow reset` to the first workflow task re-runs the steps; the payment is not repeated."""
    run_id = f"reset-{uuid.uuid4()}"
    async with make_worker(dev_client, settings, ScriptedModel(effect_then_answer("pay")), EFFECT_TOOLS):
        first = await start(dev_client, settings, run_id)
        assert (await first.result()).status == RunStatus.COMPLETED
        temporal(dev_server.config.address, "workflow", "reset", "-w", run_id, "--type", "FirstWorkflowTask",
                 "--reason", "operator reset in a test")
        latest = dev_client.get_workflow_handle(run_id, result_type=RunResult)
        result = await latest.result()
        described = await latest.describe()
    assert described.run_id != first.result_run_id, "the reset made a new run"
    assert result.status == RunStatus.COMPLETED
    assert effect_lines() == ["pay"]
    receipt = open_ledger(settings.ledger_path).receipt(f"{chain_id(first)}/call-1-1")
    assert receipt["status"] == "succeeded" and receipt["attempts"] == 1


async def test_continue_as_new_keeps_the_chain_and_acts_once_per_call(tmp_path, settings):
    """Across several continue-as-new hand-overs every call acts once, all keyed by the first run's chain."""
    config = dev_server_config(tmp_path, **{"limit.historyCount.suggestContinueAsNew": 40})
    server = DevServer(config, log_path=tmp_path / "server.log").start()
    try:
        client = await Client.connect(config.address, data_converter=project_data_converter())
        model = ScriptedModel(*[call("record_effect", label=f"e{i}") for i in range(8)], final("done"))
        async with make_worker(client, settings, model, EFFECT_TOOLS):
            handle = await start(client, settings, f"chain-{uuid.uuid4()}", max_steps=20)
            result = await handle.result()
            state = await handle.query(AgentRun.state)
    finally:
        server.stop()
    assert result.status == RunStatus.COMPLETED and state.continued_runs >= 2
    assert effect_lines() == [f"e{i}" for i in range(8)]
    ledger = open_ledger(settings.ledger_path)
    assert all(ledger.receipt(f"{chain_id(handle)}/call-{i + 1}-1")["status"] == "succeeded" for i in range(8))
