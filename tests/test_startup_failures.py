"""A worker that cannot start says why in one line and exits 2, never with a traceback: here, the embedded
store of its data directory held by another process (the worker `up` started, the knowledge CLI)."""

from __future__ import annotations

import os
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
