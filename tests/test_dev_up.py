"""The README's first command, as a user runs it: the stack starts, the demo run asks for approval,
the printed command approves it, Ctrl-C stops everything, and a restart still has the run."""

from __future__ import annotations

import os
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

from tests.processes import temporal_json
from worker.devserver import free_port, port_open
from worker.settings import REPO_ROOT


class Up:
    """`python -m worker.dev up` with its output readable line by line."""

    def __init__(self, config: Path, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker.dev", "up", "--config", str(config), *args],
            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, *needles: str, timeout_s: float = 180) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            self.seen.append(line)
            if any(n in line for n in needles):
                return line
        raise AssertionError(f"none of {needles} appeared; output so far:\n" + "\n".join(self.seen))

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        code = self.process.wait(timeout=60)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code


def test_up_runs_the_demo_and_ctrl_c_stops_everything(tmp_path):
    """The demo completes through the printed (signing) approve command; Ctrl-C frees every port; runs persist."""
    grpc, ui, model_port = free_port(), free_port(), free_port()
    config = yaml.safe_load((REPO_ROOT / "temporal-dev.yaml").read_text())
    config["server"].update(grpc_port=grpc, ui_port=ui, headless=True, db_filename=str(tmp_path / "t.sqlite"))
    config_path = tmp_path / "temporal-dev.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "AGENT_DATA_DIR": str(tmp_path / "data"),
           "AGENT_MODEL_BASE_URL": f"http://127.0.0.1:{model_port}/v1"}
    address = f"127.0.0.1:{grpc}"

    up = Up(config_path, env)
    started = up.wait_for("Started demo run")
    run_id = started.split()[3].rstrip(":")
    line = up.wait_for("-m worker.approve", f"Run {run_id} completed")
    if "-m worker.approve" in line:
        approve = subprocess.run(shlex.split(line.strip()), cwd=REPO_ROOT, capture_output=True, text=True)
        assert approve.returncode == 0, approve.stderr
        assert "approved call-" in approve.stdout and "as verified approver" in approve.stdout
        up.wait_for(f"Run {run_id} completed")
    assert up.interrupt() == 0
    assert "stopping Temporal dev server" in up.seen and "stopping model server" in up.seen
    assert not any(port_open("127.0.0.1", p) for p in (grpc, model_port))

    again = Up(config_path, env, "--no-demo")
    again.wait_for("Worker: starting")
    rows = temporal_json(address, "workflow", "list", "-q", f'WorkflowId="{run_id}"')
    assert [r["status"] for r in rows] == ["WORKFLOW_EXECUTION_STATUS_COMPLETED"]
    assert again.interrupt() == 0
