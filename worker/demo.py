"""`python3 -m worker.dev up`: the embedded stack and a demo run, followed until it needs a person.

Starts (or reuses, when already listening) the Temporal dev server from temporal-dev.yaml, the
embedded model server and a worker; creates a local approver key (once) and lists it in the approvers
file; starts a demo run; prints its progress and the exact commands to query, approve (signed with
that key) or reject it; then keeps everything running until Ctrl-C, which stops every process this
command started.

However `up` ends (Ctrl-C with or without a pipe behind it, SIGTERM, SIGHUP when the terminal
closes, an exception) it stops every process it started; a SIGKILLed `up` takes its children along
through the kernel's parent-death signal (worker/lifetime.py).
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from activities.gateway.catalogue import load_models_file
from inference.embedded_model import DEFAULT_MODEL, ensure_model
from inference.llama_server import LlamaServerConfig, start_llama_server
from worker import cli, local_api
from worker.approver_keys import ensure_local_approver
from worker.binaries import find_binary
from worker.client import connect
from worker.codec_server import CodecServer
from worker.devserver import DEFAULT_CONFIG, DevServer, load_dev_config, port_open
from worker.lifetime import die_with_parent
from worker.local_api import list_local_approver, local_token, start_api
from worker.settings import REPO_ROOT, Settings, load_settings
from worker.watch import say, watch
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest
from workflows.summaries import start_metadata

DEMO_GOAL = "Write a two-line poem about durable workflows into the file poem.txt."
APPROVER_KEY = "approver.key"  # in the data dir: the dev stack's local approver


class Stack:
    """The processes this command started, stopped in reverse order."""

    def __init__(self) -> None:
        self.stoppers: list[tuple[str, Callable[[], None]]] = []
        self.watched: list[tuple[str, subprocess.Popen, Path]] = []
        self.codec_endpoint: str | None = None  # set when payloads are encrypted

    def add(self, name: str, stop: Callable[[], None]) -> None:
        self.stoppers.append((name, stop))

    def watch(self, name: str, process: subprocess.Popen, log: Path) -> None:
        self.watched.append((name, process, log))

    def check_alive(self) -> None:
        for name, process, log in self.watched:
            if process.poll() is not None:
                raise SystemExit(f"the {name} exited with code {process.returncode}; see {log}")

    def stop(self) -> None:
        """Stop each process even if stopping another one failed."""
        while self.stoppers:
            name, stop = self.stoppers.pop()
            say(f"stopping {name}")
            try:
                stop()
            except Exception as e:  # noqa: BLE001 - the remaining processes must still be stopped
                say(f"  could not stop the {name}: {e}")


def _terminate_all(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        _terminate(process)


def _terminate(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_stack(config_path: Path, stack: Stack) -> str:
    settings = load_settings()
    logs = settings.data_dir / "logs"
    dev = load_dev_config(config_path)
    if (keys := settings.keyring()) is not None:
        # Encryption is on: a codec server (a thread of this process) lets the Web UI and the printed
        # commands show decrypted payloads; it listens on loopback only.
        origins = [dev.ui_url, f"http://localhost:{dev.server.ui_port}"]
        codec = CodecServer(keys, web_origins=origins).start()
        stack.add("codec server", codec.stop)
        stack.codec_endpoint = codec.url
        say(f"Codec server: {codec.url} (payloads are encrypted with key {keys.active!r})")
        if dev.server.ui_codec_endpoint is None:
            dev = load_dev_config(config_path, server={"ui_codec_endpoint": codec.url})
    if port_open(dev.server.ip, dev.server.grpc_port):
        say(f"Temporal dev server: reusing the one at {dev.address}")
    else:
        say(f"Temporal dev server: starting at {dev.address} (database {dev.db_path()})")
        server = DevServer(dev, log_path=logs / "temporal.log", preexec_fn=die_with_parent())
        stack.add("Temporal dev server", server.stop)  # before start: a signal may arrive while it starts
        server.start()
    if not dev.server.headless:
        say(f"  Web UI: {dev.ui_url}")

    embedded = next((m for m in load_models_file(settings.models_file, os.environ).models if m.provider == "llamacpp"), None)
    if embedded is None or embedded.base_url is None:
        say(f"Model server: none to start ({settings.models_file} lists no llamacpp model)")
    elif port_open(*_host_port(embedded.base_url)):
        say(f"Model server: reusing the one at {embedded.base_url}")
    else:
        say(f"Model server: starting {DEFAULT_MODEL.name} (llama.cpp) at {embedded.base_url}")
        host, port = _host_port(embedded.base_url)
        config = LlamaServerConfig(model_path=ensure_model(), model_alias=embedded.remote_name or embedded.name,
                                   host=host, port=port, n_ctx=embedded.context_window)
        # Registered before the start, as the dev server is: a signal may arrive while it starts.
        model: list[subprocess.Popen] = []
        stack.add("model server", lambda: _terminate_all(model))
        model.append(start_llama_server(config, logs / "model.log", preexec_fn=die_with_parent()))

    local_approver(settings)
    say(f"Worker: starting on task queue {settings.task_queue!r} (log {logs / 'worker.log'})")
    env = {**os.environ, "TEMPORAL_ADDRESS": dev.address}
    logs.mkdir(parents=True, exist_ok=True)
    started: list[subprocess.Popen] = []
    stack.add("worker", lambda: _terminate_all(started))  # before the start, as above
    worker = subprocess.Popen([sys.executable, "-m", "worker"], env=env, cwd=REPO_ROOT,
                              stdout=(logs / "worker.log").open("ab"), stderr=subprocess.STDOUT,
                              start_new_session=True, preexec_fn=die_with_parent())
    started.append(worker)
    stack.watch("worker", worker, logs / "worker.log")
    start_local_api(settings, env, stack, logs)
    return dev.address


def start_local_api(settings: Settings, env: dict[str, str], stack: Stack, logs: Path) -> None:
    token = local_token(settings)
    list_local_approver(settings)
    api = start_api(settings, env, logs / "api.log")
    url = settings.api_url.rstrip("/")
    if api is None:
        say(f"Run API: reusing the one at {url}")
    else:
        stack.add("run API", lambda: _terminate(api))
        stack.watch("run API", api, logs / "api.log")
        say(f"Run API: {url}/v1 (docs {url}/docs, log {logs / 'api.log'})")
    say(f"  local token (identity {local_api.LOCAL_IDENTITY!r}, tenant default, admin): {token}")
    say(f"  web console: {url}/console (sign in with that token)")
    say(f"  export AGENT_API_KEY=$(cat {os.path.relpath(settings.data_dir / local_api.TOKEN_FILE)}); "
        "python -m worker.agent_cli list")


def approver_name() -> str:
    return os.environ.get("USER") or "me"


def local_approver(settings) -> None:
    """The dev stack signs approvals with a local key, as approvers do with their own in production."""
    key = settings.data_dir / APPROVER_KEY
    if settings.approvers_file is not None:
        say(f"Approvers: {settings.approvers_file} (AGENT_APPROVERS_FILE; left as it is)")
        return
    if ensure_local_approver(key, settings.approvers_path, approver_name()):
        say(f"Approvers: created the local approver {approver_name()!r}: key {key}, listed in {settings.approvers_path}")
    else:
        say(f"Approvers: local approver key {key} (listed in {settings.approvers_path})")


def _host_port(base_url: str) -> tuple[str, int]:
    url = urlparse(base_url)
    return url.hostname or "127.0.0.1", url.port or 80


def cli_prefix(address: str, codec_endpoint: str | None = None) -> str:
    """How to call the project's `temporal` from the user's shell, with the right address (and codec)."""
    binary = find_binary("temporal")
    on_path = shutil.which("temporal") == binary
    shown = "temporal" if on_path else os.path.relpath(binary, Path.cwd())
    if address not in ("localhost:7233", "127.0.0.1:7233"):
        shown += f" --address {address}"
    return f"{shown} --codec-endpoint {codec_endpoint}" if codec_endpoint else shown


def approve_command(address: str) -> Callable[[str, str], str]:
    """`python -m worker.approve RUN CALL_ID --key ...` as the user's shell can run it, signed with the local key."""
    on_path = shutil.which("python")
    python = "python" if on_path and Path(on_path).absolute() == Path(sys.executable).absolute() else \
        os.path.relpath(sys.executable, Path.cwd())
    key = os.path.relpath(load_settings().data_dir / APPROVER_KEY, Path.cwd())
    options = f"--key {shlex.quote(key)} --approver {shlex.quote(approver_name())}"
    if address not in ("localhost:7233", "127.0.0.1:7233"):
        options += f" --address {address}"
    return lambda run_id, call_id: f"{python} -m worker.approve {run_id} {call_id} {options}"


