"""What one agent step costs next to the raw Temporal round trips it needs, measured side by side.

    python -m tests.benchmarks.step_overhead [--steps 200] [--calls 50] [--concurrent 20 50] [--long 1000]

Starts its own dev server. The raw loop is one activity per tool call returning 2 KB
(tests/benchmarks/baseline_workflow.py RawToolLoop). The agent is the real AgentRun on the real worker
activities: the model is a local server speaking the OpenAI wire protocol (in its own process, so
its CPU is not counted), reached through the real gateway and model activity; the tool is the real
`read_file` of a 2 KB file through the real ledger. Each step is one model call and one tool call.

Prints, for one run of --steps calls and for each --concurrent count of runs of --calls calls:
tool calls/s, CPU (this process, i.e. worker and client, plus the dev server) per tool call, events
and history bytes per step, each next to the raw loop measured in the same run. Then the worker CPU
per call around step 100 and over the last 100 steps of a --long run, with a 1M-token window (nothing
compacted) and with the default 8,192-token window; then how long `python -m worker.replay` takes to
start and to replay the one-run history. Nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import multiprocessing
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway
from tests.benchmarks.baseline_workflow import RawToolLoop, two_kb
from tests.benchmarks.harness import dev_cluster
from tests.conftest import run_workspace, wire_model, write_models_file
from worker.devserver import DevServer
from worker.main import build_model_activities, build_tool_layer, build_worker
from worker.settings import Settings
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, RunRequest, RunResult

MARK = re.compile(r"bench-run (\S+) calls=(\d+)")
OUTPUT = "y" * 2000  # what read_file returns each step: 2 KB


def _serve_model(ready: multiprocessing.Queue, counter) -> None:
    """The model server process: call read_file until the run's goal says enough, then answer."""
    from tests.wire_server import ModelWireServer

    calls: dict[str, int] = {}

    def respond(body: dict) -> str:
        if "response_format" not in body:  # a compaction's summary request
            return "Earlier turns: the agent read out.txt, 2 KB each time."
        head = json.dumps(body["messages"][:4])
        run, wanted = MARK.search(head).groups()
        calls[run] = calls.get(run, 0) + 1
        with counter.get_lock():
            counter.value += 1
        if calls[run] > int(wanted):
            return json.dumps({"action": "final_answer", "answer": "done"})
        return json.dumps({"action": "call_tool", "tool": "read_file", "arguments": {"path": "out.txt"}})

    server = ModelWireServer(respond)
    server.requests = collections.deque(maxlen=1)  # a 1,000-step run would keep gigabytes of prompts
    server.raw_bodies = collections.deque(maxlen=1)
    server.__enter__()
    ready.put(server.base_url)
    while True:
        time.sleep(3600)


@dataclass
class Measured:
    calls: int
    seconds: float
    cpu_s: float  # this process plus the dev server
    server_cpu_s: float = 0.0  # of which the dev server
    events: int = 0
    history_bytes: int = 0

    @property
    def rate(self) -> float:
        return self.calls / self.seconds

    @property
    def cpu_ms_per_call(self) -> float:
        return 1000 * self.cpu_s / self.calls

    @property
    def server_ms_per_call(self) -> float:
        return 1000 * self.server_cpu_s / self.calls


