"""Two workers with different local data directories on one task queue: each run stays with the stores
it started on. No effect is done twice or lost, and a run whose stores are down waits, visibly, instead
of acting on the other worker's ledger."""

from __future__ import annotations

import uuid

from activities.ledger import Ledger
from activities.tools.workspaces import workspace_dir
from tests.conftest import chain_id, eventually, state_if_answered
from tests.multihost.helpers import STEPS, TOOL_MODULES, goal, respond
from tests.processes import WorkerProcess, temporal_json
from tests.wire_server import ModelWireServer
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, RunStatus


def _bound(handle):
    """Bound, and holding at the pause before its first model call: nothing of it is in flight."""
    async def check() -> bool:
        state = await state_if_answered(handle)
        return state is not None and state.stores is not None and state.status == RunStatus.PAUSED

    return check


async def test_runs_stay_with_the_stores_they_started_on(dev_client, dev_server, tmp_path):
    """Runs bound to worker A's stores wait while A is down (worker B, on the same queue, never serves
    them), then finish when A is back: every note and shipment exactly once, in A's stores only."""
    address, queue = dev_server.config.address, f"tq-{uuid.uuid4()}"
    effects = tmp_path / "effects.txt"
    data = {"a": tmp_path / "host-a", "b": tmp_path / "host-b"}
    # Per-host stores on purpose: without this, B (whose stores no other worker of the queue shares)
    # would bind nothing while A's poller is still listed (test_store_sets.py).
    env = {"AGENT_RETRIEVAL": "false", "AGENT_TEST_EFFECTS_FILE": str(effects), "AGENT_BIND_UNSHARED_STORES": "true"}
    with ModelWireServer(respond) as model:
        workers = {name: WorkerProcess(address, queue, path, model.base_url, TOOL_MODULES, env)
                   for name, path in data.items()}
        try:
            workers["a"].start()
            handles = {}
            for host in ("a", "b"):
                if host == "b":
                    workers["b"].start()
                    workers["a"].kill()  # from here only B polls the run queue: new runs bind to B
                for n in range(3):
                    label = f"{host}{n}-{uuid.uuid4().hex[:6]}"
                    # Paused: each run binds (its first activity) and then holds before any model call.
                    handles[label] = await dev_client.start_workflow(
                        "AgentRun", RunRequest(goal=goal(label)), id=f"mh-{label}", task_queue=queue,
                        result_type=RunResult, start_signal="pause")
                for label, handle in handles.items():
                    if label.startswith(host):
                        await eventually(_bound(handle), timeout_s=60, what=f"{label} to bind its stores")
            ledgers = {name: Ledger(path / "ledger.sqlite") for name, path in data.items()}
            ids = {name: ledger.store_id() for name, ledger in ledgers.items()}
            assert ids["a"] != ids["b"]
            states = {label: await h.query(AgentRun.state) for label, h in handles.items()}
            for label, state in states.items():
                assert state.stores.ledger_id == ids[label[0]], label
                assert state.stores.task_queue.startswith(f"{queue}@stores-")
            for handle in handles.values():
                await handle.signal("resume")

            b_runs = {label: h for label, h in handles.items() if label.startswith("b")}
            a_runs = {label: h for label, h in handles.items() if label.startswith("a")}
            results = {label: await h.result() for label, h in b_runs.items()}
            # A is down: its runs wait for a worker with A's stores. B served none of their tools.
            for label, handle in a_runs.items():
                described = temporal_json(address, "workflow", "describe", "-w", handle.id)
                assert described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_RUNNING"
                pending = described.get("pendingActivities", [])
                assert [(p["activityType"]["name"], p["state"]) for p in pending] == [
                    ("model.decide_with_context", "PENDING_ACTIVITY_STATE_SCHEDULED")], pending
                assert ledgers["b"].receipt(f"{chain_id(handle)}/call-1-1") is None
                assert not workspace_dir(data["b"] / "workspaces", chain_id(handle)).exists()

            workers["a"].start()  # the host comes back with its data directory
            results |= {label: await h.result() for label, h in a_runs.items()}
        finally:
            for worker in workers.values():
                worker.stop()

    assert {r.status for r in results.values()} == {RunStatus.COMPLETED}
    shipped = effects.read_text().splitlines()
    assert sorted(shipped) == sorted(handles), "each shipment exactly once: none twice, none lost"
    for label, handle in handles.items():
        home, other = label[0], "b" if label[0] == "a" else "a"
        notes = workspace_dir(data[home] / "workspaces", chain_id(handle)) / "notes.txt"
        assert notes.read_text().splitlines() == [f"{label} a", f"{label} b"]
        assert f"{label} a" in results[label].answer and f"{label} b" in results[label].answer
        for step in range(1, STEPS + 1):
            key = f"{chain_id(handle)}/call-{step}-1"
            assert ledgers[home].receipt(key)["status"] == "succeeded", key
            assert ledgers[other].receipt(key) is None, key
    served_by_b = {p.name for p in (data["b"] / "workspaces").iterdir() if p.is_dir()}
    assert served_by_b == {workspace_dir(data["b"] / "workspaces", chain_id(h)).name for h in b_runs.values()}