async def follow(address: str, run_id: str, stack: Stack) -> None:
    client = await connect(address)
    await watch(client.get_workflow_handle(run_id), cli_prefix(address, stack.codec_endpoint),
                approve=approve_command(address), alive=stack.check_alive,
                waiting_footer="Press Ctrl-C here to stop the server, model and worker (runs are kept in the database).",
                end_footer="Press Ctrl-C to stop the server, model and worker.", client=client)


async def start_demo(address: str, codec_endpoint: str | None = None) -> str:
    client = await connect(address)
    settings = load_settings()
    run_id = f"demo-{time.strftime('%Y%m%d-%H%M%S')}"
    request = RunRequest(goal=DEMO_GOAL)
    metadata = start_metadata(request)
    await client.start_workflow(AgentRun.run, request, id=run_id, task_queue=settings.task_queue,
                                static_summary=metadata["static_summary"], static_details=metadata["static_details"])
    prefix = cli_prefix(address, codec_endpoint)
    say(f"\nStarted demo run {run_id}: {DEMO_GOAL}")
    say(f"  state:  {prefix} workflow query -w {run_id} --name state")
    return run_id


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A stop signal, raised where the main thread is (KeyboardInterrupt, so asyncio.run passes it on)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _interrupt(signum: int, _frame: object) -> None:
    raise Interrupted(signum)


def up(argv: list[str]) -> int:
    parser = cli.Parser(prog="python3 -m worker.dev up")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="dev cluster settings (temporal-dev.yaml)")
    parser.add_argument("--no-demo", action="store_true", help="start the stack only")
    args = parser.parse_args(argv)
    stack = Stack()
    # Ctrl-C and the terminal's SIGHUP reach only this process (children run in their own sessions),
    # so shutdown is ordered. Installed explicitly: a shell starts background jobs with SIGINT
    # ignored, and Python keeps that.
    for sig in STOP_SIGNALS:
        signal.signal(sig, _interrupt)
    stopped_by: str | None = None
    try:
        address = start_stack(args.config, stack)
        if not args.no_demo:
            run_id = asyncio.run(start_demo(address, stack.codec_endpoint))
            asyncio.run(follow(address, run_id, stack))
        signal.pause()
    except KeyboardInterrupt as e:
        stopped_by = "Ctrl-C" if not isinstance(e, Interrupted) or e.signum == signal.SIGINT else str(e)
    finally:
        # A second Ctrl-C, or the SIGHUP that follows a closed terminal, must not cut the stop short;
        # every stop below is bounded (terminate, then kill after a timeout).
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)
        if stopped_by:
            say(f"\n{stopped_by}: shutting down")
        stack.stop()
    return 0
