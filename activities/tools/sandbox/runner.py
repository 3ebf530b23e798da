"""Run one allow-listed executable in the sandbox and collect what happened.

Isolation ('namespaces' mode): the command runs in fresh mount, network, pid, IPC and UTS namespaces
(util-linux `unshare`), chrooted into a tmpfs root that holds only read-only system directories, a
private /proc and /tmp, and the run's workspace at /workspace; as a per-run unprivileged uid with
no_new_privs; with RLIMIT_CPU/AS/FSIZE/NPROC/NOFILE; with an explicit environment. The death of the
namespace's pid 1 takes every process in it along. 'rlimits' mode has no namespaces: the helper is a child
subreaper that kills everything the command started (see enter.py), and a worker that shares its uid with
the command (not root) makes itself non-dumpable so the command cannot read its /proc/<pid>/environ.

Nothing of the workspace is trusted after a command ran in it: walks go through directory handles and
never follow a link (here and in outputs.py).
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from activities.tools.sandbox.config import SANDBOX_PATH, SandboxConfig
from activities.tools.sandbox.outputs import OUTPUTS_DIR

_ENTER = str(Path(__file__).with_name("enter.py"))
_UID_SPAN = 50_000
_PR_SET_DUMPABLE = 4


@dataclass(frozen=True)
class SandboxRun:
    exit_code: int | None  # None when killed by a signal
    signal: str | None
    timed_out: bool
    duration_ms: float
    stdout: Path
    stderr: Path
    files_changed: dict[str, list[str]]


def sandbox_uid(config: SandboxConfig, run_id: str) -> int:
    return config.uid_base + int(hashlib.sha256(run_id.encode()).hexdigest(), 16) % _UID_SPAN


def _give_workspace_to(workspace: Path, uid: int) -> None:
    """Let the sandbox uid write the workspace; .outputs stays root's.

    Through directory handles (os.fwalk) and never following a link: a link the command planted, or a
    directory swapped for one mid-walk, must never redirect a chown to a host file.
    """
    for dirpath, dirnames, filenames, dirfd in os.fwalk(workspace, follow_symlinks=False):
        if dirpath == str(workspace) and OUTPUTS_DIR in dirnames:
            dirnames.remove(OUTPUTS_DIR)
        os.chown(dirfd, uid, uid)
        for name in filenames + dirnames:
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            # A directory is chowned when fwalk enters it (a link to one is listed but never entered: the
            # link itself is chowned). A file with a second name may be a host file hard-linked in (where
            # fs.protected_hardlinks is off): chowning it would give the host file to the sandbox uid.
            if stat.S_ISDIR(st.st_mode) or (stat.S_ISREG(st.st_mode) and st.st_nlink > 1):
                continue
            os.chown(name, uid, uid, dir_fd=dirfd, follow_symlinks=False)


def _snapshot(workspace: Path) -> dict[str, tuple[int, int, int]]:
    seen: dict[str, tuple[int, int, int]] = {}
    for dirpath, dirnames, filenames, dirfd in os.fwalk(workspace, follow_symlinks=False):
        if dirpath == str(workspace) and OUTPUTS_DIR in dirnames:
            dirnames.remove(OUTPUTS_DIR)
        for name in filenames:
            try:
                st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
            except FileNotFoundError:
                continue
            seen[os.path.relpath(os.path.join(dirpath, name), workspace)] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return seen


def _changes(before: dict, after: dict, limit: int = 200) -> dict[str, list[str]]:
    return {
        "created": sorted(set(after) - set(before))[:limit],
        "modified": sorted(p for p in set(after) & set(before) if after[p] != before[p])[:limit],
        "deleted": sorted(set(before) - set(after))[:limit],
    }


def run_sandboxed(config: SandboxConfig, unshare: str, workspace: Path, run_id: str, executable: str,
                  name: str, args: list[str], wall_time_s: float, capture_dir: Path) -> SandboxRun:
    """Run `executable` (argv[0] = `name`) with `args`; stdout/stderr go to files in `capture_dir`,
    which the command cannot see."""
    workspace = workspace.resolve()
    uid = sandbox_uid(config, run_id)
    # The empty mount point of the sandbox's root; the tmpfs over it exists only in the sandbox's namespace.
    scratch = Path(tempfile.mkdtemp(prefix="agent-sandbox-"))
    try:
        (scratch / "root").mkdir()
        if os.geteuid() == 0:
            _give_workspace_to(workspace, uid)
        else:
            _hide_worker_environment()
        spec = {
            "isolate": config.isolation == "namespaces",
            "root_dir": str(scratch / "root"),
            "workspace": str(workspace),
            "uid": uid,
            "gid": uid,
            "tmp_size_mb": config.tmp_size_mb,
            "status_path": str(capture_dir / "status"),
            "limits": {
                "RLIMIT_CPU": config.cpu_s,
                "RLIMIT_AS": config.memory_mb * 1024 * 1024,
                "RLIMIT_FSIZE": config.file_size_mb * 1024 * 1024,
                "RLIMIT_NPROC": config.max_processes,
                "RLIMIT_NOFILE": config.max_open_files,
                "RLIMIT_CORE": 0,
            },
            "executable": executable,
            "argv": [name, *args],
            # Nothing of the worker's environment (keys, tokens, URLs) reaches the command.
            "env": {"PATH": SANDBOX_PATH, "HOME": "/workspace" if config.isolation == "namespaces" else str(workspace),
                    "LANG": "C.UTF-8", "TMPDIR": "/tmp"},
        }
        helper = [sys.executable, "-I", "-S", _ENTER, json.dumps(spec)]
        argv = [unshare, "--mount", "--net", "--pid", "--ipc", "--uts", "--fork", "--kill-child", "--", *helper] \
            if spec["isolate"] else helper
        before = _snapshot(workspace)
        stdout, stderr = capture_dir / "stdout", capture_dir / "stderr"
        started = time.monotonic()
        with stdout.open("wb") as out, stderr.open("wb") as err:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd="/",
                                       env={"PATH": SANDBOX_PATH}, start_new_session=True, close_fds=True)
            timed_out = False
            try:
                process.wait(timeout=wall_time_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill(process, bool(spec["isolate"]))
            finally:
                if process.poll() is None:  # interrupted (activity cancelled): never leave it running
                    _kill(process, bool(spec["isolate"]))
        duration_ms = (time.monotonic() - started) * 1000
        exit_code, sig = _command_status(capture_dir / "status", process.returncode, timed_out)
        return SandboxRun(
            exit_code=exit_code,
            signal=sig,
            timed_out=timed_out,
            duration_ms=round(duration_ms, 1),
            stdout=stdout,
            stderr=stderr,
            files_changed=_changes(before, _snapshot(workspace)),
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _hide_worker_environment() -> None:
    """A command running as the worker's own uid could read the worker's /proc/<pid>/environ (API keys)
    and memory. Non-dumpable, those files belong to root and ptrace access is refused to the same uid.
    Process-wide and permanent: the worker has no use for core dumps of a process holding keys."""
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0)")


def _command_status(path: Path, helper_code: int, timed_out: bool) -> tuple[int | None, str | None]:
    """(exit code, signal name) of the command; a killed helper wrote nothing, so that is SIGKILL."""
    try:
        code = json.loads(path.read_text())["exit_code"]
    except (OSError, ValueError, KeyError):
        if timed_out:
            return None, "SIGKILL"
        return helper_code, None  # the sandbox failed to set up (125/126); stderr says why
    if code < 0:
        return None, signal.Signals(-code).name
    return code, None


def _kill(process: subprocess.Popen, isolated: bool) -> int:
    """SIGKILL the command and everything it started; return the exit status as Popen reports it.

    Isolated, the namespace's pid 1 (unshare's child) is killed first: the kernel then kills every process
    in the namespace, and unshare, still alive, reaps it and exits with the signal, so no zombie is left
    to the host's init. In 'rlimits' mode the helper is asked (SIGTERM) to kill everything below it, which
    it can reach however detached. The process group is the last resort.
    """
    if isolated:
        for child in _children(process.pid):
            _signal(lambda child=child: os.kill(child, signal.SIGKILL))
    else:
        _signal(lambda: os.kill(process.pid, signal.SIGTERM))
    try:
        return process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        pass
    _signal(lambda: os.killpg(process.pid, signal.SIGKILL))
    return process.wait()


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _signal(send) -> None:
    try:
        send()
    except ProcessLookupError:
        pass
