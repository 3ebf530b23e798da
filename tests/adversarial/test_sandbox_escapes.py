"""Attacks on `run_command` from inside the sandbox, in both isolation modes, through the real tool activity.

Each test is an escape that worked once: a symlink that steered the worker's root writes, background
processes that outlived the call, a worker environment readable by a command running as the same uid.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.tools.command import build_command_tool
from activities.tools.sandbox import SandboxConfig
from activities.tools.sandbox.runner import sandbox_uid
from activities.tools.workspaces import workspace_dir
from tests.tools.helpers import call_input, tool_activities

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0, reason="the sandbox's uid separation needs Linux and root"
)
# A uid range of its own, so a check for "no process of the sandbox uid" never sees another test's run.
CONFIGS = {
    mode: SandboxConfig(allowed_executables=["python3"], isolation=mode, cpu_s=10, memory_mb=256, file_size_mb=1,
                        max_processes=16, wall_time_s=20, preview_bytes=1024, uid_base=310_000)
    for mode in ("namespaces", "rlimits")
}
SECRET = "s3cr3t-api-key-4b1d"
BIG = "A" * 12_000
BIG_SHA = hashlib.sha256((BIG + "\n").encode()).hexdigest()
ROOT = Path(__file__).parents[2]


@pytest.fixture(params=sorted(CONFIGS))
def mode(request) -> str:
    return request.param


@pytest.fixture
def tools(tmp_path, mode):
    yield tool_activities(tmp_path, build_command_tool(CONFIGS[mode]))
    _kill_uid(sandbox_uid(CONFIGS[mode], "run-1"))  # hygiene if a test failed with processes left over


async def run(tools, code: str, call_id: str = "call-1-1"):
    return await ActivityEnvironment().run(
        tools.execute, call_input("run_command", call_id=call_id, executable="python3", args=["-c", code])
    )


def workspace(tmp_path: Path) -> Path:
    path = workspace_dir(tmp_path / "workspaces", "run-1")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _outside(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    return outside


def _assert_stored(tmp_path: Path, result) -> None:
    """The big output is truncated in the result and stored, as a regular file, inside the workspace."""
    out = result.data["stdout"]
    assert result.status == "ok" and out["truncated"] and out["stored"]["ref"] == BIG_SHA, result
    stored = workspace(tmp_path) / out["stored"]["path"]
    assert (workspace(tmp_path) / ".outputs").is_dir() and not (workspace(tmp_path) / ".outputs").is_symlink()
    assert not stored.is_symlink() and stored.read_text() == BIG + "\n"


async def test_a_planted_outputs_link_cannot_steer_the_store(tools, tmp_path):
    """`.outputs` planted as a link to a host directory: the big output still lands in the workspace."""
    outside = _outside(tmp_path)
    result = await run(tools, f"import os; os.symlink({str(outside)!r}, '.outputs'); print('A' * 12_000)")
    assert list(outside.iterdir()) == []
    _assert_stored(tmp_path, result)
    # Moved aside, not followed and not deleted: the command's own link is still there to see.
    [moved] = [p for p in workspace(tmp_path).iterdir() if p.name.startswith(".outputs.untrusted-")]
    assert moved.is_symlink()


async def test_a_replaced_outputs_dir_cannot_steer_the_store(tools, tmp_path):
    """A later command renames the worker's `.outputs` away and plants a link in its place."""
    outside = _outside(tmp_path)
    first = await run(tools, "print('A' * 12_000)")
    _assert_stored(tmp_path, first)
    code = f"import os; os.rename('.outputs', 'mine'); os.symlink({str(outside)!r}, '.outputs'); print('A' * 12_000)"
    result = await run(tools, code, call_id="c2")
    assert list(outside.iterdir()) == []
    _assert_stored(tmp_path, result)


async def test_a_dangling_output_link_cannot_write_outside(tools, tmp_path, monkeypatch):
    """The command makes `.outputs` itself and plants `<sha>.txt` as a dangling link to a host path, with
    the capture dir on another filesystem (a tmpfs TMPDIR), where a move is a copy through the link."""
    assert os.stat("/dev/shm").st_dev != os.stat(tmp_path).st_dev
    monkeypatch.setattr(tempfile, "tempdir", "/dev/shm")
    outside = _outside(tmp_path)
    target = outside / "cron-job"
    code = f"import os; os.mkdir('.outputs'); os.symlink({str(target)!r}, '.outputs/{BIG_SHA}.txt'); print('A' * 12_000)"
    result = await run(tools, code)
    assert not target.exists() and list(outside.iterdir()) == []
    _assert_stored(tmp_path, result)


async def test_a_hard_linked_host_file_is_not_given_away(tools, tmp_path):
    """A host file hard-linked into the workspace (what a command can do where fs.protected_hardlinks is
    off; planted here by the test) is not chowned to the sandbox uid, so the command cannot write it."""
    host_file = _outside(tmp_path) / "passwd"
    host_file.write_text("root:x:0:0\n")
    host_file.chmod(0o644)
    os.link(host_file, workspace(tmp_path) / "linked")
    result = await run(tools, "open('linked', 'a').write('mallory::0:0\\n')")
    assert result.data["exit_code"] != 0 and "PermissionError" in result.data["stderr"]["text"], result
    assert host_file.read_text() == "root:x:0:0\n" and host_file.stat().st_uid == 0


