"""`agent`, the run API's command line, run as a user runs it: a subprocess against `python -m worker.api`
(a real uvicorn server, restarted mid-watch), a real worker process and a model wire server that
decides from each request, on the real dev server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from importlib.metadata import entry_points
from pathlib import Path

import httpx

from tests.conftest import eventually
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer, _text, tool_then_answer
from worker.agent_cli.client import Event, parse_sse
from worker.agent_cli.main import main
from worker.devserver import free_port
from worker.settings import REPO_ROOT

WRITE = {"path": "cli.txt", "content": "from the cli"}


class ApiProcess:
    """`python -m worker.api` on a fixed port, configured through the environment as users run it."""

    def __init__(self, address: str, task_queue: str, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "TEMPORAL_ADDRESS": address, "AGENT_TASK_QUEUE": task_queue,
                    "AGENT_DATA_DIR": str(data_dir),
                    "PYTHONPATH": str(REPO_ROOT)}
        self.log_path = data_dir / "api.log"
        self.process: subprocess.Popen | None = None

    def key(self, name: str, tenant: str, roles: str) -> str:
        done = subprocess.run([sys.executable, "-m", "worker.api", "keys", "add", name, "--tenant", tenant,
                               "--roles", roles], env=self.env, cwd=REPO_ROOT, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    async def start(self) -> ApiProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "worker.api", "--port", str(self.port)],
                                            env=self.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)

        async def answers() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log_path.read_text()
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{self.url}/openapi.json", timeout=2)).status_code == 200
            except httpx.TransportError:
                return False

        await eventually(answers, timeout_s=60, what="the API to answer")
        return self

    async def restart(self) -> None:
        """SIGKILL, as a crashed or replaced replica, then the same command on the same port."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        await self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def agent(url: str, key: str | None, *args: str) -> subprocess.CompletedProcess:
    """`python -m worker.agent_cli ARGS`, configured through the environment only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENT_API_")}
    env.update(AGENT_API_URL=url, PYTHONPATH=str(REPO_ROOT), **({"AGENT_API_KEY": key} if key else {}))
    return subprocess.run([sys.executable, "-m", "worker.agent_cli", *args], env=env, cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=90)


def follower(url: str, key: str, out: Path, *args: str) -> subprocess.Popen:
    """A long-running `agent ARGS` (watch, run --watch): stdout to `out`, stderr to `out`.err."""
    env = {**os.environ, "AGENT_API_URL": url, "AGENT_API_KEY": key, "PYTHONPATH": str(REPO_ROOT)}
    with out.open("w") as stdout, out.with_suffix(".err").open("w") as stderr:
        return subprocess.Popen([sys.executable, "-m", "worker.agent_cli", *args], env=env, cwd=REPO_ROOT,
                                stdout=stdout, stderr=stderr)


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


async def shows(path: Path, text: str, what: str) -> None:
    async def there() -> bool:
        return text in path.read_text()

    await eventually(there, timeout_s=60, what=what)


async def test_run_watch_approve_and_finish_across_an_api_restart(dev_server, tmp_path):
    """Two watchers (text and --json) see the approval wait, survive an API restart, resume with
    Last-Event-ID, and end with the result and exit 0 after a CLI approval; status, list and logs agree."""
    address, queue = dev_server.config.address, f"tq-{uuid.uuid4()}"
    data = tmp_path / "data"
    responder = tool_then_answer("write_file", WRITE, "cli.txt written")
    api = ApiProcess(address, queue, data)
    alice = api.key("alice", "acme", "start,view,approve")
    with ModelWireServer(responder) as model, WorkerProcess(address, queue, data, model.base_url):
        try:
            await api.start()
            key = f"k-{uuid.uuid4()}"  # keys are per tenant for as long as Temporal keeps the run
            first = agent(api.url, alice, "run", "write cli.txt", "--idempotency-key", key, "--budget-usd", "5")
            again = agent(api.url, alice, "run", "write cli.txt", "--idempotency-key", key, "--budget-usd", "5",
                          "--json")
            assert first.returncode == 0, first.stderr
            run_id = first.stdout.strip()
            assert json.loads(again.stdout) == {"id": run_id}
            text_out, json_out = tmp_path / "watch.txt", tmp_path / "watch.jsonl"
            watchers = [follower(api.url, alice, text_out, "watch", run_id),
                        follower(api.url, alice, json_out, "watch", run_id, "--json")]
            try:
                await shows(text_out, "approval needed: write_file (call-1-1)", "the text watch to show the wait")
                await shows(json_out, '"approval_needed"', "the JSON watch to show the wait")
                waiting = agent(api.url, alice, "status", run_id)
                await api.restart()
                approved = agent(api.url, alice, "approve", run_id, "call-1-1", "--comment", "looks right")
                assert [w.wait(timeout=90) for w in watchers] == [0, 0], text_out.with_suffix(".err").read_text()
            finally:
                for w in watchers:
                    if w.poll() is None:
                        w.kill()
            done_state = agent(api.url, alice, "status", run_id, "--json")
            logs = agent(api.url, alice, "logs", run_id, "--json")
            logs_text = agent(api.url, alice, "logs", run_id)
            listed: list[subprocess.CompletedProcess] = []

            async def listed_completed() -> bool:
                listed[:] = [agent(api.url, alice, "list", "--status", "completed"),
                             agent(api.url, alice, "--json", "list")]
                return run_id in listed[0].stdout

            await eventually(listed_completed, timeout_s=30, what="the run in `agent list --status completed`")
        finally:
            api.stop()
    assert "waiting_for_human" in waiting.stdout and f"agent approve {run_id} call-1-1" in waiting.stdout
    assert approved.returncode == 0 and approved.stdout.strip() == "approved call-1-1", approved.stderr
    events = json_lines(json_out.read_text())
    assert [e["offset"] for e in events] == list(range(len(events)))  # each event once, across the restart
    decided = next(e for e in events if e["kind"] == "approval_decided")
    assert decided["by"] == "alice" and decided["message"] == "looks right"
    assert events[-1]["kind"] == "result" and events[-1]["status"] == "completed"
    shown = text_out.read_text()
    assert "decision: write_file (call-1-1) approved by alice: looks right" in shown
    assert shown.splitlines()[-1].endswith(f"run {run_id} completed: cli.txt written")
    for w in (text_out, json_out):
        notes = w.with_suffix(".err").read_text()
        assert "connection lost" in notes and "reconnected; resuming after event" in notes, notes
    state = json.loads(done_state.stdout)
    assert state["status"] == "completed" and state["result"]["answer"] == "cli.txt written"
    assert logs.returncode == 0 and json_lines(logs.stdout) == events
    assert logs_text.stdout.splitlines()[-1].endswith(f"run {run_id} completed: cli.txt written")
    assert listed[0].stdout.startswith("ID") and run_id in [r["id"] for r in json.loads(listed[1].stdout)["runs"]]


async def test_reject_cancel_and_the_other_controls(dev_server, tmp_path):
    """`run --watch` ends at 0 after a CLI rejection (the model answers instead); a second run is
    messaged, paused, resumed, read with `logs` while it waits, and cancelled: its watch exits 1."""
    address, queue = dev_server.config.address, f"tq-{uuid.uuid4()}"
    data = tmp_path / "data"
    api = ApiProcess(address, queue, data)
    ops = api.key("ops", "acme", "start,view,approve")
    with ModelWireServer(tool_then_answer("write_file", WRITE, "left the file alone")) as model, \
            WorkerProcess(address, queue, data, model.base_url):
        try:
            await api.start()
            run_out = tmp_path / "run.txt"
            running = follower(api.url, ops, run_out, "run", "write cli.txt", "--watch", "--max-steps", "5")
            try:
                await shows(run_out, "approval needed: write_file (call-1-1)", "run --watch to show the wait")
                rejected_id = run_out.read_text().splitlines()[0]
                rejected = agent(api.url, ops, "reject", rejected_id, "call-1-1", "--comment", "not today")
                assert running.wait(timeout=90) == 0, run_out.with_suffix(".err").read_text()
            finally:
                if running.poll() is None:
                    running.kill()

            run_id = agent(api.url, ops, "run", "write cli.txt", "--instructions", "Be brief.").stdout.strip()

            async def waiting() -> bool:
                status = agent(api.url, ops, "status", run_id, "--json")
                return status.returncode == 0 and json.loads(status.stdout)["status"] == "waiting_for_human"

            await eventually(waiting, timeout_s=60, what="the second run to wait for approval")
            controls = [agent(api.url, ops, *args) for args in (
                ("message", run_id, "take your time"), ("pause", run_id), ("resume", run_id))]
            so_far = agent(api.url, ops, "logs", run_id, "--json")
            so_far_text = agent(api.url, ops, "logs", run_id)
            unknown_outcome = agent(api.url, ops, "resolve", run_id, "call-1-1", "mark_done", "--data", '{"ok": 1}')
            cancelled = agent(api.url, ops, "cancel", run_id)
            watched = agent(api.url, ops, "watch", run_id)
        finally:
            api.stop()
    assert rejected.returncode == 0 and rejected.stdout.strip() == "rejected call-1-1"
    shown = run_out.read_text()
    assert "decision: write_file (call-1-1) rejected by ops: not today" in shown
    assert shown.splitlines()[-1].endswith(f"run {rejected_id} completed: left the file alone")
    assert [c.returncode for c in controls] == [0, 0, 0], [c.stderr for c in controls]
    assert [c.stdout.strip() for c in controls] == ["sent", "pause sent", "resume sent"]
    events = json_lines(so_far.stdout)
    assert so_far.returncode == 0 and "approval_needed" in [e["kind"] for e in events]
    assert "result" not in [e["kind"] for e in events] and so_far.stderr == ""
    assert f"follow it from here: agent watch {run_id} --after " in so_far_text.stderr
    assert unknown_outcome.returncode == 7 and "HTTP 409" in unknown_outcome.stderr
    assert cancelled.returncode == 0 and cancelled.stdout.strip() == "cancel sent"
    assert watched.returncode == 1 and f"run {run_id} cancelled" in watched.stdout.splitlines()[-1]
    told = ["\nInstructions: Be brief.\n" in _text(r["messages"][0]["content"]) for r in model.requests]
    assert told[0] is False and told[-1] is True  # only the second run was given instructions


async def test_refusals_are_one_line_with_their_own_exit_codes(dev_server, tmp_path):
    """No key, a bad key, a missing role, an unknown run, an invalid request and an unreachable API
    each print one line naming the problem (no traceback) and exit with the code docs/cli.md lists."""
    api = ApiProcess(dev_server.config.address, f"tq-{uuid.uuid4()}", tmp_path / "data")
    viewer = api.key("vic", "acme", "view")
    starter = api.key("sam", "acme", "start")
    try:
        await api.start()
        results = {
            "no key": agent(api.url, None, "list"),
            "bad key": agent(api.url, "dak_not-a-key", "list"),
            "role": agent(api.url, viewer, "run", "write cli.txt"),
            "unknown run": agent(api.url, viewer, "status", "no-such-run"),
            "invalid": agent(api.url, starter, "run", "   "),
            "bad JSON": agent(api.url, viewer, "approve", "r", "c", "--arguments", "[1]"),
            "unreachable": agent(f"http://127.0.0.1:{free_port()}", viewer, "list"),
        }
    finally:
        api.stop()
    codes = {what: done.returncode for what, done in results.items()}
    assert codes == {"no key": 4, "bad key": 4, "role": 5, "unknown run": 6, "invalid": 8, "bad JSON": 2,
                     "unreachable": 3}, {what: done.stderr for what, done in results.items()}
    for what, done in results.items():
        assert done.stdout == "" and done.stderr.count("\n") == 1 and done.stderr.startswith("agent: "), what
    assert "AGENT_API_KEY" in results["no key"].stderr and "HTTP 401" in results["bad key"].stderr
    assert "vic may not start runs" in results["role"].stderr and "no run 'no-such-run'" in results["unknown run"].stderr
    assert "goal" in results["invalid"].stderr and "HTTP 422" in results["invalid"].stderr
    assert "the API is not reachable at http://127.0.0.1:" in results["unreachable"].stderr
    assert "connection refused" in results["unreachable"].stderr


def test_the_console_script_is_the_same_command():
    """pyproject's `agent` script is `worker.agent_cli.main:main` (after `pip install -e .`)."""
    (script,) = entry_points(group="console_scripts", name="agent")
    assert script.load() is main


def test_the_stream_is_read_as_an_event_source_reads_it():
    """Pings and messages without an id are skipped; multi-line data is joined; fields end with a blank line."""
    lines = [": ping", "", "id: 0", "event: status", 'data: {"kind": "status",', 'data:  "step": 1}', "",
             "event: orphan", "data: {}", "", "id: 1", "event: result", 'data: {"kind": "result"}', ""]
    assert list(parse_sse(lines)) == [Event(0, "status", {"kind": "status", "step": 1}),
                                      Event(1, "result", {"kind": "result"})]
