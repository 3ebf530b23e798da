"""Real processes for end-to-end tests: `python -m worker` and the `temporal` CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from worker.binaries import find_binary
from worker.settings import REPO_ROOT


class WorkerProcess:
    """`python -m worker`, configured only through the environment, exactly as users run it."""

    def __init__(self, address: str, task_queue: str, data_dir: Path, model_base_url: str,
                 tool_modules: str | None = None, env: dict[str, str] | None = None) -> None:
        self.env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "AGENT_TASK_QUEUE": task_queue,
            "AGENT_DATA_DIR": str(data_dir),
            "AGENT_MODEL_BASE_URL": model_base_url,
            "PYTHONPATH": str(REPO_ROOT),
            # A killed worker's tool attempt blocks the next one until its lease ends: short in tests.
            "AGENT_TOOL_LEASE_S": "3",
        }
        if tool_modules:
            self.env["AGENT_TOOL_MODULES"] = tool_modules
        self.env.update(env or {})
        self.log_path = data_dir / "worker.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "worker"], env=self.env, cwd=REPO_ROOT,
                                        stdout=log, stderr=subprocess.STDOUT)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a crash or an OOM kill."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def restart(self) -> WorkerProcess:
        """SIGKILL, then start again on the same data directory, as a host that crashed and came back."""
        self.kill()
        return self.start()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> WorkerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def temporal(address: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the real `temporal` CLI against `address`."""
    done = subprocess.run([find_binary("temporal"), *args, "--address", address],
                          capture_output=True, text=True, timeout=60)
    if check and done.returncode != 0:
        raise AssertionError(f"temporal {' '.join(args)} exited {done.returncode}: {done.stderr or done.stdout}")
    return done


def temporal_json(address: str, *args: str) -> Any:
    return json.loads(temporal(address, *args, "-o", "json").stdout)


class ApiProcess:
    """`python -m worker.api`, configured through the environment, as an operator runs a replica."""

    def __init__(self, address: str, task_queue: str, data_dir: Path, env: dict[str, str] | None = None) -> None:
        from worker.devserver import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "TEMPORAL_ADDRESS": address, "AGENT_TASK_QUEUE": task_queue,
                    "AGENT_DATA_DIR": str(data_dir),
                    "PYTHONPATH": str(REPO_ROOT), **(env or {})}
        self.log_path = data_dir / f"api-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> ApiProcess:
        """Start, and return once it answers HTTP (its own readiness, not a fixed wait)."""
        import time
        import urllib.request

        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen([sys.executable, "-m", "worker.api", "--port", str(self.port)], env=self.env,
                                        cwd=REPO_ROOT, stdout=self.log_path.open("ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/openapi.json", timeout=2).close()
                return self
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"the API did not start: {self.log_path.read_text()}") from None
                time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def __enter__(self) -> ApiProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.kill()
