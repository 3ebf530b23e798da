"""Fault matrix: N runs x M side effects under random worker SIGKILLs, hung tools and model error bursts.

    python -m tests.benchmarks.fault_matrix [--runs 12] [--effects 4] [--seed 1] [--timeout 300]

Not a timed test: an operator's check that the durability promises hold together. It starts, on
loopback only, a Temporal dev server (temporal-dev.yaml, a temp SQLite file), a local OpenAI-wire
model server and a real `python -m worker` loading tests/fault_tools.py. Each run asks the model,
which calls one effect tool per step with labels `<run>-0 .. <run>-(M-1)` and then answers. Effects
land in one shared file outside every workspace, so the script counts them as the world sees them.

Meanwhile, until every run has settled or the deadline passes:
- the worker is SIGKILLed at random intervals (2-6 s after each restart, at most --max-kills times)
  and restarted on the same data dir (ledger, leases);
- a deterministic subset of the calls (by label hash, --hung-percent) goes to `fault_hung`, which
  runs past its timeout_s (sleep, act, sleep), so its retry must wait for the lease, and a kill
  lands before or after its effect;
- the model server answers bursts of 3-6 consecutive failures (HTTP 500, 429 with Retry-After,
  a malformed body, a hang past the client's timeout) at random times (at most --max-bursts).

At the end each run is classified: completed, failed (with its reason), waiting for a person
(waiting_for_human, e.g. an outcome_unknown; none is resolved automatically) or stuck (still running
otherwise at the deadline). Effects are checked against the expected N x M labels: duplicates, and
missing effects of completed runs (a bug) apart from those of unfinished runs (not yet done).
Every injected fault is transient, so any failed run is one failed by a transient fault.
Goal: 0 duplicates, 0 missing, 0 stuck, 0 failed. Exit status 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import hashlib
import itertools
import json
import random
import re
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import TemporalError

from tests.conftest import dev_server_config, wire_model, write_models_file
from tests.fault_tools import EFFECTS_ENV, effect_lines
from tests.processes import WorkerProcess
from tests.wire_server import Fault, Hang, Malformed, ModelWireServer
from worker.codec import project_data_converter
from worker.devserver import DevServer
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, RunRequest, RunResult, RunStatus
from workflows.search_attributes import AGENT_STATUS

TOOL_MODULES = "tests.fault_tools"
KEYED_TOOLS = ("fault_effect", "fault_hung")  # (most calls, the hung share)
ONCE_TOOLS = ("fault_once", "fault_once_hung")
GOAL = re.compile(r"fault-matrix run (r\d+)")
# Short model waits so a burst costs seconds; generous max_wait_s so no burst can outlast it.
OUTAGE = {"max_wait_s": 600, "initial_backoff_s": 0.5, "max_backoff_s": 2}
MODEL_TIMEOUT_S = 5  # a Hang in a burst costs this much per request


class FaultyModel:
    """The model: M effect calls per run, then an answer; during a burst, one failure per request."""

    def __init__(self, effects: int, tools: tuple[str, str], hung_percent: int, seed: int) -> None:
        self.effects, self.hung_percent, self.seed = effects, hung_percent, seed
        self.tool, self.hung_tool = tools
        self.burst_left = 0
        self.faults_served = 0
        self._kinds = itertools.cycle([Fault(500, "upstream crashed"), Fault(429, "slow down", {"Retry-After": "1"}),
                                       Malformed(), Hang(MODEL_TIMEOUT_S * 3)])
        self._lock = threading.Lock()

    def tool_for(self, label: str) -> str:
        digest = int(hashlib.sha256(f"{self.seed}:{label}".encode()).hexdigest(), 16)
        return self.hung_tool if digest % 100 < self.hung_percent else self.tool

    def burst(self, length: int) -> None:
        with self._lock:
            self.burst_left = length

    def __call__(self, body: dict):
        with self._lock:
            if self.burst_left > 0:
                self.burst_left -= 1
                self.faults_served += 1
                return next(self._kinds)
        texts = [m.get("content") or "" for m in body.get("messages", [])]
        run = next((m.group(1) for t in texts if (m := GOAL.search(t))), None)
        done = sum("Result of tool fault_" in t for t in texts)  # one message per finished call
        if run is None or done >= self.effects:
            return json.dumps({"action": "final_answer", "answer": f"{run}: {done} effects"})
        label = f"{run}-{done}"
        return json.dumps({"action": "call_tool", "tool": self.tool_for(label), "arguments": {"label": label}})


@dataclass
class Chaos:
    kills: int = 0
    bursts: int = 0


class Workers:
    """The one live `python -m worker`, replaced after each SIGKILL; all share one data dir and log."""

    def __init__(self, make: Callable[[], WorkerProcess]) -> None:
        self.make = make
        self.current = make().start()
        self.starts = 1

    def ready_count(self) -> int:
        log = self.current.log_path
        return log.read_text(errors="replace").count("worker.start") if log.exists() else 0

    async def wait_ready(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while self.ready_count() < self.starts and time.monotonic() < deadline:
            await asyncio.sleep(0.2)

    def kill_and_restart(self) -> None:
        self.current.kill()
        self.current = self.make().start()
        self.starts += 1

    def stop(self) -> None:
        self.current.stop()


async def killer(workers: Workers, chaos: Chaos, rng: random.Random, max_kills: int, stop: asyncio.Event) -> None:
    while chaos.kills < max_kills and not stop.is_set():
        await workers.wait_ready()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(2, 6))
        if stop.is_set():
            return
        workers.kill_and_restart()
        chaos.kills += 1


async def burster(model: FaultyModel, chaos: Chaos, rng: random.Random, max_bursts: int, stop: asyncio.Event) -> None:
    while chaos.bursts < max_bursts and not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rng.uniform(4, 12))
        if stop.is_set():
            return
        length = rng.randint(3, 6)
        model.burst(length)
        chaos.bursts += 1


@dataclass
class Outcome:
    run: str
    workflow_id: str
    kind: str  # completed | failed | waiting for a person | stuck
    detail: str = ""


async def settled(client: Client, workflow_id: str) -> bool:
    """Closed, or waiting for a person (the search attribute the workflow keeps current)."""
    desc = await client.get_workflow_handle(workflow_id).describe()
    if desc.status != WorkflowExecutionStatus.RUNNING:
        return True
    return desc.typed_search_attributes.get(AGENT_STATUS) == RunStatus.WAITING_FOR_HUMAN.value


async def classify(client: Client, run: str, workflow_id: str) -> Outcome:
    handle = client.get_workflow_handle(workflow_id, result_type=RunResult)
    desc = await handle.describe()
    if desc.status == WorkflowExecutionStatus.RUNNING:
        try:
            state = await handle.query(AgentRun.state, rpc_timeout=timedelta(seconds=10))
        except TemporalError as e:
            return Outcome(run, workflow_id, "stuck", f"running; state query failed: {e}")
        if state.status == RunStatus.WAITING_FOR_HUMAN:
            why = "; ".join(f"{p.tool_call_id} {p.tool}({p.arguments.get('label')}) {p.reason}"
                            for p in state.pending_resolutions) or (state.last_action or "")
            return Outcome(run, workflow_id, "waiting for a person", why)
        return Outcome(run, workflow_id, "stuck", f"{state.status.value}, step {state.step}: {state.last_action}")
    try:
        result = await handle.result()
    except WorkflowFailureError as e:
        return Outcome(run, workflow_id, "failed", str(e.cause or e))
    if result.status == RunStatus.COMPLETED:
        return Outcome(run, workflow_id, "completed", f"{result.steps} steps")
    return Outcome(run, workflow_id, "failed", f"{result.status.value}: {result.reason}")


async def matrix(args: argparse.Namespace, tmp: Path) -> int:
    rng = random.Random(args.seed)
    effects_path = tmp / "effects.txt"
    model = FaultyModel(args.effects, ONCE_TOOLS if args.not_idempotent else KEYED_TOOLS,
                        args.hung_percent, args.seed)
    chaos = Chaos()
    server = DevServer(dev_server_config(tmp), log_path=tmp / "server.log").start()
    workers = None
    try:
        with ModelWireServer(model) as wire:
            models = write_models_file(tmp / "models.yaml", wire_model("fault-model", wire, timeout_s=MODEL_TIMEOUT_S),
                                       outage=OUTAGE)
            queue = f"fault-matrix-{uuid.uuid4().hex[:8]}"

            def make() -> WorkerProcess:
                worker = WorkerProcess(server.config.address, queue, tmp / "data", wire.base_url, TOOL_MODULES)
                worker.env.update({"AGENT_MODELS_FILE": str(models), EFFECTS_ENV: str(effects_path),
                                   "AGENT_BREAKER_COOLDOWN_S": "2", "AGENT_LOG_LEVEL": "info"})
                return worker

            workers = Workers(make)
            client = await Client.connect(server.config.address, data_converter=project_data_converter())
            runs = {f"r{i}": f"fault-matrix-{args.seed}-r{i}-{uuid.uuid4().hex[:6]}" for i in range(args.runs)}
            started = time.monotonic()
            for run, workflow_id in runs.items():
                await client.start_workflow(
                    AgentRun.run, RunRequest(goal=f"fault-matrix run {run}: record {args.effects} effects",
                                             budgets=Budgets(max_steps=args.effects + 10)),
                    id=workflow_id, task_queue=queue, result_type=RunResult)
            stop = asyncio.Event()
            chaos_tasks = [asyncio.create_task(killer(workers, chaos, rng, args.max_kills, stop)),
                           asyncio.create_task(burster(model, chaos, rng, args.max_bursts, stop))]
            pending = set(runs)
            deadline = started + args.timeout
            while pending and time.monotonic() < deadline:  # bounded by the deadline
                for run in sorted(pending):
                    with contextlib.suppress(TemporalError):
                        if await settled(client, runs[run]):
                            pending.discard(run)
                if pending:
                    await asyncio.sleep(1)
            elapsed = time.monotonic() - started
            stop.set()
            await asyncio.gather(*chaos_tasks)
            await workers.wait_ready()  # the last restarted worker answers the state queries
            outcomes = [await classify(client, run, workflow_id) for run, workflow_id in runs.items()]
    finally:
        if workers:
            workers.stop()
        server.stop()
    return report(args, outcomes, effects_path, chaos, model, elapsed, tmp)


# What the workers logged about interrupted and hung tool attempts (worker.log is shared by all of them).
LOG_EVENTS = {("tool.rerun_after_interruption", None): "re-run after a kill (reconcile found no effect)",
              ("tool.recovered_after_interruption", "ok"): "reconcile found the effect",
              ("tool.recovered_after_interruption", "error"): "recorded outcome_unknown",
              ("tool.waiting_for_earlier_attempt", None): "waited for an earlier attempt's lease",
              ("tool.receipt_returned", None): "receipts returned from the ledger",
              ("model.failed", None): "failed model calls"}


def log_events(log: Path) -> str:
    seen: collections.Counter[tuple] = collections.Counter()
    for line in (log.read_text(errors="replace").splitlines() if log.exists() else []):
        with contextlib.suppress(ValueError, AttributeError):  # a line cut short by a SIGKILL
            event = json.loads(line)
            seen[event.get("event"), None] += 1
            if event.get("status") is not None:
                seen[event.get("event"), event["status"]] += 1
    return ", ".join(f"{label} {seen[key]}" for key, label in LOG_EVENTS.items())


def report(args: argparse.Namespace, outcomes: list[Outcome], effects_path: Path, chaos: Chaos,
           model: FaultyModel, elapsed: float, tmp: Path) -> int:
    counts = collections.Counter(effect_lines(effects_path))
    expected = {f"{o.run}-{i}" for o in outcomes for i in range(args.effects)}
    duplicates = {label: n for label, n in counts.items() if n > 1}
    unexpected = sorted(set(counts) - expected)
    print(f"fault matrix: {args.runs} runs x {args.effects} effects, seed {args.seed}, "
          f"{'not idempotent' if args.not_idempotent else 'keyed'} tools {model.tool} and "
          f"{model.hung_tool} ({args.hung_percent}% of calls), {elapsed:.0f} s")
    print(f"{'run':<6}{'outcome':<24}{'effects':>8}{'dup':>5}{'miss':>6}  detail")
    missing_completed = missing_unfinished = 0
    for o in outcomes:
        labels = [f"{o.run}-{i}" for i in range(args.effects)]
        present = sum(1 for label in labels if counts[label])
        dup = sum(counts[label] - 1 for label in labels if counts[label] > 1)
        miss = args.effects - present
        if o.kind == "completed":
            missing_completed += miss
        else:
            missing_unfinished += miss
        print(f"{o.run:<6}{o.kind:<24}{present:>8}{dup:>5}{miss:>6}  {o.workflow_id}  {o.detail[:160]}")
    kinds = collections.Counter(o.kind for o in outcomes)
    total_dup = sum(n - 1 for n in duplicates.values())
    print(f"injected: {chaos.kills} worker SIGKILLs, {chaos.bursts} model error bursts "
          f"({model.faults_served} failed replies), hung-tool calls by design: "
          f"{sum(model.tool_for(label) == model.hung_tool for label in expected)}")
    print(f"worker log: {log_events(tmp / 'data' / 'worker.log')}")
    # Every injected fault is transient (a kill, a hang, a burst), so every failed run is one failed by them.
    print(f"runs: completed {kinds['completed']}, failed by a transient fault {kinds['failed']}, "
          f"waiting for a person {kinds['waiting for a person']}, stuck {kinds['stuck']}")
    print(f"effects: expected {len(expected)}, distinct seen {len(set(counts) & expected)}, duplicates {total_dup}"
          f"{' ' + str(duplicates) if duplicates else ''}, missing in completed runs {missing_completed}, "
          f"missing in unfinished runs {missing_unfinished}{', unexpected ' + str(unexpected) if unexpected else ''}")
    if args.keep:
        print(f"kept: {tmp} (server.log, data/worker.log, data/ledger.sqlite, effects.txt)")
    ok = not (total_dup or missing_completed or kinds["stuck"] or kinds["failed"] or unexpected)
    print(f"goal (0 duplicates, 0 missing, 0 stuck, 0 failed): {'met' if ok else 'NOT MET'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=12)
    parser.add_argument("--effects", type=int, default=4, help="effect calls per run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300, help="seconds from the first start to the verdict")
    parser.add_argument("--max-kills", type=int, default=20)
    parser.add_argument("--max-bursts", type=int, default=10)
    parser.add_argument("--hung-percent", type=int, default=20, help="share of calls to the hung tool")
    parser.add_argument("--not-idempotent", action="store_true",
                        help="fault_once(_hung) instead of fault_effect/fault_hung: interrupted calls wait for a person")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, ledger, effects) for a look")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="fault-matrix-"))
    try:
        return asyncio.run(matrix(args, tmp))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