class Bench:
    def __init__(self, client: Client, server: DevServer, tmp: Path, model_url: str, counter) -> None:
        self.client, self.server, self.tmp, self.counter = client, server, tmp, counter
        self.model_url = model_url

    def server_cpu(self) -> float:
        fields = Path(f"/proc/{self.server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def cpu(self) -> float:
        """CPU seconds of this process (worker and client) and of the dev server so far."""
        return time.process_time() + self.server_cpu()

    async def raw(self, calls: int, runs: int) -> Measured:
        queue = f"raw-{uuid.uuid4()}"
        ids = [f"raw-{uuid.uuid4()}" for _ in range(runs)]
        async with Worker(self.client, task_queue=queue, workflows=[RawToolLoop], activities=[two_kb]):
            cpu, server, started = self.cpu(), self.server_cpu(), time.perf_counter()
            await asyncio.gather(*[self.client.execute_workflow(RawToolLoop.run, calls, id=i, task_queue=queue)
                                   for i in ids])
            measured = Measured(calls * runs, time.perf_counter() - started, self.cpu() - cpu,
                                self.server_cpu() - server)
        return await self._with_history(measured, ids[0], calls)

    def _worker(self, window: int, local: bool = False) -> tuple[Worker, Settings]:
        settings = Settings(task_queue=f"agent-{uuid.uuid4()}", data_dir=self.tmp / str(uuid.uuid4()))
        models = write_models_file(self.tmp / f"{uuid.uuid4()}.yaml", wire_model(
            "bench", type("S", (), {"base_url": self.model_url})(), context_window=window, max_output_tokens=256,
            timeout_s=60, local_activity=local))
        gateway = Gateway(load_models_file(models, os.environ), BreakerRegistry())
        activities = [*build_model_activities(settings, gateway=gateway), *build_tool_layer(settings).activities()]
        return build_worker(self.client, settings, activities), settings

    async def _start(self, settings: Settings, calls: int):
        run = uuid.uuid4().hex[:12]
        request = RunRequest(goal=f"bench-run {run} calls={calls}: read out.txt until told to stop",
                             budgets=Budgets(max_steps=calls + 2, max_tokens=10**12, max_wall_time_s=86400))
        handle = await self.client.start_workflow(AgentRun.run, request, id=f"agent-{run}", task_queue=settings.task_queue,
                                                  result_type=RunResult, start_signal="pause")
        workspace = run_workspace(settings, handle)
        workspace.mkdir(parents=True)
        (workspace / "out.txt").write_text(OUTPUT)
        return handle

    async def agent(self, calls: int, runs: int, local: bool = False, window: int = 1_000_000) -> Measured:
        worker, settings = self._worker(window, local)
        async with worker:
            handles = [await self._start(settings, calls) for _ in range(runs)]
            cpu, server, started = self.cpu(), self.server_cpu(), time.perf_counter()
            await asyncio.gather(*[h.signal(AgentRun.resume) for h in handles])
            results = await asyncio.gather(*[h.result() for h in handles])
            measured = Measured(calls * runs, time.perf_counter() - started, self.cpu() - cpu,
                                self.server_cpu() - server)
        if any(r.usage.tool_calls != calls for r in results):
            raise RuntimeError(f"a run did not make its {calls} tool calls: {[r.usage.tool_calls for r in results]}")
        return await self._with_history(measured, handles[0].id, calls)

    async def _with_history(self, measured: Measured, workflow_id: str, calls: int) -> Measured:
        handle = self.client.get_workflow_handle(workflow_id)
        described = await handle.describe()  # the server's own count: what its history limits apply to
        measured.events = described.raw_description.workflow_execution_info.history_length
        measured.history_bytes = described.raw_description.workflow_execution_info.history_size_bytes
        self.last_history = await handle.fetch_history()
        return measured

    async def growth(self, calls: int, window: int, local: bool) -> tuple[float, float]:
        """Worker CPU per model+tool step around step 100 and over the last 100 steps of one long run."""
        worker, settings = self._worker(window, local)
        samples: list[tuple[int, float]] = []
        async with worker:
            handle = await self._start(settings, calls)
            base = self.counter.value
            await handle.signal(AgentRun.resume)
            result_task = asyncio.ensure_future(handle.result())
            while not result_task.done():
                samples.append((self.counter.value - base, time.process_time()))
                await asyncio.wait({result_task}, timeout=0.2)
            await result_task
            samples.append((self.counter.value - base, time.process_time()))

        def per_call(lo: int, hi: int) -> float:
            first = next(s for s in samples if s[0] >= lo)
            last = next(s for s in samples if s[0] >= hi)
            return 1000 * (last[1] - first[1]) / max(last[0] - first[0], 1)

        return per_call(50, 150), per_call(calls - 100, calls)


def replay_times(history_path: Path) -> tuple[float, float]:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import worker.replay"], check=True)
    start_s = time.perf_counter() - started
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "worker.replay", str(history_path)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"replay failed: {done.stdout}{done.stderr}")
    return start_s, time.perf_counter() - started


def row(name: str, raw: float, agents: list[float], unit: str, ratio: str = "/raw") -> None:
    ratios = "".join(f"{a / raw:>8.2f}" for a in agents)
    print(f"  {name:<36}{raw:>10.2f}" + "".join(f"{a:>10.2f}" for a in agents) + f"  {unit:<8}{ratio}{ratios}")


