"""What `run --oracle` / `--own-worker` starts for a suite, so an eval needs nothing running but
(optionally) Temporal: the suite's HTTP fixture server, its knowledge ingested into a fresh data dir,
the oracle model server (with --oracle), and a `python -m worker` on a fresh task queue with the HTTP
tools enabled for the fixture server. `--start-temporal` adds a dev server from temporal-dev.yaml.

The worker is the real one, configured only through its environment as users run it. Every process
is started from the main thread with `die_with_parent`, so none outlives the runner.
"""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
import threading
import time
import uuid
from contextlib import ExitStack
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from worker.devserver import DevServer, free_port, load_dev_config
from worker.evals.oracle import OracleMode, OracleResponder, OracleServer, write_models_file
from worker.evals.suite import Suite, load_suite
from worker.lifetime import die_with_parent
from worker.settings import DEFAULT_TOOL_MODULES, REPO_ROOT

HTTP_TOOLS = "activities.tools.http_fetch"


class StackError(RuntimeError):
    pass


class FixtureServer:
    """Serves a folder over HTTP on 127.0.0.1 (the suite's `http_fixtures`), quietly."""

    def __init__(self, folder: Path) -> None:
        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> FixtureServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class WorkerProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env, self.log_path = env, log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "worker"], env=self.env, cwd=REPO_ROOT,
                                            stdout=log, stderr=subprocess.STDOUT, preexec_fn=die_with_parent())
        return self

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_temporal(workdir: Path) -> DevServer:
    """A dev server as temporal-dev.yaml configures it, on free ports with a database in `workdir`."""
    config = load_dev_config(server={"grpc_port": free_port(), "ui_port": free_port(), "headless": True,
                                     "db_filename": str(workdir / "temporal.sqlite")})
    return DevServer(config, log_path=workdir / "temporal.log", preexec_fn=die_with_parent()).start()


def ingest_knowledge(folder: Path, tenant: str, data_dir: Path, log_path: Path) -> None:
    """The suite's documents into the data dir's knowledge base, with the knowledge CLI, before the
    worker opens the store (Qdrant Edge serves one process at a time)."""
    env = {**os.environ, "AGENT_DATA_DIR": str(data_dir), "PYTHONPATH": str(REPO_ROOT)}
    with log_path.open("ab") as log:
        done = subprocess.run([sys.executable, "-m", "worker.knowledge_cli", "ingest", str(folder), "--tenant", tenant],
                              env=env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT, timeout=600)
    if done.returncode != 0:
        raise StackError(f"ingesting {folder} failed (exit {done.returncode}); see {log_path}")


class Stack:
    """Everything a suite run needs besides Temporal; a context manager. After `__enter__`:
    `suite` (rendered with the fixture server's URL), `task_queue`, `data_dir`."""

    def __init__(self, suite_path: Path, address: str, workdir: Path, oracle: OracleMode | None = None,
                 own_worker: bool = True, env: dict[str, str] | None = None) -> None:
        self.suite_path, self.address, self.workdir = suite_path, address, workdir
        self.oracle_mode, self.own_worker, self.extra_env = oracle, own_worker or oracle is not None, env or {}
        self.task_queue = f"evals-{uuid.uuid4().hex[:12]}"
        self.data_dir = workdir / "data"
        self.suite: Suite
        self.oracle: OracleResponder | None = None
        self.worker: WorkerProcess | None = None
        self._exit = ExitStack()

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def _start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        plain = load_suite(self.suite_path)
        http_base = None
        if (folder := plain.folder(plain.http_fixtures)) is not None:
            http_base = self._exit.enter_context(FixtureServer(folder)).base_url
        self.suite = load_suite(self.suite_path, http_base=http_base)
        if not self.own_worker:
            return
        env = {**os.environ, "TEMPORAL_ADDRESS": self.address, "AGENT_TASK_QUEUE": self.task_queue,
               "AGENT_DATA_DIR": str(self.data_dir), "PYTHONPATH": str(REPO_ROOT),
               "AGENT_TOOL_MODULES": ",".join([*DEFAULT_TOOL_MODULES, HTTP_TOOLS])}
        if http_base is not None:
            env |= {"AGENT_HTTP_ALLOWLIST": http_base, "AGENT_HTTP_ALLOW_NETWORKS": "127.0.0.1/32"}
        else:
            env["AGENT_TOOL_MODULES"] = ",".join(DEFAULT_TOOL_MODULES)
        if self.oracle_mode is not None:
            self.oracle = OracleResponder(self.suite, self.oracle_mode)
            server = self._exit.enter_context(OracleServer(self.oracle))
            env["AGENT_MODELS_FILE"] = str(write_models_file(self.workdir / "models.yaml", server.base_url))
        env |= self.extra_env
        if (knowledge := self.suite.folder(self.suite.knowledge)) is not None:
            ingest_knowledge(knowledge, self.suite.defaults.tenant_id, self.data_dir, self.workdir / "ingest.log")
        self.worker = WorkerProcess(env, self.workdir / "worker.log").start()
        self._exit.callback(self.worker.stop)

    async def wait_ready(self, client: Client, timeout_s: float = 120) -> None:
        """Until the worker polls its task queue; fails at once, with its log, if it exits."""
        if self.worker is None:
            return
        deadline = time.monotonic() + timeout_s
        request = DescribeTaskQueueRequest(namespace=client.namespace, task_queue=TaskQueue(name=self.task_queue),
                                           task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW)
        while True:
            process = self.worker.process
            if process is not None and process.poll() is not None:
                raise StackError(f"the worker exited with code {process.returncode}:\n{self.worker.log_tail()}")
            if (await client.workflow_service.describe_task_queue(request)).pollers:
                return
            if time.monotonic() > deadline:
                raise StackError(f"the worker did not poll {self.task_queue} within {timeout_s:g} s:\n"
                                 f"{self.worker.log_tail()}")
            await asyncio.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self._exit.close()
