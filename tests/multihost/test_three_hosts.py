"""Three workers standing in for three hosts: separate data directories, one PostgreSQL ledger, one S3
blob store holding the run workspaces (AGENT_PROFILE=multi-host). Thirty runs write a file, ship an
order, write again and read the file back, while workers are SIGKILLed and restarted at random."""

from __future__ import annotations

import asyncio
import os
import random
import time
import uuid
from collections import Counter

from activities.ledger import open_ledger
from activities.tools.workspaces import workspace_dir
from tests.conftest import chain_id, eventually
from tests.multihost.helpers import STEPS, TOOL_MODULES, goal, respond, shared_stores_env
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, RunStatus

RUNS, KILLS = 30, int(os.environ.get("MULTIHOST_KILLS", "4"))


async def test_thirty_runs_on_three_hosts_with_random_kills(dev_client, dev_server, postgres_url, s3_endpoint,
                                                            tmp_path, monkeypatch):
    """0 duplicate and 0 lost effects, every run completed, and each run read back in its last step
    the lines its earlier steps wrote, whichever worker served each step."""
    effects = tmp_path / "effects.txt"
    env = {**shared_stores_env(postgres_url, s3_endpoint, monkeypatch), "AGENT_TEST_EFFECTS_FILE": str(effects)}
    ledger_url = env["AGENT_LEDGER_URL"]
    address, queue, chaos = dev_server.config.address, f"tq-{uuid.uuid4()}", random.Random(16)

    with ModelWireServer(respond) as model:
        workers = [WorkerProcess(address, queue, tmp_path / f"host-{n}", model.base_url, TOOL_MODULES, env).start()
                   for n in range(3)]
        try:
            handles = {}
            for n in range(RUNS):
                label = f"r{n:02d}-{uuid.uuid4().hex[:6]}"
                handles[label] = await dev_client.start_workflow(
                    "AgentRun", RunRequest(goal=goal(label)), id=f"mh3-{label}", task_queue=queue,
                    result_type=RunResult)
            started = time.monotonic()
            pending = {label: asyncio.ensure_future(h.result()) for label, h in handles.items()}
            kills, victim = [], None
            for k in range(KILLS):
                # Kill on progress, not on a clock: after every few shipments, a random host (never the
                # one just restarted) dies by SIGKILL mid-whatever it was doing, and comes back on its
                # own data directory.
                target = (k + 1) * RUNS // (KILLS + 1)
                await eventually(_shipped_at_least(effects, target), timeout_s=150, what=f"{target} shipments")
                victim = chaos.choice([n for n in range(len(workers)) if n != victim])
                workers[victim].restart()
                kills.append((victim, round(time.monotonic() - started, 1)))
            results = {label: await task for label, task in pending.items()}
            state = await handles[next(iter(handles))].query(AgentRun.state)
        finally:
            for worker in workers:
                worker.stop()

    assert {label: r.status for label, r in results.items() if r.status != RunStatus.COMPLETED} == {}
    shipped = Counter(effects.read_text().splitlines())
    assert [label for label, count in shipped.items() if count > 1] == [], "duplicate effects"
    assert sorted(set(handles) - set(shipped)) == [], "lost effects"
    for label, result in results.items():
        # The last step read the file on whichever worker served it: both earlier lines are there.
        assert f"{label} a" in result.answer and f"{label} b" in result.answer, result.answer
    ledger = open_ledger(ledger_url)
    chains = {chain_id(h): label for label, h in handles.items()}
    for chain in chains:
        for step in range(1, STEPS + 1):
            assert ledger.receipt(f"{chain}/call-{step}-1")["status"] == "succeeded"
    # A host that served a tool call of a run keeps its materialised copy in its workspace cache.
    served = {}
    for n in range(3):
        for chain in chains:
            if workspace_dir(tmp_path / f"host-{n}" / "workspace-cache", chain).is_dir():
                served.setdefault(chain, set()).add(n)
    assert len({n for hosts in served.values() for n in hosts}) == 3, "every host served tools"
    assert any(len(hosts) > 1 for hosts in served.values()), "some run's steps ran on different hosts"
    assert state.stores.task_queue == f"{queue}@{state.stores.store_id}" and state.stores.ledger_id.startswith("ledger-")
    print(f"wall={time.monotonic() - started:.1f}s kills(host, at s)={kills} runs={RUNS} hosts per run={Counter(len(h) for h in served.values())}")


def _shipped_at_least(effects, count: int):
    async def check() -> bool:
        return effects.exists() and len(effects.read_text().splitlines()) >= count

    return check
