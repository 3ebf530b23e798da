"""Agent steps per second on the real dev server, next to the raw activity round trip, in one run.

    python -m tests.benchmarks.agent_steps [--steps 40] [--concurrent 20]

One agent step is a model activity (scripted, instant) plus a tool activity (the real calculator,
through the real ledger) plus the workflow's own bookkeeping, so its floor is two raw round trips.
Prints measured figures and their ratios; nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from tests.benchmarks.baseline_workflow import RawRoundTrips, noop
from tests.conftest import dev_server_config, make_worker
from tests.scripted import ScriptedModel, call, final
from worker.codec import project_data_converter
from worker.devserver import DevServer
from worker.logging import configure_logging
from worker.settings import Settings
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, DecideInput, Decision, RunRequest, RunResult


async def raw(client: Client, count: int, concurrent: int) -> float:
    queue = f"raw-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[RawRoundTrips], activities=[noop]):
        started = time.perf_counter()
        await asyncio.gather(*[
            client.execute_workflow(RawRoundTrips.run, count, id=f"raw-{uuid.uuid4()}", task_queue=queue)
            for _ in range(concurrent)
        ])
        return time.perf_counter() - started


async def agent(client: Client, data: Path, steps: int, concurrent: int) -> float:
    settings = Settings(task_queue=f"agent-{uuid.uuid4()}", data_dir=data / str(uuid.uuid4()))

    def next_step(input: DecideInput) -> Decision:
        # Decided from the run's own transcript, so concurrent runs do not share one script position.
        done = sum(m.role == "tool" for m in input.messages)
        return call("calculator", expression=f"{done}*{done}") if done < steps else final("done")

    model = ScriptedModel(next_step)
    async with make_worker(client, settings, model):
        started = time.perf_counter()
        results = await asyncio.gather(*[
            client.execute_workflow(
                AgentRun.run, RunRequest(goal="bench", budgets=Budgets(max_steps=steps + 1)),
                id=f"bench-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult,
            )
            for _ in range(concurrent)
        ])
        elapsed = time.perf_counter() - started
    assert all(r.steps == steps + 1 for r in results), "a benchmark run did not complete all its steps"
    return elapsed


async def main(steps: int, concurrent: int) -> None:
    configure_logging("warning")
    with tempfile.TemporaryDirectory() as tmp:
        server = DevServer(dev_server_config(Path(tmp)), log_path=Path(tmp) / "server.log").start()
        try:
            client = await Client.connect(server.config.address, data_converter=project_data_converter())
            await raw(client, 5, 1)  # warm up connections and caches on both sides
            print(f"dev server with SQLite+WAL; {steps} agent steps per run (each: model + tool activity)\n")
            print(f"{'measure':<44}{'one run':>14}{f'{concurrent} runs':>14}")
            raw_1 = await raw(client, 2 * steps, 1)
            raw_n = await raw(client, 2 * steps, concurrent)
            agent_1 = await agent(client, Path(tmp), steps, 1)
            agent_n = await agent(client, Path(tmp), steps, concurrent)
        finally:
            server.stop()
    raw_rate_1, raw_rate_n = 2 * steps / raw_1, 2 * steps * concurrent / raw_n
    step_rate_1, step_rate_n = (steps + 1) / agent_1, (steps + 1) * concurrent / agent_n
    print(f"{'raw activity round trips / s':<44}{raw_rate_1:>14.1f}{raw_rate_n:>14.1f}")
    print(f"{'raw round trip, ms':<44}{1000 / raw_rate_1:>14.1f}{1000 * concurrent / raw_rate_n:>14.1f}")
    print(f"{'agent steps / s':<44}{step_rate_1:>14.1f}{step_rate_n:>14.1f}")
    print(f"{'agent step, ms':<44}{1000 / step_rate_1:>14.1f}{1000 * concurrent / step_rate_n:>14.1f}")
    print(f"{'step time / (2 x raw round trip)':<44}{raw_rate_1 / (2 * step_rate_1):>14.2f}"
          f"{raw_rate_n / (2 * step_rate_n):>14.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--concurrent", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.concurrent))
