"""A rollout with Worker Deployment Versioning: two builds of the worker on one data directory. New runs go to
the current build, a run started on the old build finishes there (pinned), and setting the old build current
again (rollback) sends new runs back to it. No run fails, none sees a non-determinism error."""

from __future__ import annotations

import uuid

from tests.conftest import eventually
from tests.multihost.helpers import TOOL_MODULES, goal, respond
from tests.processes import WorkerProcess, temporal, temporal_json
from tests.wire_server import ModelWireServer
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, RunStatus

DEPLOYMENT = "agents"


def _registered(address: str, deployment: str, build: str):
    async def check() -> bool:
        done = temporal(address, "worker", "deployment", "describe-version", "--deployment-name", deployment,
                        "--build-id", build, check=False)
        return done.returncode == 0
    return check


async def _make_current(address: str, deployment: str, build: str) -> None:
    """Set `build` current once it polls every task queue the current build polls: a worker registers
    with its first queue (the run queue) and its store queue a moment later, and until then the server
    refuses, as it should. Any other refusal fails at once."""
    async def accepted() -> bool:
        done = temporal(address, "worker", "deployment", "set-current-version", "--deployment-name", deployment,
                        "--build-id", build, "--yes", check=False)
        if done.returncode != 0 and "missing active task queues" not in done.stderr + done.stdout:
            raise AssertionError(f"set-current-version {build} exited {done.returncode}: {done.stderr or done.stdout}")
        return done.returncode == 0
    await eventually(accepted, timeout_s=60, what=f"{build} to poll every task queue of the current build")


def _paused(handle):
    async def check() -> bool:
        return (await handle.query(AgentRun.state)).status == RunStatus.PAUSED
    return check


def _version(address: str, workflow_id: str) -> tuple[str, str]:
    info = temporal_json(address, "workflow", "describe", "-w", workflow_id)["workflowExecutionInfo"]
    versioning = info.get("versioningInfo", {})
    return versioning.get("behavior", ""), versioning.get("deploymentVersion", {}).get("buildId", "")


async def test_new_runs_go_to_the_new_build_old_runs_finish_and_rollback_works(dev_client, dev_server, tmp_path):
    address, queue = dev_server.config.address, f"tq-{uuid.uuid4()}"
    deployment = f"{DEPLOYMENT}-{uuid.uuid4().hex[:6]}"
    effects = tmp_path / "effects.txt"
    data = tmp_path / "data"  # one host, two builds: the same ledger, workspaces and blobs

    def build(build_id: str) -> WorkerProcess:
        env = {"AGENT_RETRIEVAL": "false", "AGENT_TEST_EFFECTS_FILE": str(effects),
               "AGENT_DEPLOYMENT_NAME": deployment, "AGENT_BUILD_ID": build_id}
        worker = WorkerProcess(address, queue, data, model.base_url, TOOL_MODULES, env)
        worker.log_path = tmp_path / f"{build_id}.log"
        return worker

    async def start(label: str):
        handle = await dev_client.start_workflow("AgentRun", RunRequest(goal=goal(label)), id=f"ro-{label}",
                                                 task_queue=queue, result_type=RunResult, start_signal="pause")
        await eventually(_paused(handle), timeout_s=60, what=f"{label} to start")
        return handle

    with ModelWireServer(respond) as model:
        old, new = build("build-1").start(), build("build-2")
        try:
            await eventually(_registered(address, deployment, "build-1"), timeout_s=60, what="build-1 to register")
            await _make_current(address, deployment, "build-1")
            before = await start(f"before-{uuid.uuid4().hex[:6]}")  # started on build-1, pinned there

            new.start()
            await eventually(_registered(address, deployment, "build-2"), timeout_s=60, what="build-2 to register")
            await _make_current(address, deployment, "build-2")
            after = await start(f"after-{uuid.uuid4().hex[:6]}")
            assert _version(address, before.id) == ("VERSIONING_BEHAVIOR_PINNED", "build-1")
            assert _version(address, after.id) == ("VERSIONING_BEHAVIOR_PINNED", "build-2")

            for handle in (before, after):
                await handle.signal("resume")
            results = [await before.result(), await after.result()]
            assert _version(address, before.id)[1] == "build-1", "the old run finished on the build it began on"

            await _make_current(address, deployment, "build-1")  # rollback
            rolled_back = await start(f"rollback-{uuid.uuid4().hex[:6]}")
            assert _version(address, rolled_back.id) == ("VERSIONING_BEHAVIOR_PINNED", "build-1")
            await rolled_back.signal("resume")
            results.append(await rolled_back.result())
        finally:
            old.stop()
            new.stop()

    assert [r.status for r in results] == [RunStatus.COMPLETED] * 3
    assert sorted(effects.read_text().splitlines()) == sorted(h.id.removeprefix("ro-")
                                                              for h in (before, after, rolled_back))
    for name in ("build-1", "build-2"):
        assert "nondetermin" not in (tmp_path / f"{name}.log").read_text().lower()
