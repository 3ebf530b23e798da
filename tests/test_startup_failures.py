"""A process that cannot start says why in one line and exits 2, never with a traceback: a worker whose
data directory's embedded store another process holds (the worker `up` started, the knowledge CLI), an
API whose port is taken."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

from worker.settings import REPO_ROOT

HOLD = """
import sys, time
from qdrant_client import QdrantClient
client = QdrantClient(path=sys.argv[1])
print("held", flush=True)
time.sleep(120)
"""


def test_a_store_held_by_another_process_is_one_line(dev_server, tmp_path):
    data = tmp_path / "data"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(data / "qdrant")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        env = {**os.environ, "AGENT_DATA_DIR": str(data), "TEMPORAL_ADDRESS": dev_server.config.address,
               "AGENT_TASK_QUEUE": f"tq-{uuid.uuid4()}", "PYTHONPATH": str(REPO_ROOT)}
        done = subprocess.run([sys.executable, "-m", "worker"], env=env, cwd=REPO_ROOT, capture_output=True,
                              text=True, timeout=120)
    finally:
        holder.kill()
        holder.wait()
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr[-2000:]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert lines[0].startswith(f"worker: the local Qdrant store at {data / 'qdrant'} is open in another process")


def test_an_api_port_in_use_is_one_line_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "AGENT_DATA_DIR": str(tmp_path / "data"), "TEMPORAL_ADDRESS": "127.0.0.1:9",
               "PYTHONPATH": str(REPO_ROOT)}
        done = subprocess.run([sys.executable, "-m", "worker.api", "--port", str(port)], env=env, cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"api: 127.0.0.1:{port} is in use (another API, or `up` running?): stop it, or pass --port (and set "
        "AGENT_API_URL for `up` and the agent CLI)"], done.stderr
