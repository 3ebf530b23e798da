"""Counterfactual forks of a real run, counted in the outside world: the original pays bob once; a fork
under another model keeps the first step as recorded, gets the recorded answer when it pays bob again
(no second payment), and pays carol for real, or is refused in a dry run. Read across the original's
continue-as-new, and reported step by step."""

from __future__ import annotations

import json
import uuid
from typing import Any

from temporalio.client import Client

from tests.conftest import dev_server_config
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer, _text
from worker.codec import project_data_converter
from worker.devserver import DevServer
from worker.evals.fork import fork
from worker.evals.recorded import read_run
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, RunRequest, RunResult, RunStatus

GOVERNED = "tests.governed_tools"  # send_payment: risk 1 (no approval), not idempotent, writes effects.log


def paid(body: dict[str, Any]) -> list[str]:
    """Whom the prompt says were paid already."""
    results = [_text(m.get("content")) for m in body.get("messages", [])]
    return [name for name in ("bob", "carol") if any("Result of tool send_payment" in r and f'"{name}"' in r
                                                     or (f"payment {name}" in r) for r in results)]


def pays_bob(body: dict[str, Any]) -> str:
    """The original model: pay bob 500, then say so."""
    if any("Result of tool send_payment" in _text(m.get("content")) for m in body.get("messages", [])):
        return json.dumps({"action": "final_answer", "answer": "paid bob"})
    return json.dumps({"action": "call_tool", "tool": "send_payment", "arguments": {"to": "bob", "amount_cents": 500}})


def pays_bob_then_carol(body: dict[str, Any]) -> str:
    """Another model: pay bob 500 (the recorded call), then carol 100, then answer. Decides from how many
    payment results the prompt holds."""
    done = sum(_text(m.get("content")).count("Result of tool send_payment") for m in body.get("messages", []))
    if done == 0:
        return json.dumps({"action": "call_tool", "tool": "send_payment", "arguments": {"to": "bob", "amount_cents": 500}})
    if done == 1:
        return json.dumps({"action": "call_tool", "tool": "send_payment",
                           "arguments": {"to": "carol", "amount_cents": 100}})
    return json.dumps({"action": "final_answer", "answer": "paid bob and carol"})


def effects(*data_dirs) -> list[str]:
    """Every payment made in the outside world, by either worker."""
    return sorted(line for data in data_dirs for log in (data / "workspaces").glob("*/effects.log")
                  for line in log.read_text().splitlines())


async def test_a_fork_replays_recorded_steps_and_never_repeats_an_effect(dev_server, dev_client, tmp_path):
    address, data, other_data = dev_server.config.address, tmp_path / "data", tmp_path / "other-data"
    original_queue, fork_queue = f"tq-{uuid.uuid4()}", f"tq-{uuid.uuid4()}"
    with ModelWireServer(pays_bob) as first_model, ModelWireServer(pays_bob_then_carol) as other_model, \
            WorkerProcess(address, original_queue, data, first_model.base_url, tool_modules=GOVERNED), \
            WorkerProcess(address, fork_queue, other_data, other_model.base_url, tool_modules=GOVERNED):
        run_id = f"orig-{uuid.uuid4()}"
        result = await dev_client.execute_workflow(AgentRun.run, RunRequest(goal="pay bob 5 dollars"), id=run_id,
                                                   task_queue=original_queue, result_type=RunResult)
        assert result.status == RunStatus.COMPLETED and effects(data, other_data) == ["payment bob 500"]

        dry = await fork(dev_client, run_id, 0, fork_queue, dry_run=True)
        assert effects(data, other_data) == ["payment bob 500"]  # bob answered from the recording, carol refused
        asked = len(other_model.requests)
        live = await fork(dev_client, run_id, 1, fork_queue, instructions="Pay everyone on the list.")
        told = [_text(r["messages"][0]["content"]) for r in other_model.requests[asked:]]
        recorded_again = await read_run(dev_client, run_id)

    assert effects(data, other_data) == ["payment bob 500", "payment carol 100"]  # carol once, by the live fork; bob never again
    assert recorded_again.decisions == live.original.decisions and len(live.original.calls) == 1
    assert live.forked.status == "completed" and live.forked.answer == "paid bob and carol"
    # The fork's own steps ran under the other prompt; the original's model never saw it.
    assert told and all("\nInstructions: Pay everyone on the list.\n" in t for t in told)
    assert not any("Instructions:" in _text(r["messages"][0]["content"]) for r in first_model.requests)
    assert [c.tool for c in live.forked.calls] == ["send_payment"]  # only carol's call ran
    assert live.forked.calls[0].arguments == {"to": "carol", "amount_cents": 100}
    assert live.diverged_at() == 2  # step 1 recorded; step 2: the original answered, the fork pays carol
    report = live.report()
    assert "recorded" in report.splitlines()[3] and "DIFFERS" in report and "diverged at step 2" in report
    assert dry.forked.calls == [] and dry.forked.status == "completed"
    carol = dry.forked.decisions[1].tool_calls[0]
    assert (carol.tool, carol.arguments["to"]) == ("send_payment", "carol")  # proposed, refused: nothing ran


def adds_up_to(n: int):
    """A model that adds i+i for i = 0..n-1, one calculator call a step (the next i is how many calculator
    results the prompt holds), then answers."""
    def respond(body: dict[str, Any]) -> str:
        done = sum(_text(m.get("content")).count("Result of tool calculator") for m in body.get("messages", []))
        if done < n:
            return json.dumps({"action": "call_tool", "tool": "calculator", "arguments": {"expression": f"{done}+{done}"}})
        return json.dumps({"action": "final_answer", "answer": f"added {n} times"})
    return respond


async def test_a_fork_reads_a_run_that_continued_as_new(tmp_path):
    """A run that handed over to new runs three times is read whole: every step's decision and tool answer,
    so a fork replaying all of them makes no model or tool call and ends the same way."""
    config = dev_server_config(tmp_path, **{"limit.historyCount.suggestContinueAsNew": 40})
    server = DevServer(config, log_path=tmp_path / "server.log").start()
    queue = f"tq-{uuid.uuid4()}"
    try:
        client = await Client.connect(config.address, data_converter=project_data_converter())
        with ModelWireServer(adds_up_to(8)) as model, WorkerProcess(config.address, queue, tmp_path / "data",
                                                                    model.base_url):
            run_id = f"long-{uuid.uuid4()}"
            await client.execute_workflow(AgentRun.run, RunRequest(goal="add", budgets=Budgets(max_steps=20)),
                                          id=run_id, task_queue=queue, result_type=RunResult)
            state = await client.get_workflow_handle(run_id).query(AgentRun.state)
            asked = len(model.requests)
            replayed = await fork(client, run_id, 9, queue)
            asked_by_fork = len(model.requests) - asked
    finally:
        server.stop()
    original = replayed.original
    assert state.continued_runs >= 2 and len(original.run_ids) == state.continued_runs + 1
    assert len(original.decisions) == 9 and original.decisions[-1].answer == "added 8 times"
    assert [c.arguments["expression"] for c in original.calls] == [f"{i}+{i}" for i in range(8)]
    assert replayed.forked.answer == "added 8 times" and replayed.forked.calls == []
    assert replayed.diverged_at() is None and asked_by_fork == 0  # the fork asked the model nothing
