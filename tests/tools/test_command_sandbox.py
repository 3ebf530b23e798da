"""The sandboxed command tool, through the real tool activity, including the escapes it must contain."""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.tools.command import build_command_tool
from activities.tools.registry import ToolRegistrationError
from activities.tools.sandbox import SandboxConfig
from activities.tools.sandbox.runner import sandbox_uid
from activities.tools.workspaces import workspace_dir
from tests.conftest import eventually
from tests.tools.helpers import call_input, tool_activities

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.geteuid() != 0, reason="namespace isolation needs Linux and root"
)
CONFIG = SandboxConfig(allowed_executables=["cat", "ls", "env", "yes", "python3"], cpu_s=5, memory_mb=256,
                       file_size_mb=1, max_processes=16, wall_time_s=20, preview_bytes=1024)
SECRET = "s3cr3t-token-7f1e9c"


@pytest.fixture
def tools(tmp_path):
    return tool_activities(tmp_path, build_command_tool(CONFIG))


async def run(tools, executable: str, *args: str, call_id: str = "call-1-1", **extra):
    return await ActivityEnvironment().run(
        tools.execute, call_input("run_command", call_id=call_id, executable=executable, args=list(args), **extra)
    )


def workspace(tmp_path: Path) -> Path:
    path = workspace_dir(tmp_path / "workspaces", "run-1")
    path.mkdir(parents=True, exist_ok=True)
    return path


async def test_arguments_are_a_list_not_a_shell_string(tools, tmp_path):
    """Shell syntax in an argument is just a file name; exit code, output and changed files are reported."""
    (workspace(tmp_path) / "a.txt").write_text("hello\n")
    ok = await run(tools, "cat", "a.txt")
    assert ok.status == "ok" and ok.data["exit_code"] == 0 and ok.data["stdout"]["text"] == "hello\n"
    injected = await run(tools, "cat", "a.txt; echo pwned > owned.txt", call_id="c2")
    assert injected.data["exit_code"] != 0 and "pwned" not in injected.data["stdout"]["text"]
    assert not (workspace(tmp_path) / "owned.txt").exists()
    wrote = await run(tools, "python3", "-c", "open('new.txt', 'w').write('x')", call_id="c3")
    assert wrote.data["files_changed"] == {"created": ["new.txt"], "modified": [], "deleted": []}


async def test_only_allow_listed_executables_run(tools):
    """An executable outside the allow-list is refused as invalid arguments, before anything runs."""
    refused = await run(tools, "sh", "-c", "id")
    assert (refused.status, refused.error_type) == ("error", "invalid_arguments")


async def test_files_outside_the_workspace_are_unreachable(tools, tmp_path):
    """Relative traversal, absolute paths and planted symlinks cannot read a world-readable file outside."""
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    secret.chmod(0o644)
    results = [
        await run(tools, "cat", "../../secret.txt"),
        await run(tools, "cat", str(secret), call_id="c2"),
        await run(tools, "python3", "-c", f"import os; os.symlink({str(secret)!r}, 'link'); print(open('link').read())",
                  call_id="c3"),
        await run(tools, "ls", "-la", "/", str(tmp_path), call_id="c4"),
    ]
    for result in results:
        assert SECRET not in result.data["stdout"]["text"] + result.data["stderr"]["text"]
    assert [r.data["exit_code"] != 0 for r in results] == [True, True, True, True]
    assert "No such file" in results[0].data["stderr"]["text"]


async def test_the_worker_environment_does_not_leak(tools, monkeypatch):
    """A secret in the worker's environment is absent from the command's environment and /proc."""
    monkeypatch.setenv("AGENT_TEST_SECRET", SECRET)
    env = await run(tools, "env")
    assert SECRET not in env.data["stdout"]["text"] and "HOME=/workspace" in env.data["stdout"]["text"]
    probe = ("import os\nfor p in os.listdir('/proc'):\n    if p.isdigit():\n        try: print(p, open(f'/proc/{p}/environ').read())\n"
             "        except OSError as e: print(p, e)\n")
    proc = await run(tools, "python3", "-c", probe, call_id="c2")
    assert proc.data["exit_code"] == 0 and SECRET not in proc.data["stdout"]["text"]
    assert str(os.getpid()) not in proc.data["stdout"]["text"].split()[::2]