MODES = {"activity": False, "local": True}  # how AgentRun calls the model: activity, or local activity


@asynccontextmanager
async def bench_session() -> AsyncIterator[Bench]:
    """A dev server and the model server in its own process (its CPU not counted), ready to measure."""
    ctx = multiprocessing.get_context("fork")
    ready, counter = ctx.Queue(), ctx.Value("q", 0)
    model = ctx.Process(target=_serve_model, args=(ready, counter), daemon=True)
    model.start()
    try:
        async with dev_cluster() as (client, server, tmp):
            yield Bench(client, server, tmp, ready.get(timeout=30), counter)
    finally:
        model.kill()


async def main(args: argparse.Namespace) -> None:
    async with bench_session() as bench:
        tmp = bench.tmp
        await bench.raw(5, 1)  # warm connections and caches on both sides
        for local in MODES.values():
            await bench.agent(2, 1, local)
        print("dev server (SQLite); model: OpenAI-wire server in its own process; tool: read_file, 2 KB")
        print("AgentRun columns: model called as an activity (default), as a local activity (local_activity: true)\n")
        print(f"  {'':<36}{'raw loop':>10}" + "".join(f"{m:>10}" for m in MODES) + "  unit    ratios to raw")
        raw_1 = await bench.raw(args.steps, 1)
        agent_1 = {m: await bench.agent(args.steps, 1, local) for m, local in MODES.items()}
        history = args.save_history or tmp / "one-run.json"
        history.write_text(bench.last_history.to_json())
        print(f" one run, {args.steps} tool calls")
        row("tool calls/s", raw_1.rate, [a.rate for a in agent_1.values()], "calls/s")
        row("CPU (worker+server) per tool call", raw_1.cpu_ms_per_call,
            [a.cpu_ms_per_call for a in agent_1.values()], "ms")
        row("  of which the dev server", raw_1.server_ms_per_call,
            [a.server_ms_per_call for a in agent_1.values()], "ms")
        row("events per step", raw_1.events / args.steps, [a.events / args.steps for a in agent_1.values()],
            "events")
        row("history per step", raw_1.history_bytes / args.steps / 1024,
            [a.history_bytes / args.steps / 1024 for a in agent_1.values()], "KB")
        for runs in args.concurrent:
            raw_n = await bench.raw(args.calls, runs)
            agent_n = [await bench.agent(args.calls, runs, local) for local in MODES.values()]
            print(f" {runs} concurrent runs x {args.calls} tool calls")
            row("aggregate tool calls/s", raw_n.rate, [a.rate for a in agent_n], "calls/s")
            row("CPU (worker+server) per tool call", raw_n.cpu_ms_per_call, [a.cpu_ms_per_call for a in agent_n],
                "ms")
            row("  of which the dev server", raw_n.server_ms_per_call, [a.server_ms_per_call for a in agent_n],
                "ms")
        for window in (1_000_000, 8192) if args.long else ():
            print(f" one run of {args.long} steps, {window:,}-token window: worker CPU per step (model + tool), ms")
            for mode, local in MODES.items():
                at_100, at_end = await bench.growth(args.long, window, local)
                print(f"  {mode:<10} steps 50-150 {at_100:>8.2f}   last 100 steps {at_end:>8.2f}"
                      f"   end/100 {at_end / at_100:.2f}")
        start_s, replay_s = replay_times(history)
        run_s = agent_1["local"].seconds
        print(f" python -m worker.replay on the one-run history (local mode, {args.steps} steps, run took {run_s:.1f} s)")
        print(f"  {'import (start-up)':<36}{start_s:>10.2f} s")
        print(f"  {'start + replay':<36}{replay_s:>10.2f} s   replay/run {replay_s / run_s:.3f}")
        alone = max(replay_s - start_s, 0.0)
        print(f"  {'replay alone (start-up subtracted)':<36}{alone:>10.2f} s   replay/run {alone / run_s:.3f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200, help="tool calls of the one-run measurement")
    parser.add_argument("--calls", type=int, default=50, help="tool calls of each concurrent run")
    parser.add_argument("--concurrent", type=int, nargs="*", default=[20, 50])
    parser.add_argument("--long", type=int, default=1000, help="steps of the flat-in-N runs (0: skip)")
    parser.add_argument("--save-history", type=Path, help="keep the one-run history in this file")
    asyncio.run(main(parser.parse_args()))
