"""Worker cost per tool call on per-host stores and on the multi-host stores, side by side in one run.

    python -m tests.benchmarks.store_throughput [--steps 10] [--concurrent 20]

One worker (in this process, so its CPU time is this process's) runs `concurrent` agent runs of `steps`
tool steps each: append_file and read_file alternately on the run's workspace, decided by an instant
scripted model. Once with the embedded defaults (SQLite ledger, local blobs and workspaces), once with
the multi-host stores (PostgreSQL ledger, S3 blobs through moto's server, shared workspaces). Prints
wall-clock rates, tool calls per CPU-second of the worker process (the per-core figure), and the
history events and bytes per step the cluster stores. Measured figures only; nothing is a threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.client import Client

from tests.conftest import dev_server_config, make_worker
from tests.processes import temporal_json
from tests.scripted import ScriptedModel, call, final
from tests.tools.postgres_cluster import PostgresCluster
from worker.codec import project_data_converter
from worker.devserver import DevServer
from worker.logging import configure_logging
from worker.settings import Settings
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, DecideInput, Decision, RunRequest, RunResult


async def measure(client: Client, address: str, settings: Settings, steps: int, concurrent: int) -> dict:
    def next_step(input: DecideInput) -> Decision:
        done = sum(m.role == "tool" for m in input.messages)
        if done >= steps:
            return final("done")
        if done % 2 == 0:
            return call("append_file", path="notes.txt", line=f"line {done}")
        return call("read_file", path="notes.txt")

    model = ScriptedModel(next_step)
    async with make_worker(client, settings, model):
        await client.execute_workflow(  # warm-up: imports, connections, the store queue
            AgentRun.run, RunRequest(goal="warm", approval_risk_level=3, budgets=Budgets(max_steps=steps + 1)),
            id=f"warm-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult)
        cpu, started = time.process_time(), time.perf_counter()
        ids = [f"bench-{uuid.uuid4()}" for _ in range(concurrent)]
        results = await asyncio.gather(*[
            client.execute_workflow(
                AgentRun.run, RunRequest(goal="bench", approval_risk_level=3, budgets=Budgets(max_steps=steps + 1)),
                id=wid, task_queue=settings.task_queue, result_type=RunResult)
            for wid in ids])
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert all(r.usage.tool_calls == steps for r in results), "a benchmark run did not complete its tool steps"
    described = temporal_json(address, "workflow", "describe", "-w", ids[0])["workflowExecutionInfo"]
    calls = steps * concurrent
    return {"wall": wall, "cpu": cpu, "calls": calls, "events": int(described["historyLength"]),
            "bytes": int(described["historySizeBytes"])}


def ledger_rate(target, count: int = 300) -> tuple[float, float]:
    from activities.ledger import open_ledger

    ledger, run = open_ledger(target), uuid.uuid4().hex
    started = time.perf_counter()
    for n in range(count):
        key = f"{run}/call-{n}-1"
        ledger.begin(key, run, "bench", "h", "owner", 15.0)
        ledger.finish(key, "succeeded", {"status": "ok"}, "owner")
    receipts = count / (time.perf_counter() - started)
    started = time.perf_counter()
    for n in range(count):
        ledger.save_workspace_manifest(run, n, {"notes.txt": f"sha256:{n:064x}"})
    return receipts, count / (time.perf_counter() - started)


async def _until_up(attempt) -> None:
    for _ in range(200):
        try:
            return attempt()
        except Exception:
            await asyncio.sleep(0.05)  # a server starting up, in a benchmark script (not a test)
    attempt()


async def main(steps: int, concurrent: int) -> None:
    configure_logging("warning")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    from worker.blobs import open_blob_store
    from worker.devserver import free_port

    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        server = DevServer(dev_server_config(tmp_path), log_path=tmp_path / "server.log").start()
        pg = PostgresCluster().start()
        # moto's S3 server in its own process, so this process's CPU time is the worker's alone.
        port = free_port()
        s3 = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            blob_url = f"s3://bench/agent?endpoint=http://127.0.0.1:{port}"
            await _until_up(lambda: open_blob_store(blob_url).create_bucket())
            client = await Client.connect(server.config.address, data_converter=project_data_converter())
            address = server.config.address
            local = Settings(task_queue=f"local-{uuid.uuid4()}", data_dir=tmp_path / "local", retrieval=False)
            shared = Settings(task_queue=f"shared-{uuid.uuid4()}", data_dir=tmp_path / "shared", retrieval=False,
                              profile="multi-host", ledger_url=pg.url, blob_store=blob_url)
            ledgers = {"SQLite ledger": ledger_rate(tmp_path / "bench.sqlite"), "PostgreSQL ledger": ledger_rate(pg.url)}
            figures = {"per-host stores (SQLite, local files)": await measure(client, address, local, steps, concurrent),
                       "multi-host stores (PostgreSQL, S3, shared workspaces)":
                           await measure(client, address, shared, steps, concurrent)}
        finally:
            s3.terminate()
            s3.wait()
            pg.stop()
            server.stop()
    print(f"{concurrent} runs x {steps} tool steps (append_file / read_file), one worker process, instant model\n")
    print(f"{'stores':<56}{'calls/s':>9}{'calls/CPU-s':>13}{'ms CPU/call':>13}{'events/step':>13}{'bytes/step':>12}")
    for name, f in figures.items():
        per_step = steps + 1  # the final answer is a step too
        print(f"{name:<56}{f['calls'] / f['wall']:>9.1f}{f['calls'] / f['cpu']:>13.1f}{1000 * f['cpu'] / f['calls']:>13.1f}"
              f"{f['events'] / per_step:>13.1f}{f['bytes'] / per_step:>12.0f}")
    print("\none thread, claim + record one receipt (begin + finish, 2 transactions), then a workspace manifest write:")
    for name, (receipts, manifests) in ledgers.items():
        print(f"  {name:<20} {receipts:>8.0f} receipts/s  {manifests:>8.0f} manifest writes/s")
    base, multi = figures.values()
    print(f"\nmulti-host / per-host: wall rate {(multi['calls'] / multi['wall']) / (base['calls'] / base['wall']):.2f}x, "
          f"CPU per call {multi['cpu'] / base['cpu']:.2f}x")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.concurrent))
