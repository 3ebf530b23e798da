"""A run becomes an eval case, by the commands a person types: `capture` writes the case and its recorded
world; `run` replays the agent against that world. The recorded payment is answered from the
recording, never made again; a check the original meets passes, one it misses fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import yaml

from tests.evals.test_fork import GOVERNED, effects, pays_bob
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer
from worker.settings import REPO_ROOT
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult


def evals(address: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "worker.evals", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "TEMPORAL_ADDRESS": address})


async def test_a_captured_run_round_trips_into_a_passing_and_a_failing_case(dev_server, dev_client, tmp_path):
    address, queue, data = dev_server.config.address, f"tq-{uuid.uuid4()}", tmp_path / "data"
    with ModelWireServer(pays_bob) as model, WorkerProcess(address, queue, data, model.base_url, tool_modules=GOVERNED):
        run_id = f"orig-{uuid.uuid4()}"
        request = RunRequest(goal="pay bob 5 dollars", files={"invoice.txt": "bob: 500 cents\n"})
        await dev_client.execute_workflow(AgentRun.run, request, id=run_id, task_queue=queue, result_type=RunResult)
        captured = {}
        for name, check in (("meets", '{answer_contains: "paid bob"}'), ("misses", '{answer_contains: "carol"}')):
            done = evals(address, "capture", run_id, "--check", check, "--out", str(tmp_path / f"{name}.yaml"))
            assert done.returncode == 0, done.stderr
            ran = evals(address, "run", str(tmp_path / f"{name}.yaml"), "--task-queue", queue, "--data-dir", str(data),
                        "--out", str(tmp_path / f"{name}.json"))
            assert ran.returncode == 0, ran.stderr
            captured[name] = json.loads((tmp_path / f"{name}.json").read_text())
        again = evals(address, "capture", run_id, "--check", "{answer_contains: x}", "--out", str(tmp_path / "meets.yaml"))

    suite = yaml.safe_load((tmp_path / "meets.yaml").read_text())
    [case] = suite["cases"]
    assert case["goal"] == "pay bob 5 dollars" and case["files"] == {"invoice.txt": "bob: 500 cents\n"}
    assert case["world"] == "meets.world.json" and case["checks"] == [{"answer_contains": "paid bob"}]
    world = json.loads((tmp_path / "meets.world.json").read_text())
    assert [r["tool"] for r in world["results"]] == ["send_payment"] and world["decisions"] == []
    assert [c["records"][0]["passed"] for c in captured["meets"]["cases"]] == [True]
    assert [c["records"][0]["passed"] for c in captured["misses"]["cases"]] == [False]
    assert effects(data) == ["payment bob 500"]  # paid by the original only: both cases got the recorded answer
    assert again.returncode == 2 and "exists" in again.stderr
