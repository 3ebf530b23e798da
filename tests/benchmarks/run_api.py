"""The run API and the event stream under load: token streaming's cost to a step, how late an event
reaches an SSE client, and how fast the API answers, all measured in one run.

    python -m tests.benchmarks.run_api [--steps 6] [--concurrent 1 5] [--rounds 2]
        [--runs 20] [--subscribers 1 10] [--live-steps 5] [--clients 1 50] [--requests 4]
        [--tokens-per-s 150] [--reply-tokens 200]

Everything is real and in its own process: a dev server of its own, `python -m worker` (the model
streams: `stream: true` in its models file), `python -m worker.api` on uvicorn, and a model server
speaking the OpenAI wire protocol that streams each reply at a hosted model's pace
(tests/benchmarks/paced_model.py: --reply-tokens tokens at --tokens-per-s). This process is only the
clients. A step is a model call and the real calculator.

1. Steps/s of --concurrent runs of --steps steps, with `stream_tokens` off and on, in alternating
   rounds, each run followed by one WorkflowStreamClient (a UI watching it); the ratio on/off; events
   per step on the stream and in history (describe: history_length); token batches, i.e. signals
   `__temporal_workflow_stream_publish`, per second of each run and at most in any one second.
2. How late events reach SSE clients: --runs runs started with POST /v1/runs (stream_tokens on), each
   followed by N clients of GET /v1/runs/{id}/events, for each N in --subscribers. Latency is the
   client's receive time minus the event's `at`: workflow time (the start of the workflow task that
   published it) for workflow events, the worker's clock when the batch was cut for model_tokens. All
   processes share this host's clock. Events already published when a client connected are left out;
   those of the workflow task that ends the run (the `at` of `result`) have a row of their own.
3. POST /v1/runs and GET /v1/runs/{id} latency at each --clients count, --requests requests per client
   and kind (the runs ask a person at once and wait, so they stay alive and idle for the reads).

Prints figures and ratios; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import httpx
from temporalio.client import Client
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from activities.ledger import open_ledger
from tests.benchmarks.harness import dev_cluster
from tests.conftest import wire_model, write_models_file
from tests.processes import ApiProcess, WorkerProcess
from worker.api.identities import Identities
from worker.devserver import DevServer
from workflows.agent_run import AgentRun
from workflows.contracts import EVENTS_TOPIC, Budgets, RunEvent, RunRequest, RunResult, RunStatus
from workflows.search_attributes import AGENT_STATUS

PUBLISH_SIGNAL = "__temporal_workflow_stream_publish"  # what one token batch is, in the run's history


def percentile(values: list[float], q: float) -> float:
    """Nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Stack:
    client: Client
    server: DevServer
    worker: WorkerProcess
    api: ApiProcess
    http: httpx.AsyncClient
    queue: str

    def cpu(self) -> dict[str, float]:
        """CPU seconds so far of each process: the API, the worker, the dev server and this one."""
        return {"API": cpu_s(self.api.process.pid), "worker": cpu_s(self.worker.process.pid),
                "dev server": cpu_s(self.server.process.pid), "clients": time.process_time()}


@asynccontextmanager
async def stack(args: argparse.Namespace) -> AsyncIterator[Stack]:
    """The model server, a dev server, `python -m worker` and `python -m worker.api`, each its own process."""
    model = subprocess.Popen([sys.executable, "-m", "tests.benchmarks.paced_model", "--tokens-per-s",
                              str(args.tokens_per_s), "--reply-tokens", str(args.reply_tokens)],
                             stdout=subprocess.PIPE, text=True)
    try:
        model_url = model.stdout.readline().strip()
        async with dev_cluster() as (client, server, tmp):
            queue = f"bench-{uuid.uuid4()}"
            models = write_models_file(tmp / "models.yaml", wire_model(
                "paced", SimpleNamespace(base_url=model_url), stream=True, timeout_s=120, max_output_tokens=1024))
            key = Identities(open_ledger(tmp / "data" / "ledger.sqlite")).add("bench", "default", ["admin"])
            worker = WorkerProcess(server.config.address, queue, tmp / "data", model_url,
                                   env={"AGENT_MODELS_FILE": str(models), "AGENT_LOG_LEVEL": "warning"})
            with worker, ApiProcess(server.config.address, queue, tmp / "data") as api:
                limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
                async with httpx.AsyncClient(base_url=f"{api.url}/v1", headers={"Authorization": f"Bearer {key}"},
                                             limits=limits, timeout=httpx.Timeout(120)) as http:
                    yield Stack(client, server, worker, api, http, queue)
    finally:
        model.kill()
        model.wait()