BACKGROUND = """
import os, subprocess, sys, time
LOOP = "import os, time\\nopen('pid-%s', 'w').write(str(os.getpid()))\\nwhile True:\\n    open('marker-%s', 'a').write('x')\\n    time.sleep(0.1)\\n"
subprocess.Popen([sys.executable, '-c', LOOP % ('plain', 'plain')])
subprocess.Popen([sys.executable, '-c', LOOP % ('setsid', 'setsid')], start_new_session=True)
if os.fork() == 0:  # double fork: the grandchild is orphaned at once
    if os.fork() == 0:
        os.setsid()
        os.execv(sys.executable, [sys.executable, '-c', LOOP % ('daemon', 'daemon')])
    os._exit(0)
while not all(os.path.exists(f'marker-{n}') for n in ('plain', 'setsid', 'daemon')):
    time.sleep(0.05)
print('started', flush=True)
"""


async def test_background_processes_end_with_the_call(tools, tmp_path, mode):
    """Plain, setsid'd and double-forked background processes are all gone the moment the call returns."""
    result = await run(tools, BACKGROUND)
    assert result.data["stdout"]["text"] == "started\n" and result.data["exit_code"] == 0, result
    assert _pids_of(sandbox_uid(CONFIGS[mode], "run-1")) == []
    if mode == "rlimits":  # no pid namespace: the pids the processes wrote are the host's
        for name in ("plain", "setsid", "daemon"):
            pid = int((workspace(tmp_path) / f"pid-{name}").read_text())
            assert not Path(f"/proc/{pid}").exists(), f"{name} background process {pid} is still running"


async def test_a_timed_out_command_takes_its_background_along(tools, mode):
    """The wall-time limit kills the command and the detached processes it started."""
    code = BACKGROUND + "time.sleep(60)\n"
    result = await ActivityEnvironment().run(tools.execute, call_input(
        "run_command", executable="python3", args=["-c", code], timeout_s=3))
    assert result.data["timed_out"] and result.data["stdout"]["text"] == "started\n", result
    assert _pids_of(sandbox_uid(CONFIGS[mode], "run-1")) == []


async def test_the_command_gets_none_of_the_worker_environment(tools, monkeypatch):
    """A secret in the worker's environment is neither in the command's environment nor readable in
    the worker's /proc/<pid>/environ."""
    monkeypatch.setenv("AGENT_TEST_SECRET", SECRET)
    probe = (f"import os\nprint(sorted(os.environ))\ntry:\n    print(open('/proc/{os.getpid()}/environ').read())\n"
             "except OSError as e:\n    print('refused', e.errno)\n")
    result = await run(tools, probe)
    text = result.data["stdout"]["text"]
    assert result.data["exit_code"] == 0 and SECRET not in text and "AGENT_TEST_SECRET" not in text, text


def test_a_non_root_worker_keeps_its_environment_and_processes_from_the_command(tmp_path):
    """'rlimits' mode under a worker that is not root, so the command runs as the worker's own uid: the
    command cannot read the worker's /proc/<pid>/environ, and its background processes still end."""
    base = Path(tempfile.mkdtemp(prefix="nonroot-worker-"))
    os.chown(base, 65534, 65534)
    try:
        done = subprocess.run([sys.executable, "-m", "tests.adversarial.nonroot_worker", str(base)], cwd=ROOT, check=False,
                              env={"PATH": os.environ["PATH"], "AGENT_TEST_SECRET": SECRET},
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
    finally:
        _kill_uid(65534, only_below=base)
        subprocess.run(["rm", "-rf", str(base)], check=False)
    assert report["uid"] == 65534 and report["command_uid"] == 65534
    assert report["environ"].startswith("refused") and SECRET not in json.dumps(report), report
    assert report["left_running"] == [], report


async def test_what_the_model_is_told_about_the_network_is_true(tools, mode):
    """The tool description promises no network only where the command really cannot connect out."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {server.getsockname()[1]}), "
                "timeout=5)\n    print('connected')\nexcept OSError:\n    print('blocked')\n")
        result = await run(tools, code)
    description = build_command_tool(CONFIGS[mode]).description
    connected = result.data["stdout"]["text"] == "connected\n"
    assert connected == (mode == "rlimits") and result.data["isolation"] == mode
    assert ("no network" in description) == (not connected)
    assert ("NOT isolated" in description) == connected


def _pids_of(uid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and proc.stat().st_uid == uid:
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def _kill_uid(uid: int, only_below: Path | None = None) -> None:
    for pid in _pids_of(uid):
        try:
            if only_below is None or os.readlink(f"/proc/{pid}/cwd").startswith(str(only_below)):
                os.kill(pid, 9)
        except OSError:
            pass
