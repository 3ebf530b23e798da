"""The README's first command, as a user runs it: the stack starts, the demo run asks for approval,
the printed command approves it, Ctrl-C stops everything, and a restart still has the run."""

from __future__ import annotations

import os
import queue
import select
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.processes import temporal_json
from worker.devserver import free_port, port_open
from worker.settings import REPO_ROOT

STARTED: list[subprocess.Popen] = []


@pytest.fixture(autouse=True)
def _stop_what_a_failed_test_left():
    """A test that fails before its Ctrl-C must not leave a stack running (and its ports taken)."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()


class Up:
    """`python -m worker.dev up` with its output readable line by line."""

    def __init__(self, config: Path, env: dict[str, str], *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker.dev", "up", "--config", str(config), *args],
            cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        STARTED.append(self.process)
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
        """Ctrl-C, and `up`'s exit code. Each stop inside is bounded (worker and model server 15 s, the dev
        server 10 s, then a kill), so 60 s means something ignored its bound: say what `up` printed."""
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        assert code is not None, "up did not stop within 60 s of Ctrl-C; its output:\n" + "\n".join(self.seen[-60:])
        return code


def test_up_runs_the_demo_and_ctrl_c_stops_everything(tmp_path):
    """The demo completes through the printed (signing) approve command; Ctrl-C frees every port; runs persist."""
    grpc, ui, model_port = free_port(), free_port(), free_port()
    config = yaml.safe_load((REPO_ROOT / "temporal-dev.yaml").read_text())
    config["server"].update(grpc_port=grpc, ui_port=ui, headless=True, db_filename=str(tmp_path / "t.sqlite"))
    config_path = tmp_path / "temporal-dev.yaml"
    config_path.write_text(yaml.safe_dump(config))
    api = f"http://127.0.0.1:{free_port()}"
    env = {**os.environ, "AGENT_DATA_DIR": str(tmp_path / "data"),
           "AGENT_MODEL_BASE_URL": f"http://127.0.0.1:{model_port}/v1", "AGENT_API_URL": api}
    address = f"127.0.0.1:{grpc}"

    up = Up(config_path, env)
    assert up.wait_for("Run API:") == f"Run API: {api}/v1 (docs {api}/docs, log {tmp_path / 'data/logs/api.log'})"
    token = up.wait_for("local token").rsplit(" ", 1)[1]
    started = up.wait_for("Started demo run")
    run_id = started.split()[3].rstrip(":")
    line = up.wait_for("-m worker.approve", f"Run {run_id} completed")
    if "-m worker.approve" in line:
        approve = subprocess.run(shlex.split(line.strip()), cwd=REPO_ROOT, capture_output=True, text=True)
        assert approve.returncode == 0, approve.stderr
        assert "approved call-" in approve.stdout and "as verified approver" in approve.stdout
        up.wait_for(f"Run {run_id} completed")
    local = {"Authorization": f"Bearer {token}"}
    listed = httpx.get(f"{api}/v1/runs", headers=local, timeout=30).json()["runs"]
    assert [r["id"] for r in listed] == [run_id]  # started by `up` on the CLI path, tenant default: the same runs
    assert httpx.get(f"{api}/v1/runs/{run_id}", headers=local, timeout=30).json()["status"] == "completed"
    assert httpx.get(f"{api}/v1/runs", headers={"Authorization": "Bearer dak_x"}, timeout=30).status_code == 401
    assert up.interrupt() == 0
    assert {"stopping Temporal dev server", "stopping model server", "stopping run API"} <= set(up.seen)
    assert not any(port_open("127.0.0.1", p) for p in (grpc, model_port, int(api.rsplit(":", 1)[1])))

    again = Up(config_path, env, "--no-demo")
    again.wait_for("Worker: starting")
    rows = temporal_json(address, "workflow", "list", "-q", f'WorkflowId="{run_id}"')
    assert [r["status"] for r in rows] == ["WORKFLOW_EXECUTION_STATUS_COMPLETED"]
    assert again.interrupt() == 0


def _proc_table() -> dict[int, tuple[int, int, str]]:
    """pid -> (parent pid, start time, state) for every process, read from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # exited while we looked
            table[int(entry.name)] = (int(fields[1]), int(fields[19]), fields[0])
    return table


def _descendants(root: int) -> dict[tuple[int, int], str]:
    """(pid, start time) -> command line of every live descendant; the start time guards against pid reuse."""
    table, found, todo = _proc_table(), {}, [root]
    while todo:
        parent = todo.pop()
        for pid, (ppid, start, _) in table.items():
            if ppid == parent:
                try:
                    found[(pid, start)] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                todo.append(pid)
    return found


def _alive(key: tuple[int, int]) -> bool:
    entry = _proc_table().get(key[0])
    return entry is not None and entry[1] == key[1] and entry[2] != "Z"  # a zombie has exited


