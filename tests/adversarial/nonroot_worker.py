"""A worker that is not root, for test_sandbox_escapes: `python -m tests.adversarial.nonroot_worker BASE`.

Started as root, it imports everything, becomes uid 65534 and runs one 'rlimits' command, which then
shares its uid, the way a worker started by an ordinary user would. Prints a JSON report.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import sys
from pathlib import Path

from activities.tools.command import build_command_tool
from activities.tools.registry import ToolContext
from activities.tools.sandbox import SandboxConfig, runner

UID = 65534
PROBE = """
import json, os, subprocess, sys, time
LOOP = "import os, time\\nopen('pid-%s', 'w').write(str(os.getpid()))\\nwhile True:\\n    open('marker-%s', 'a').write('x')\\n    time.sleep(0.1)\\n"
subprocess.Popen([sys.executable, '-c', LOOP % ('setsid', 'setsid')], start_new_session=True)
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid()
        os.execv(sys.executable, [sys.executable, '-c', LOOP % ('daemon', 'daemon')])
    os._exit(0)
while not all(os.path.exists(f'marker-{n}') for n in ('setsid', 'daemon')):
    time.sleep(0.05)
try:
    environ = open('/proc/%d/environ' % WORKER).read()
except OSError as e:
    environ = 'refused %s' % e.strerror
print(json.dumps({'command_uid': os.getuid(), 'environ': environ, 'env': dict(os.environ)}))
"""


def main() -> None:
    base = Path(sys.argv[1])
    # The helper runs `sys.executable -I -S enter.py` (standard library only); this uid cannot reach the
    # virtualenv's interpreter under /root (0700), so it gets the system one, nor a checkout in a 0700
    # folder (a CI clone under mkdtemp), so it gets a copy of enter.py it can read. A worker started by
    # this user would run from files it can read in the first place.
    sys.executable = "/usr/bin/python3"
    helper = base / "enter.py"
    shutil.copyfile(runner._ENTER, helper)
    os.chmod(helper, 0o644)
    runner._ENTER = str(helper)
    os.setgroups([])
    os.setgid(UID)
    os.setuid(UID)
    # setuid() made this process non-dumpable; a worker started as this user is dumpable, so undo that.
    ctypes.CDLL(None, use_errno=True).prctl(4, 1, 0, 0, 0)
    workspace = base / "workspace"
    workspace.mkdir()
    config = SandboxConfig(allowed_executables=["python3"], isolation="rlimits", max_processes=4096, wall_time_s=30)
    command = build_command_tool(config)
    ctx = ToolContext(run_id="run-1", tool_call_id="call-1-1", idempotency_key="k", workspace=workspace,
                      tenant_id="t", user_id="u", save_pre_state=lambda state: None)
    args = command.args_model(executable="python3", args=["-c", PROBE.replace("WORKER", str(os.getpid()))])
    result = command.handler(ctx, args)
    report = json.loads(result["stdout"]["text"])
    report["uid"] = os.getuid()
    report["left_running"] = [
        name for name in ("setsid", "daemon")
        if Path(f"/proc/{int((workspace / f'pid-{name}').read_text())}").exists()
    ]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
