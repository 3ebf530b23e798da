"""A model marked `local_activity: true` is called inside the workflow task: one task per step, and a
worker killed during the call loses nothing and repeats no effect (the next worker calls again)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import EventType

from tests.conftest import chain_id, eventually, wire_model, write_models_file
from tests.test_replay import replayer
from tests.gateway.test_runs_through_the_gateway import gateway_worker
from tests.processes import WorkerProcess
from tests.test_crash_exactly_once import run_workspace_in
from tests.wire_server import Hang, ModelWireServer, tool_result_seen
from activities.gateway.breaker import BreakerRegistry
from activities.ledger import Ledger
from worker.main import WORKFLOWS
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, RunStatus

LINE = "paid invoice 7"


def append_then_answer(first_hangs: bool):
    """append_file once, then answer; optionally hold the first request open (the worker dies in it)."""
    seen = {"requests": 0}

    def respond(body: dict):
        seen["requests"] += 1
        if first_hangs and seen["requests"] == 1:
            return Hang(120)
        if tool_result_seen(body, "append_file"):
            return json.dumps({"action": "final_answer", "answer": "appended"})
        return json.dumps({"action": "call_tool", "tool": "append_file",
                           "arguments": {"path": "ledger.txt", "line": LINE}})

    return respond


def events_of(history, kind: int) -> list:
    return [e for e in history.events if e.event_type == kind]


async def test_a_local_activity_model_takes_one_workflow_task_per_step(dev_client, settings, tmp_path):
    with ModelWireServer(append_then_answer(first_hangs=False)) as server:
        models = write_models_file(tmp_path / "m.yaml", wire_model("fast", server, local_activity=True))
        async with gateway_worker(dev_client, settings, models, BreakerRegistry()):
            handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="record the payment", approval_risk_level=3),
                                                     id=f"la-{uuid.uuid4()}", task_queue=settings.task_queue,
                                                     result_type=RunResult)
            result = await handle.result()
    assert result.status == RunStatus.COMPLETED and result.answer == "appended", result
    history = await handle.fetch_history()
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name
                 for e in events_of(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)]
    assert "model.decide_with_context" not in scheduled and scheduled.count("tools.execute") == 1
    markers = [e.marker_recorded_event_attributes.marker_name
               for e in events_of(history, EventType.EVENT_TYPE_MARKER_RECORDED)]
    assert markers.count("core_local_activity") == 2, markers  # the two model calls
    assert (await replayer(WORKFLOWS).replay_workflow(history, raise_on_replay_failure=False)).replay_failure is None


async def test_a_worker_killed_during_a_local_model_call_loses_nothing(dev_client, dev_server, tmp_path):
    queue, data = f"tq-{uuid.uuid4()}", tmp_path / "data"
    with ModelWireServer(append_then_answer(first_hangs=True)) as server:
        models = write_models_file(tmp_path / "m.yaml", wire_model("fast", server, local_activity=True))

        def worker() -> WorkerProcess:
            process = WorkerProcess(dev_server.config.address, queue, data, server.base_url)
            process.env["AGENT_MODELS_FILE"] = str(models)
            return process

        first = worker().start()
        try:
            handle = await dev_client.start_workflow("AgentRun", RunRequest(goal="record the payment", approval_risk_level=3),
                                                     id=f"la-kill-{uuid.uuid4()}", task_queue=queue,
                                                     result_type=RunResult)

            async def model_called() -> bool:
                return len(server.requests) >= 1

            await eventually(model_called, timeout_s=60, what="the first model call")
            first.kill()
        finally:
            first.stop()
        with worker():
            result = await handle.result()
    assert result.status == RunStatus.COMPLETED and result.answer == "appended", result
    assert len(server.requests) == 3  # the call the dead worker made, its repeat, the answer
    assert (run_workspace_in(data, handle) / "ledger.txt").read_text().splitlines() == [LINE]
    receipt = Ledger(data / "ledger.sqlite").receipt(f"{chain_id(handle)}/call-1-1")
    assert receipt["status"] == "succeeded" and receipt["attempts"] == 1


def test_models_file_field_reaches_the_workflow(tmp_path):
    from activities.gateway.catalogue import load_models_file

    server = type("S", (), {"base_url": "http://127.0.0.1:9/v1"})()
    path = write_models_file(Path(tmp_path) / "m.yaml", wire_model("fast", server, local_activity=True),
                             wire_model("slow", server))
    infos = {m.name: m.info() for m in load_models_file(path).models}
    assert infos["fast"].local_activity and not infos["slow"].local_activity
