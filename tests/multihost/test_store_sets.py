"""A worker that joins a task queue with stores other than those the queue's workers share: three workers
on one PostgreSQL ledger and S3 bucket (the multi-host profile) and a fourth on its own data directory
(its own SQLite ledger). It is noticed at once, by the newcomer and by the others, in one line naming both
store sets, and it binds none of the new runs, until the operator says per-host stores are intended."""

from __future__ import annotations

import re
import uuid

from activities.ledger import Ledger, open_ledger
from tests.conftest import eventually, state_if_answered
from tests.multihost.helpers import TOOL_MODULES, goal, respond, shared_stores_env
from tests.processes import WorkerProcess, temporal_json
from tests.wire_server import ModelWireServer
from worker.queue_peers import QueuePeers
from workflows.contracts import RunRequest, RunResult

RUNS = 30


def _store_sets_line(worker: WorkerProcess) -> str | None:
    """The worker's one line about workers with other stores on its queue, once it has logged it."""
    text = worker.log_path.read_text(errors="replace") if worker.log_path.exists() else ""
    return next((line for line in text.splitlines() if "worker.stores_differ" in line), None)


def _store_ids(line: str) -> set[str]:
    return set(re.findall(r"stores-[0-9a-f]{16}", line))


async def test_a_worker_with_its_own_stores_binds_no_run_of_a_shared_queue(
        dev_client, dev_server, postgres_url, s3_endpoint, tmp_path, monkeypatch):
    address, queue = dev_server.config.address, f"tq-{uuid.uuid4()}"
    shared_env = shared_stores_env(postgres_url, s3_endpoint, monkeypatch)
    with ModelWireServer(respond) as model:
        shared = [WorkerProcess(address, queue, tmp_path / f"host-{n}", model.base_url, TOOL_MODULES, shared_env)
                  for n in range(3)]
        alone = WorkerProcess(address, queue, tmp_path / "host-alone", model.base_url, TOOL_MODULES,
                              {"AGENT_RETRIEVAL": "false"})
        try:
            for worker in shared:
                worker.start()

            async def three_polling() -> bool:
                peers = QueuePeers(dev_client, queue, "test", "stores-" + "0" * 16, bind_unshared=False)
                return len((await peers.refresh()).stores) == 3

            await eventually(three_polling, timeout_s=90, what="the three shared workers to poll")
            alone.start()
            for worker in (alone, *shared):
                async def said(w: WorkerProcess = worker) -> bool:
                    return _store_sets_line(w) is not None
                await eventually(said, timeout_s=60, what=f"{worker.log_path.parent.name}'s line about the other stores")
            shared_id = open_ledger(shared_env["AGENT_LEDGER_URL"]).store_id()
            own_id = Ledger(tmp_path / "host-alone" / "ledger.sqlite").store_id()
            lines = [_store_sets_line(w) for w in (*shared, alone)]
            # One line, naming both store sets, on every worker; the newcomer says it binds nothing.
            assert all(len(_store_ids(line or "")) == 2 for line in lines), lines
            assert "binds no new runs" in (lines[-1] or "")
            assert all("binds no new runs" not in (line or "") for line in lines[:-1])

            handles = [await dev_client.start_workflow(
                "AgentRun", RunRequest(goal=goal(f"s{n}")), id=f"sets-{n}-{uuid.uuid4().hex[:6]}",
                task_queue=queue, result_type=RunResult, start_signal="pause") for n in range(RUNS)]
            states = {}
            for handle in handles:
                async def bound(h=handle) -> bool:
                    state = await state_if_answered(h)
                    if state is not None and state.stores is not None:
                        states[h.id] = state.stores
                    return h.id in states
                await eventually(bound, timeout_s=120, what=f"{handle.id} to bind its stores")
            assert {s.ledger_id for s in states.values()} == {shared_id}, "a run was tied to the lone host"
            assert own_id != shared_id
            for handle in handles:
                await handle.terminate("test over")

            # Only the lone worker left: a new run waits, and says why where an operator looks...
            for worker in shared:
                worker.stop()
            waiting = await dev_client.start_workflow(
                "AgentRun", RunRequest(goal=goal("w")), id=f"sets-wait-{uuid.uuid4().hex[:6]}", task_queue=queue,
                result_type=RunResult, start_signal="pause")

            async def refused() -> bool:
                described = temporal_json(address, "workflow", "describe", "-w", waiting.id)
                failures = [p.get("lastFailure", {}).get("message", "") for p in described.get("pendingActivities", [])]
                return any("AGENT_BIND_UNSHARED_STORES" in f for f in failures)

            await eventually(refused, timeout_s=60, what="the refused bind's reason on the pending activity")
            # ...until the operator says per-host stores are intended.
            alone.stop()
            alone.env["AGENT_BIND_UNSHARED_STORES"] = "true"
            alone.start()

            async def bound_alone() -> bool:
                state = await state_if_answered(waiting)
                return state is not None and state.stores is not None and state.stores.ledger_id == own_id

            await eventually(bound_alone, timeout_s=90, what="the waiting run to bind to the lone host's stores")
            await waiting.terminate("test over")
        finally:
            for worker in (*shared, alone):
                worker.stop()
