"""`python -m worker.screenshot RUN`: render a run's page of the Temporal Web UI to a PNG with headless
Chromium, so docs show what an operator sees (docs/operating.md) and a change to summaries can be
looked at, not only asserted.

    python -m worker.screenshot RUN_ID [--ui http://127.0.0.1:8233] [--out docs/images/run.png]

Needs Chromium: the Debian package, installed on first use when this runs as root on Debian
(worker/bootstrap.py ensure_chromium); `up` and `test` never install it.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

from worker import bootstrap, cli

DEFAULT_UI = "http://127.0.0.1:8233"


def run_page(ui: str, run_id: str, namespace: str = "default", run: str | None = None, tab: str = "history") -> str:
    """The Web UI's page of a run (its latest run and first tab unless `run` names one: then `tab`,
    e.g. history, metadata)."""
    page = f"{ui.rstrip('/')}/namespaces/{quote(namespace, safe='')}/workflows/{quote(run_id, safe='')}"
    return f"{page}/{quote(run, safe='')}/{tab}" if run else page


def chromium_command(binary: str, width: int = 1600, height: int = 1300) -> list[str]:
    """Headless, no sandbox (root in a container), a fixed window, driven over the DevTools pipe."""
    return [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--remote-debugging-pipe",
            f"--window-size={width},{height}", "about:blank"]


class DevTools:
    """The Chrome DevTools protocol over `--remote-debugging-pipe` (fd 3 in, fd 4 out; NUL-framed JSON).
    Not `--screenshot`: a running workflow's page keeps a long poll open for new events, so Chromium's
    virtual time never runs out and `--screenshot --virtual-time-budget` waits forever."""

    def __init__(self, command: list[str]) -> None:
        to_chrome, self._write = os.pipe()
        self._read, from_chrome = os.pipe()

        def wire() -> None:
            # Via fresh descriptors: a pipe end may already be 3 or 4, and dup2 onto itself would keep
            # its close-on-exec flag.
            read_end, write_end = os.dup(to_chrome), os.dup(from_chrome)
            os.dup2(read_end, 3, inheritable=True)
            os.dup2(write_end, 4, inheritable=True)

        self.process = subprocess.Popen(command, preexec_fn=wire, close_fds=False, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome)
        os.close(from_chrome)
        self._buffer = b""
        self._next = 0

    def call(self, method: str, session: str | None = None, **params: object) -> dict:
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise RuntimeError(f"chromium closed the DevTools pipe during {method}")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (RuntimeError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        os.close(self._read)


def capture(binary: str, url: str, out: Path, expect: str, width: int = 1600, height: int = 1300,
            timeout_s: float = 60, settle_s: float = 3) -> None:
    """Open `url`, wait until its text shows `expect` (the run id) and the UI has settled, save a PNG."""
    tools = DevTools(chromium_command(binary, width, height))
    try:
        target = tools.call("Target.createTarget", url=url)["targetId"]
        session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        deadline = time.monotonic() + timeout_s
        probe = f"document.body && document.body.innerText.includes({json.dumps(expect)})"
        while not tools.call("Runtime.evaluate", session, expression=probe).get("result", {}).get("value"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the page never showed {expect!r} within {timeout_s:g} s: {url}")
            time.sleep(0.5)  # polling a browser page for a person-facing picture, not test synchronisation
        time.sleep(settle_s)  # let the timeline and details finish rendering
        shot = tools.call("Page.captureScreenshot", session, format="png", captureBeyondViewport=False)
        out.write_bytes(base64.b64decode(shot["data"]))
    finally:
        tools.close()


def main(argv: list[str] | None = None) -> int:
    parser = cli.Parser(prog="python -m worker.screenshot", description=__doc__.splitlines()[0])
    parser.add_argument("run_id")
    parser.add_argument("--ui", default=DEFAULT_UI, help=f"the Web UI's address (default {DEFAULT_UI})")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--run", help="a run id of the chain (default: the latest run)")
    parser.add_argument("--tab", default="history", help="with --run: the page's tab (history, metadata, ...)")
    parser.add_argument("--out", type=Path, default=Path("docs/images/run.png"))
    parser.add_argument("--width", type=int, default=1600)
    parser.add_argument("--height", type=int, default=1300)
    parser.add_argument("--settle", type=float, default=3, help="seconds to let the page render after it loads")
    args = parser.parse_args(argv)
    binary = bootstrap.ensure_chromium()
    if binary is None:
        print("screenshot: Chromium is not installed and cannot be installed here: apt-get install chromium",
              file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    url = run_page(args.ui, args.run_id, args.namespace, args.run, args.tab)
    try:
        capture(binary, url, args.out, args.run_id, args.width, args.height, settle_s=args.settle)
    except (RuntimeError, OSError) as e:
        print(f"screenshot: {e}", file=sys.stderr)
        return 1
    print(f"{args.out} ({args.out.stat().st_size} bytes) of {url}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