async def test_there_is_no_network(tools):
    """A server listening on the worker's loopback cannot be reached from the sandbox."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.setblocking(False)
        port = server.getsockname()[1]
        code = (f"import socket\ntry:\n    socket.create_connection(('127.0.0.1', {port}), timeout=5)\n    print('connected')\n"
                "except OSError as e:\n    print('blocked', e)\n")
        result = await run(tools, "python3", "-c", code)
        assert result.data["stdout"]["text"].startswith("blocked")
        with pytest.raises(BlockingIOError):
            server.accept()


async def test_the_process_limit_holds(tools):
    """Forking stops at the per-run process limit (RLIMIT_NPROC as an unprivileged uid)."""
    code = ("import os, time\nn = 0\nwhile n < 200:\n    try:\n        pid = os.fork()\n    except OSError:\n        break\n"
            "    if pid == 0:\n        time.sleep(60); os._exit(0)\n    n += 1\nprint(n)\n")
    result = await run(tools, "python3", "-c", code)
    assert result.data["exit_code"] == 0 and int(result.data["stdout"]["text"]) < CONFIG.max_processes


async def test_a_fork_bomb_is_killed_with_everything_it_started(tools):
    """An unbounded fork loop ends at the wall-time limit, every process of the run gone, the tool still usable."""
    bomb = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    result = await run(tools, "python3", "-c", bomb, timeout_s=2)
    assert result.data["timed_out"] and result.data["signal"] == "SIGKILL" and result.data["exit_code"] is None
    uid = sandbox_uid(CONFIG, "run-1")

    async def none_left() -> bool:
        return not [p for p in Path("/proc").iterdir() if p.name.isdigit() and _uid_of(p) == uid]

    await eventually(none_left, timeout_s=30, what="the fork bomb's processes to be gone")
    after = await run(tools, "python3", "-c", "print('alive')", call_id="c2")
    assert after.data["stdout"]["text"] == "alive\n"


def _uid_of(proc: Path) -> int | None:
    try:
        return proc.stat().st_uid
    except OSError:
        return None


async def test_infinite_output_is_cut_off_and_stored(tools, tmp_path):
    """`yes` stops at the file-size limit; the result holds a preview and a reference to the full output."""
    result = await run(tools, "yes")
    out = result.data["stdout"]
    assert result.data["signal"] == "SIGXFSZ" and out["truncated"] and out["bytes"] == 1024 * 1024
    assert len(out["text"]) < 2 * CONFIG.preview_bytes
    stored = workspace(tmp_path) / out["stored"]["path"]
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == out["stored"]["ref"]
    assert stored.stat().st_size == out["bytes"]


async def test_memory_and_cpu_limits_stop_the_command(tools):
    """Allocating past the memory limit fails; spinning past the CPU limit is stopped by SIGXCPU."""
    hog = await run(tools, "python3", "-c", "x = bytearray(512 * 1024 * 1024)")
    assert hog.data["exit_code"] != 0 and "MemoryError" in hog.data["stderr"]["text"]
    spin = await run(tools, "python3", "-c", "while True: pass", call_id="c2")
    assert spin.data["signal"] in ("SIGXCPU", "SIGKILL") and not spin.data["timed_out"]


def test_a_bad_allow_list_fails_at_registration():
    """An unknown executable, or one the sandbox cannot see, stops the worker's start with the reason."""
    with pytest.raises(ToolRegistrationError, match="no-such-program"):
        build_command_tool(SandboxConfig(allowed_executables=["no-such-program"]))
    with pytest.raises(ToolRegistrationError, match="outside what the sandbox mounts"):
        build_command_tool(SandboxConfig(allowed_executables=[sys.executable]))
