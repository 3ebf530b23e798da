"""A model marked `local_activity: true` is called inside the workflow task: one task per step, and a
worker killed during the call loses nothing and repeats no effect (the next worker calls again)."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.api.enums.v1 import EventType
from temporalio.exceptions import ApplicationError

from activities.gateway.breaker import BreakerRegistry
from activities.ledger import Ledger
from tests.conftest import chain_id, eventually, make_worker, wire_model, write_models_file
from tests.gateway.test_runs_through_the_gateway import gateway_worker
from tests.processes import WorkerProcess
from tests.scripted import SCRIPTED_CATALOGUE, ScriptedModel, call, final
from tests.test_crash_exactly_once import run_workspace_in
from tests.test_replay import replayer
from tests.wire_server import Hang, ModelWireServer, tool_result_seen
from worker.evals.recorded import read_run
from worker.main import WORKFLOWS
from workflows.agent_run import AgentRun
from workflows.contracts import LoadModelsInput, ModelCatalogue, RunRequest, RunResult, RunStatus
from workflows.contracts.context import DecideWithContextInput, DecideWithContextResult

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
    # The evals read such a run as any other: both decisions (from the markers) and the call that ran.
    recorded = await read_run(dev_client, handle.id)
    assert [d.kind for d in recorded.decisions] == ["tool_calls", "final_answer"]
    assert {k: (p.tool, p.arguments) for k, p in recorded.proposed().items()} == {
        "call-1-1": ("append_file", {"path": "ledger.txt", "line": LINE})}
    assert list(recorded.ran()) == ["call-1-1"] and recorded.ran()["call-1-1"].result.status == "ok"


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
    infos = {m.name: m.info() for m in load_models_file(path, os.environ).models}
    assert infos["fast"].local_activity and not infos["slow"].local_activity


class RefusedLocally(ScriptedModel):
    """A local-activity model whose worker has another blob store than the run's: it refuses when called
    locally, as ModelActivities does on a blob store mismatch, and serves the call from the store queue."""

    def __init__(self, *script) -> None:
        super().__init__(*script)
        self.local_refusals = 0

    @activity.defn(name="models.catalogue")
    async def catalogue(self, input: LoadModelsInput = LoadModelsInput()) -> ModelCatalogue:
        local = SCRIPTED_CATALOGUE.models[0].model_copy(update={"local_activity": True})
        return SCRIPTED_CATALOGUE.model_copy(update={"models": [local]})

    @activity.defn(name="model.decide_with_context")
    async def decide_with_context(self, input: DecideWithContextInput) -> DecideWithContextResult:
        if activity.info().is_local:
            self.local_refusals += 1
            raise ApplicationError("this worker's blob store is not the run's", type="StoreMismatch",
                                   non_retryable=True)
        return await super().decide_with_context(input)


async def test_a_local_call_refused_for_its_stores_goes_to_the_store_queue(dev_client, settings):
    model = RefusedLocally(call("calculator", expression="6*7"), final("42"))
    async with make_worker(dev_client, settings, model):
        handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="compute"), id=f"la-ref-{uuid.uuid4()}",
                                                 task_queue=settings.task_queue, result_type=RunResult)
        result = await handle.result()
    assert result.status == RunStatus.COMPLETED and result.answer == "42", result
    assert model.local_refusals == 2  # each step tried locally once, never retried locally
    history = await handle.fetch_history()
    scheduled = [e.activity_task_scheduled_event_attributes.activity_type.name
                 for e in events_of(history, EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)]
    assert scheduled.count("model.decide_with_context") == 2


async def test_the_model_activity_refuses_a_local_call_of_another_blob_store(tmp_path):
    from temporalio.testing import ActivityEnvironment

    from activities.model import ModelActivities
    from worker.blobs import open_blob_store
    from workflows.contracts import DecideInput
    from workflows.contracts.context import ContextBudget, TranscriptRef

    blobs = open_blob_store(None, data_dir=tmp_path)
    activities = ModelActivities(gateway=None, blobs=blobs)
    request = DecideWithContextInput(decide=DecideInput(messages=[], tools=[]), pinned=[], transcript=TranscriptRef(),
                                     budget=ContextBudget(context_window=1000, reserved_output=10),
                                     blob_store="local-some-other-host")
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(activities.decide_with_context, request)
    assert refused.value.type == "StoreMismatch" and refused.value.non_retryable
    assert "local-some-other-host" in str(refused.value)


async def test_a_failing_local_model_falls_back_like_an_activity_does(dev_client, settings, tmp_path):
    """A local activity's failure is not wrapped as an activity's; it must still lead to the fallback
    (not fail the run): the primary answers 500, its breaker opens, the secondary answers."""
    from tests.wire_server import Fault, final_answer

    with ModelWireServer(lambda body: Fault(500, "primary is down")) as down, ModelWireServer(final_answer("ok")) as up:
        path = write_models_file(tmp_path / "m.yaml", wire_model("primary", down, local_activity=True),
                                 wire_model("secondary", up, local_activity=True))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry(min_calls=1)):
            handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="g"), id=f"la-fb-{uuid.uuid4()}",
                                                     task_queue=settings.task_queue, result_type=RunResult)
            result = await handle.result()
            state = await handle.query(AgentRun.state)
    assert result.status == RunStatus.COMPLETED and result.answer == "ok", result
    assert [(e.kind, e.model) for e in state.model_events] == [("routed", "primary"), ("fallback", "secondary")]
