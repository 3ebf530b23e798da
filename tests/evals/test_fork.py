"""Counterfactual forks of a real run, counted in the outside world: the original pays bob once; a fork
under another model keeps the first step as recorded, gets the recorded answer when it pays bob again
(no second payment), and pays carol for real, or is refused in a dry run. Read across the original's
continue-as-new, and reported step by step."""

from __future__ import annotations

import json
import uuid
from typing import Any

from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer, _text
from worker.evals.fork import fork
from worker.evals.recorded import read_run
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, RunStatus

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
        live = await fork(dev_client, run_id, 1, fork_queue)
        recorded_again = await read_run(dev_client, run_id)

    assert effects(data, other_data) == ["payment bob 500", "payment carol 100"]  # carol once, by the live fork; bob never again
    assert recorded_again.decisions == live.original.decisions and len(live.original.calls) == 1
    assert live.forked.status == "completed" and live.forked.answer == "paid bob and carol"
    assert [c.tool for c in live.forked.calls] == ["send_payment"]  # only carol's call ran
    assert live.forked.calls[0].arguments == {"to": "carol", "amount_cents": 100}
    assert live.diverged_at() == 2  # step 1 recorded; step 2: the original answered, the fork pays carol
    report = live.report()
    assert "recorded" in report.splitlines()[3] and "DIFFERS" in report and "diverged at step 2" in report
    assert dry.forked.calls == [] and dry.forked.status == "completed"
    carol = dry.forked.decisions[1].tool_calls[0]
    assert (carol.tool, carol.arguments["to"]) == ("send_payment", "carol")  # proposed, refused: nothing ran
