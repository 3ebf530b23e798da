"""Inside the sandbox: build its filesystem view, then fork the command with limits and without privileges.

Run by `runner.py` as `unshare --mount --net --pid --ipc --uts --fork --kill-child -- python -I -S enter.py
SPEC`, so it starts as root, as pid 1 of fresh namespaces. Standard library only: it runs with `-S`
and must not import the project. A setup failure prints `sandbox: <why>` and exits 125 (126: the
executable could not be started), before the command ever runs. The command's exit status goes to a
file the worker reads: unshare's own report of a signal death is unreliable (it cannot re-raise SIGKILL).

In 'rlimits' mode the worker runs this directly (no namespaces). It is then a child subreaper, so every
orphan of the command (a double fork, a setsid'd daemon) is re-parented to it instead of to the host's
init, and it kills all of them before it exits, after the command ends or when the worker sends SIGTERM.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import sys

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)

# What a command needs from the host, read-only. /bin, /lib, /lib64 and /sbin are symlinks into /usr
# on merged-/usr systems and are recreated as symlinks; elsewhere they are bound like /usr.
_SYSTEM_DIRS = ("usr", "bin", "sbin", "lib", "lib64", "lib32")
_ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "localtime",
              "alternatives", "mime.types")
_DEVICES = ("null", "zero", "random", "urandom")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    def enc(s: str | None) -> bytes | None:
        return None if s is None else s.encode()

    if _libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {source or fstype} on {target}: {os.strerror(err)}")


def _bind(source: str, target: str, readonly: bool, nodev: bool = True) -> None:
    _mount(source, target, None, MS_BIND | MS_REC)
    # A bind mount ignores flags on creation; a remount applies them.
    flags = MS_BIND | MS_REMOUNT | MS_NOSUID | (MS_NODEV if nodev else 0) | (MS_RDONLY if readonly else 0)
    _mount(None, target, None, flags)


def _mount_point(path: str, like: str) -> None:
    if os.path.isdir(like):
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "a").close()


def build_root(spec: dict) -> None:
    """A tmpfs root holding read-only system dirs, /dev basics, a private /proc and /tmp, and /workspace."""
    root = spec["root_dir"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)  # nothing below propagates back to the host
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m,mode=0755")
    for name in _SYSTEM_DIRS:
        host = f"/{name}"
        if os.path.islink(host):
            os.symlink(os.readlink(host), f"{root}/{name}")
        elif os.path.isdir(host):
            _mount_point(f"{root}/{name}", host)
            _bind(host, f"{root}/{name}", readonly=True)
    for name in _ETC_FILES:
        host = f"/etc/{name}"
        if os.path.exists(host):
            _mount_point(f"{root}/etc/{name}", host)
            _bind(host, f"{root}/etc/{name}", readonly=True)
    for name in _DEVICES:
        _mount_point(f"{root}/dev/{name}", f"/dev/{name}")
        _bind(f"/dev/{name}", f"{root}/dev/{name}", readonly=False, nodev=False)
    os.makedirs(f"{root}/proc")
    _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    os.makedirs(f"{root}/tmp")
    _mount("tmpfs", f"{root}/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={spec['tmp_size_mb']}m,mode=1777")
    os.makedirs(f"{root}/workspace")
    _bind(spec["workspace"], f"{root}/workspace", readonly=False)
    _mount(None, root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chroot(root)


def drop_privileges(spec: dict) -> None:
    # RLIMIT_NPROC counts the processes of the real uid, and root is exempt from it: the command must
    # run as an unprivileged uid for the process limit (the fork-bomb guard) to hold.
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(spec["gid"])
        os.setuid(spec["uid"])
    if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")


def set_limits(limits: dict) -> None:
    for name, value in limits.items():
        resource.setrlimit(getattr(resource, name), (value, value))


def exec_command(spec: dict) -> None:
    """In the forked child: limits, privileges, default signals, then the command itself."""
    try:
        set_limits(spec["limits"])
        drop_privileges(spec)
    except OSError as e:
        print(f"sandbox: {e}", file=sys.stderr)
        os._exit(125)
    # Python ignores SIGPIPE and SIGXFSZ, and ignored signals survive exec: give the command the
    # defaults, so a full output file (RLIMIT_FSIZE) stops it instead of looping on EFBIG.
    for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    try:
        os.execve(spec["executable"], spec["argv"], spec["env"])
    except OSError as e:
        print(f"sandbox: cannot execute {spec['executable']}: {e.strerror}", file=sys.stderr)
    os._exit(126)


def kill_descendants() -> None:
    """SIGKILL every process below this one, generation by generation, and reap it, until none is left.

    A killed process's children are re-parented here (subreaper, or pid 1 of the namespace), so each
    round finds the next generation; a SIGKILLed process forks no more, and RLIMIT_NPROC bounds the rounds.
    """
    while True:
        for pid in _children():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _children() -> list[int]:
    me = os.getpid()
    try:
        with open(f"/proc/self/task/{me}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:  # a kernel without CONFIG_PROC_CHILDREN: find them by parent pid
        found = []
        for name in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{name}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:  # after "(comm)": state, ppid
                        found.append(int(name))
            except (OSError, ValueError, IndexError):
                pass
        return found


def _on_terminate(signum: int, frame: object) -> None:
    """The worker's wall-time limit or a cancelled call: take every process of the command along, then go."""
    kill_descendants()
    os._exit(128 + signum)


def main() -> None:
    """Stay as the namespace's pid 1 (or a subreaper) while the command runs as a child, kill whatever
    it left running, then write its status where the worker, not the command, can read it."""
    spec = json.loads(sys.argv[1])
    status = os.open(spec["status_path"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
        if spec["isolate"]:
            build_root(spec)
            os.chdir("/workspace")
        else:
            os.chdir(spec["workspace"])
    except OSError as e:
        print(f"sandbox: {e}", file=sys.stderr)
        sys.exit(125)
    signal.signal(signal.SIGTERM, _on_terminate)
    child = os.fork()
    if child == 0:
        exec_command(spec)
    while True:
        pid, wait_status = os.waitpid(-1, 0)
        if pid == child:
            break
    kill_descendants()  # background processes end with the call
    result = {"exit_code": os.waitstatus_to_exitcode(wait_status)}
    os.write(status, json.dumps(result).encode())
    os.close(status)
    sys.exit(0)


if __name__ == "__main__":
    main()