def _until(check, timeout_s: float, what: str) -> None:
    """Poll an observable condition with a deadline (the synchronous `eventually`)."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


class PipedUp:
    """`up --no-demo` writing stdout and stderr into a pipe this test can close, like `up 2>&1 | tee`."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.reader, writer = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker.dev", "up", "--config", str(config), "--no-demo"],
            cwd=REPO_ROOT, env=env, stdout=writer, stderr=writer,
        )
        STARTED.append(self.process)
        os.close(writer)
        self.output = b""

    def _read(self, timeout_s: float) -> bool:
        ready, _, _ = select.select([self.reader], [], [], timeout_s)
        chunk = os.read(self.reader, 65536) if ready else b""
        self.output += chunk
        return bool(chunk)

    def wait_for(self, needle: str, timeout_s: float = 180) -> None:
        deadline = time.monotonic() + timeout_s
        while needle not in self.output.decode(errors="replace"):
            if time.monotonic() > deadline or not self._read(deadline - time.monotonic()):
                raise AssertionError(f"{needle!r} did not appear; output:\n{self.output.decode(errors='replace')}")

    def close_pipe(self) -> None:
        """The pipe's reader goes away (the tee that died with the Ctrl-C, or the closed terminal)."""
        os.close(self.reader)
        self.reader = -1

    def rest_of_output(self) -> str:
        if self.reader >= 0:
            while self._read(30):
                pass
            os.close(self.reader)
        return self.output.decode(errors="replace")


@pytest.mark.parametrize(("signame", "pipe_closed"), [
    ("SIGINT", True),    # Ctrl-C on `up | tee up.log`: tee dies too, every write after it is EPIPE
    ("SIGHUP", True),    # the terminal closes: SIGHUP, and the output has nowhere to go
    ("SIGTERM", False),  # a process manager stops it
    ("SIGKILL", False),  # nothing runs in `up`; the kernel's parent-death signal stops the children
])
def test_up_stops_every_process_it_started_however_it_ends(tmp_path, signame, pipe_closed):
    """The dev server, model server and worker that `up` started are all gone once `up` is stopped."""
    config = yaml.safe_load((REPO_ROOT / "temporal-dev.yaml").read_text())
    config["server"].update(grpc_port=free_port(), ui_port=free_port(), headless=True,
                            db_filename=str(tmp_path / "t.sqlite"))
    config_path = tmp_path / "temporal-dev.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "AGENT_DATA_DIR": str(tmp_path / "data"),
           "AGENT_MODEL_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "AGENT_API_URL": f"http://127.0.0.1:{free_port()}"}
    up = PipedUp(config_path, env)
    children: dict[tuple[int, int], str] = {}
    try:
        up.wait_for("Worker: starting")

        def all_started() -> bool:
            children.update(_descendants(up.process.pid))
            return any(cmd.endswith("-m worker ") for cmd in children.values())

        _until(all_started, 30, "the worker process")
        commands = " | ".join(children.values())
        assert "server start-dev" in commands and "llama_cpp.server" in commands, commands
        if pipe_closed:
            up.close_pipe()
        up.process.send_signal(getattr(signal, signame))
        code = up.process.wait(timeout=90)
        _until(lambda: not any(_alive(c) for c in children), 60, f"every child of `up` to exit: {commands}")
        output = up.rest_of_output()
        if signame == "SIGKILL":
            assert code == -signal.SIGKILL
        else:
            assert code == 0, output
        if not pipe_closed and signame != "SIGKILL":
            assert f"{signame}: shutting down" in output and "stopping worker" in output, output
    finally:
        if up.process.poll() is None:
            up.process.kill()
        for pid, start in children:
            if _alive((pid, start)):
                os.kill(pid, signal.SIGKILL)


def test_up_with_keys_serves_a_codec_for_the_web_ui_and_stops_it(tmp_path):
    """With AGENT_CODEC_KEYS set, `up` runs a codec server, points the Web UI at it, and stops it on Ctrl-C."""
    config = yaml.safe_load((REPO_ROOT / "temporal-dev.yaml").read_text())
    config["server"].update(grpc_port=free_port(), ui_port=free_port(), headless=False,
                            db_filename=str(tmp_path / "t.sqlite"))
    config_path = tmp_path / "temporal-dev.yaml"
    config_path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "AGENT_DATA_DIR": str(tmp_path / "data"), "AGENT_CODEC_KEYS": f"k1:{'A' * 43}=",
           "AGENT_MODEL_BASE_URL": f"http://127.0.0.1:{free_port()}/v1", "AGENT_API_URL": f"http://127.0.0.1:{free_port()}"}
    up = PipedUp(config_path, env)
    children: dict[tuple[int, int], str] = {}
    try:
        up.wait_for("Worker: starting")
        endpoint = next(line.split()[2] for line in up.output.decode().splitlines() if line.startswith("Codec server:"))
        children.update(_descendants(up.process.pid))
        [server] = [cmd for cmd in children.values() if "server start-dev" in cmd]
        assert f"--ui-codec-endpoint {endpoint}" in server
        decoded = httpx.post(f"{endpoint}/decode", json={"payloads": []},
                             headers={"Origin": f"http://127.0.0.1:{config['server']['ui_port']}"})
        assert decoded.status_code == 200 and "access-control-allow-origin" in decoded.headers
        up.process.send_signal(signal.SIGINT)
        assert up.process.wait(timeout=90) == 0
        assert "stopping codec server" in up.rest_of_output()
        assert not port_open("127.0.0.1", int(endpoint.rsplit(":", 1)[1]))
        _until(lambda: not any(_alive(c) for c in children), 60, "every child of `up` to exit")
    finally:
        if up.process.poll() is None:
            up.process.kill()
        for pid, start in children:
            if _alive((pid, start)):
                os.kill(pid, signal.SIGKILL)
