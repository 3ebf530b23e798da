"""`python -m worker.watch RUN` follows any run live, from its event stream: steps, actions, the approve
commands while it waits, decisions, usage; without a stream it polls, surviving failed queries; it
ends with the run. `up` uses the same code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

from temporalio.client import WorkflowQueryFailedError

from tests.conftest import eventually
from tests.processes import WorkerProcess, temporal
from tests.wire_server import ModelWireServer, tool_then_answer
from worker import watch
from worker.settings import REPO_ROOT
from workflows.contracts import Budgets, RunResult, RunState, RunStatus, RunUsage


class FlakyHandle:
    """A run whose first state queries fail, as they do while its workflow task is failing."""

    id = "demo-1"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.queries = 0

    async def query(self, _query: object) -> RunState:
        self.queries += 1
        if self.queries <= self.failures:
            raise WorkflowQueryFailedError("Workflow Task in failed state")
        result = RunResult(status=RunStatus.COMPLETED, answer="done", steps=1, usage=RunUsage())
        return RunState(status=RunStatus.COMPLETED, step=1, goal="g", tenant_id="default", last_action="final answer",
                        pending_approvals=[], usage=RunUsage(), budgets=Budgets(), approvals=[], result=result)

    async def describe(self) -> object:
        return type("Running", (), {"status": None})()


async def test_failed_queries_are_reported_once_and_the_watch_goes_on(capsys) -> None:
    """Three failed queries print one line, and the watch goes on to report the run's end."""
    handle = FlakyHandle(failures=3)
    assert await watch.watch(handle, "temporal", poll_s=0) == RunStatus.COMPLETED
    out = capsys.readouterr().out
    assert out.count("state query failed (retrying): Workflow Task in failed state") == 1
    assert "Run demo-1 completed: done" in out and handle.queries == 4


async def test_watch_follows_a_real_run_through_its_approval(dev_server, tmp_path) -> None:
    """The command shows the pending call with its approve command, then the decision and the end."""
    address = dev_server.config.address
    queue, run_id = f"tq-{uuid.uuid4()}", f"watch-{uuid.uuid4()}"
    out_path = tmp_path / "watch.out"
    responder = tool_then_answer("write_file", {"path": "w.txt", "content": "watched"}, "w.txt written")
    with ModelWireServer(responder) as model, WorkerProcess(address, queue, tmp_path / "data", model.base_url):
        temporal(address, "workflow", "start", "--type", "AgentRun", "--task-queue", queue, "-w", run_id,
                 "--input", json.dumps({"goal": "write watched to w.txt"}))
        with out_path.open("w") as out:
            follower = subprocess.Popen(
                [sys.executable, "-m", "worker.watch", run_id, "--address", address, "--poll", "0.2"],
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}, cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT)
            try:
                async def shows_commands() -> bool:
                    return "--name reject" in out_path.read_text()

                await eventually(shows_commands, timeout_s=60, what="watch to print the approval commands")
                temporal(address, "workflow", "update", "execute", "-w", run_id, "--name", "approve",
                         "--input", json.dumps({"tool_call_id": "call-1-1", "approver": "alice"}))
                assert follower.wait(timeout=60) == 0
            finally:
                if follower.poll() is None:
                    follower.kill()
    shown = out_path.read_text()
    assert "waiting_for_human" in shown and "# write_file" in shown and "call-1-1" in shown
    assert "decision: write_file call-1-1 approved by alice" in shown
    assert f"Run {run_id} completed: w.txt written" in shown and "usage: " in shown
    assert "following its state instead" not in shown  # followed from the run's event stream, not polled
    assert "write_file (call-1-1) ok" in shown


def test_an_unknown_run_is_one_line(dev_server) -> None:
    """A mistyped run id is named, without a traceback."""
    done = subprocess.run([sys.executable, "-m", "worker.watch", "no-such-run", "--address",
                           dev_server.config.address], env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "watch: no run 'no-such-run' in namespace 'default'" in done.stderr