def step_request(steps: int, stream_tokens: bool) -> RunRequest:
    return RunRequest(goal=f"bench steps={steps}: square the numbers from 0 with the calculator",
                      stream_tokens=stream_tokens,
                      budgets=Budgets(max_steps=2 * steps + 2, max_tokens=10**9, max_wall_time_s=3600))


# -- 1. steps/s with token streaming off and on ----------------------------------------------------------


@dataclass
class Throughput:
    steps: int = 0
    seconds: float = 0.0
    stream_events: int = 0
    token_events: int = 0
    history_events: int = 0
    batches: int = 0
    batch_rates: list[float] = field(default_factory=list)  # per run: batches / the run's duration
    batch_peak: int = 0  # the most batches of one run in any one second
    run_seconds: float = 0.0

    def add(self, other: Throughput) -> None:
        for name in ("steps", "seconds", "stream_events", "token_events", "history_events", "batches",
                     "run_seconds"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.batch_rates += other.batch_rates
        self.batch_peak = max(self.batch_peak, other.batch_peak)


async def follow(client: Client, run_id: str) -> list[RunEvent]:
    events: list[RunEvent] = []
    async for item in WorkflowStreamClient.create(client, run_id).subscribe([EVENTS_TOPIC], result_type=RunEvent):
        events.append(item.data)
        if item.data.kind == "result":
            break
    return events


async def batches_of(client: Client, run_id: str) -> tuple[int, int, float, int]:
    """(history length, token batches, the run's duration in s, the most batches in any one second)."""
    handle = client.get_workflow_handle(run_id)
    history_length = (await handle.describe()).raw_description.workflow_execution_info.history_length
    events = (await handle.fetch_history()).events
    times = [e.event_time.ToDatetime().timestamp() for e in events
             if e.HasField("workflow_execution_signaled_event_attributes")
             and e.workflow_execution_signaled_event_attributes.signal_name == PUBLISH_SIGNAL]
    duration = events[-1].event_time.ToDatetime().timestamp() - events[0].event_time.ToDatetime().timestamp()
    peak, lo = 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        peak = max(peak, hi - lo + 1)
    return history_length, len(times), duration, peak


async def throughput(s: Stack, steps: int, runs: int, stream_tokens: bool) -> Throughput:
    started = time.perf_counter()
    handles = await asyncio.gather(*[
        s.client.start_workflow(AgentRun.run, step_request(steps, stream_tokens), id=f"steps-{uuid.uuid4()}",
                                task_queue=s.queue, result_type=RunResult) for _ in range(runs)])
    followers = [asyncio.create_task(follow(s.client, h.id)) for h in handles]
    results = await asyncio.gather(*[h.result() for h in handles])
    measured = Throughput(seconds=time.perf_counter() - started)
    if any(r.status != RunStatus.COMPLETED or r.steps != steps + 1 for r in results):
        raise RuntimeError(f"a run did not finish its {steps + 1} steps: {[(r.status, r.steps) for r in results]}")
    for handle, events in zip(handles, await asyncio.gather(*followers)):
        history_length, batches, duration, peak = await batches_of(s.client, handle.id)
        measured.add(Throughput(steps=steps + 1, stream_events=len(events), history_events=history_length,
                                token_events=sum(e.kind == "model_tokens" for e in events), batches=batches,
                                batch_rates=[batches / duration], batch_peak=peak, run_seconds=duration))
    return measured


# -- 2. event latency to SSE clients ------------------------------------------------------------------


@dataclass
class Subscription:
    tokens: list[float] = field(default_factory=list)  # receive time - at, s, for model_tokens events
    workflow: list[float] = field(default_factory=list)  # the same, for the workflow's events but the last task's
    last_task: list[float] = field(default_factory=list)  # the task that ends the run: the `at` of `result`
    backlog: int = 0  # events published before the client connected: left out
    ended: bool = False  # the stream reached the run's result


async def subscribe(http: httpx.AsyncClient, run_id: str) -> Subscription:
    """One SSE client of the run's events, until the `result` event."""
    got = Subscription()
    workflow: list[tuple[float, float]] = []  # (at, lag) of the workflow's events
    async with http.stream("GET", f"/runs/{run_id}/events", timeout=httpx.Timeout(None, connect=60)) as response:
        response.raise_for_status()
        opened = time.time()
        kind, data = None, None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif not line and data is not None:
                received, at = time.time(), datetime.fromisoformat(json.loads(data)["at"]).timestamp()
                if at < opened:
                    got.backlog += 1
                elif kind == "model_tokens":
                    got.tokens.append(received - at)
                else:
                    workflow.append((at, received - at))
                if kind == "result":
                    got.ended = True
                    got.workflow = [lag for t, lag in workflow if t < at]
                    got.last_task = [lag for t, lag in workflow if t >= at]
                    return got
                kind, data = None, None
    return got


@dataclass
class Live:
    subscriptions: list[Subscription]
    failures: list[str]
    seconds: float
    steps: int
    history_events: int
    cpu: dict[str, float]


async def live(s: Stack, runs: int, subscribers: int, steps: int) -> Live:
    cpu, started = s.cpu(), time.perf_counter()
    body = step_request(steps, True).model_dump(mode="json", include={"goal", "stream_tokens", "budgets"})
    answers = await asyncio.gather(*[s.http.post("/runs", json=body) for _ in range(runs)])
    ids = [a.raise_for_status().json()["id"] for a in answers]
    done = await asyncio.gather(*[subscribe(s.http, i) for i in ids for _ in range(subscribers)],
                                return_exceptions=True)
    seconds = time.perf_counter() - started
    used = {k: v - cpu[k] for k, v in s.cpu().items()}
    results = await asyncio.gather(*[s.client.get_workflow_handle(i, result_type=RunResult).result() for i in ids])
    lengths = [(await s.client.get_workflow_handle(i).describe()).raw_description.workflow_execution_info
               .history_length for i in ids]
    return Live([d for d in done if isinstance(d, Subscription)],
                [f"{type(d).__name__}: {d}" for d in done if isinstance(d, BaseException)]
                + [f"stream ended before the result event ({i})" for i, d in enumerate(done)
                   if isinstance(d, Subscription) and not d.ended]
                + [f"run {i} ended {r.status.value}" for i, r in enumerate(results) if r.status != RunStatus.COMPLETED],
                seconds, sum(r.steps for r in results), sum(lengths), used)


# -- 3. API latency ------------------------------------------------------------------------------------


async def api_latency(s: Stack, clients: int, requests: int) -> tuple[list[float], list[float], list[str]]:
    """(start latencies, state latencies, refusals), s. The runs ask a person at once and wait."""
    body = {"goal": "bench ask: which number to square", "budgets": {"max_steps": 5}}
    ids: list[str] = []
    refused: list[str] = []

    async def timed(method: str, path: str, **kwargs: object) -> tuple[float, httpx.Response]:
        started = time.perf_counter()
        answer = await s.http.request(method, path, **kwargs)
        return time.perf_counter() - started, answer

    async def starter() -> list[float]:
        took = []
        for _ in range(requests):
            seconds, answer = await timed("POST", "/runs", json=body)
            took.append(seconds)
            if answer.status_code == 201:
                ids.append(answer.json()["id"])
            else:
                refused.append(f"POST {answer.status_code}: {answer.text[:200]}")
        return took

    starts = [t for ts in await asyncio.gather(*[starter() for _ in range(clients)]) for t in ts]

    async def waiting(run_id: str) -> None:  # idle before the reads: its one step has run
        deadline = time.monotonic() + 180
        while (await s.client.get_workflow_handle(run_id).describe()).typed_search_attributes.get(
                AGENT_STATUS) != "waiting_for_human":
            if time.monotonic() > deadline:
                raise RuntimeError(f"{run_id} did not reach waiting_for_human")
            await asyncio.sleep(0.5)

    await asyncio.gather(*[waiting(i) for i in ids])

    async def reader(offset: int) -> list[float]:
        took = []
        for j in range(requests):
            seconds, answer = await timed("GET", f"/runs/{ids[(offset + j) % len(ids)]}")
            took.append(seconds)
            if answer.status_code != 200:
                refused.append(f"GET {answer.status_code}: {answer.text[:200]}")
        return took

    states = [t for ts in await asyncio.gather(*[reader(c * requests) for c in range(clients)]) for t in ts]
    return starts, states, refused


# -- the table -------------------------------------------------------------------------------------------


def ms(values: list[float]) -> str:
    return f"p50 {1000 * percentile(values, 50):8.1f} ms   p95 {1000 * percentile(values, 95):8.1f} ms" \
           f"   max {1000 * max(values, default=float('nan')):8.1f} ms   n={len(values)}"


async def main(args: argparse.Namespace) -> None:
    async with stack(args) as s:
        await throughput(s, 1, 1, True)  # warm the worker, the API's connection and caches on both sides
        print(f"dev server (SQLite), python -m worker, python -m worker.api (uvicorn), each its own process;"
              f" model: {args.reply_tokens}-token replies streamed at {args.tokens_per_s:g} tokens/s;"
              f" tool: calculator\n")
        print(f"1. steps/s, stream_tokens off and on ({args.rounds} alternating rounds each; one stream"
              f" follower per run)")
        print(f"  {'':<44}{'off':>12}{'on':>12}  on/off")
        for runs in args.concurrent:
            off, on = Throughput(), Throughput()
            for _ in range(args.rounds):
                off.add(await throughput(s, args.steps, runs, False))
                on.add(await throughput(s, args.steps, runs, True))
            rate_off, rate_on = off.steps / off.seconds, on.steps / on.seconds
            print(f" {runs} concurrent run(s) x {args.steps + 1} steps")
            print(f"  {'steps/s (all runs)':<44}{rate_off:>12.2f}{rate_on:>12.2f}  {rate_on / rate_off:.3f}")
            print(f"  {'step time, s (run time / steps)':<44}{off.run_seconds / off.steps:>12.2f}"
                  f"{on.run_seconds / on.steps:>12.2f}")
            print(f"  {'events per step on the stream':<44}{off.stream_events / off.steps:>12.1f}"
                  f"{on.stream_events / on.steps:>12.1f}")
            print(f"  {'  of which model_tokens':<44}{off.token_events / off.steps:>12.1f}"
                  f"{on.token_events / on.steps:>12.1f}")
            print(f"  {'history events per step':<44}{off.history_events / off.steps:>12.1f}"
                  f"{on.history_events / on.steps:>12.1f}")
            print(f"  {'token batches per model call':<44}{off.batches / off.steps:>12.2f}"
                  f"{on.batches / on.steps:>12.2f}")
            print(f"  {'token batches/s of a run (over its duration)':<44}{max(off.batch_rates):>12.2f}"
                  f"{sum(on.batch_rates) / len(on.batch_rates):>12.2f}  (mean; the most of one run:"
                  f" {max(on.batch_rates):.2f})")
            print(f"  {'token batches of a run in any 1 s, at most':<44}{off.batch_peak:>12d}{on.batch_peak:>12d}")

        print(f"\n2. event latency to SSE clients (receive time - at): {args.runs} live runs, stream_tokens on,"
              f" {args.live_steps + 1} steps each")
        for subscribers in args.subscribers:
            got = await live(s, args.runs, subscribers, args.live_steps)
            tokens = [x for g in got.subscriptions for x in g.tokens]
            workflow = [x for g in got.subscriptions for x in g.workflow]
            last_task = [x for g in got.subscriptions for x in g.last_task]
            delivered = sum(len(g.tokens) + len(g.workflow) + len(g.last_task) + g.backlog for g in got.subscriptions)
            print(f" {subscribers} SSE client(s) per run, {args.runs * subscribers} in all;"
                  f" {got.steps / got.seconds:.2f} steps/s; {got.history_events / got.steps:.1f} history events"
                  f" per step; {delivered} events delivered")
            print(f"  {'model_tokens (at: worker clock)':<42}{ms(tokens)}")
            print(f"  {'workflow events (at: workflow time)':<42}{ms(workflow)}")
            print(f"  {'  of the task that ends the run (result)':<42}{ms(last_task)}")
            print(f"  {'CPU s during the pass':<42}" + ", ".join(f"{k} {v:.1f}" for k, v in got.cpu.items()))
            for failure in got.failures[:5]:
                print(f"  FAILED: {failure}")
            if len(got.failures) > 5:
                print(f"  ... and {len(got.failures) - 5} more failures")

        print(f"\n3. API latency, {args.requests} requests per client and kind")
        for clients in args.clients:
            cpu = s.cpu()
            starts, states, refused = await api_latency(s, clients, args.requests)
            used = {k: v - cpu[k] for k, v in s.cpu().items()}
            print(f" {clients} concurrent client(s); CPU s during the pass: "
                  + ", ".join(f"{k} {v:.1f}" for k, v in used.items()))
            print(f"  {'POST /v1/runs (start)':<42}{ms(starts)}")
            print(f"  {'GET /v1/runs/{id} (state)':<42}{ms(states)}")
            for refusal in refused[:5]:
                print(f"  REFUSED: {refusal}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=6, help="tool steps of each run in 1 (plus the answer)")
    parser.add_argument("--concurrent", type=int, nargs="*", default=[1, 5], help="runs at once in 1")
    parser.add_argument("--rounds", type=int, default=2, help="alternating off/on rounds in 1")
    parser.add_argument("--runs", type=int, default=20, help="live runs in 2")
    parser.add_argument("--subscribers", type=int, nargs="*", default=[1, 10], help="SSE clients per run in 2")
    parser.add_argument("--live-steps", type=int, default=5, help="tool steps of each run in 2")
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 50], help="concurrent API clients in 3")
    parser.add_argument("--requests", type=int, default=4, help="requests per client and kind in 3")
    parser.add_argument("--tokens-per-s", type=float, default=150.0, help="the model's pace")
    parser.add_argument("--reply-tokens", type=int, default=200, help="tokens in each model reply")
    asyncio.run(main(parser.parse_args()))
