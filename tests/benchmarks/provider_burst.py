"""What a burst of provider errors costs runs, with the worker's default breaker and outage policy.

    python -m tests.benchmarks.provider_burst [--runs 10] [--outage-s 10]

Starts its own dev server and a local OpenAI-wire model server; the worker is the real one (gateway,
breaker, model activity, calculator tool). Two scenarios, each with --runs concurrent runs of two
steps (calculator, then the answer):

  burst   each run's first request gets a 500, the rest are answered: independent errors that merely
          arrive together
  outage  every request fails for --outage-s seconds, then the endpoint is back

Prints each run's wall time (min, median, max), the outage waits in the runs' histories, and the
breaker's transitions. Nothing here is a pass/fail threshold; compare two commits on one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.gateway.breaker import BreakerRegistry, BreakerState
from tests.benchmarks.harness import dev_cluster
from tests.conftest import wire_model, write_models_file
from tests.gateway.test_runs_through_the_gateway import gateway_worker
from tests.wire_server import Fault, ModelWireServer, tool_then_answer
from worker.settings import Settings
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult


class Transitions:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def state_changed(self, endpoint: str, state: BreakerState) -> None:
        self.seen.append(state.name.lower())

    def rejected(self, endpoint: str) -> None:
        pass


async def scenario(client: Client, tmp: Path, runs: int, fail) -> None:
    answer = tool_then_answer("calculator", {"expression": "2+2"}, "4")
    transitions = Transitions()
    breakers = BreakerRegistry(metrics=transitions)
    settings = Settings(task_queue=f"burst-{uuid.uuid4()}", data_dir=tmp / str(uuid.uuid4()))
    with ModelWireServer(lambda body: fail(body) or answer(body)) as server:
        models = write_models_file(tmp / f"{uuid.uuid4()}.yaml", wire_model("only", server, timeout_s=30))
        async with gateway_worker(client, settings, models, breakers):
            started = time.perf_counter()
            handles = [await client.start_workflow(AgentRun.run, RunRequest(goal=f"add for task {i}"),
                                                   id=f"burst-{uuid.uuid4()}", task_queue=settings.task_queue,
                                                   result_type=RunResult) for i in range(runs)]

            async def timed(handle) -> float:
                await handle.result()
                return time.perf_counter() - started

            seconds = await asyncio.gather(*(timed(h) for h in handles))
    waits = []
    for handle in handles:
        history = await handle.fetch_history()
        waits.append(sum(e.event_type == EventType.EVENT_TYPE_TIMER_STARTED for e in history.events))
    print(f"  run wall time: min {min(seconds):.1f} s, median {statistics.median(seconds):.1f} s, "
          f"max {max(seconds):.1f} s")
    print(f"  outage waits per run: {sorted(waits)}; requests: {len(server.requests)}; "
          f"breaker: {' -> '.join(['closed', *transitions.seen])}")


def first_request_fails():
    """A 500 on each run's first request (told apart by its goal), answers after."""
    failed, lock = set(), threading.Lock()

    def fail(body):
        with lock:
            goal = body["messages"][1]["content"]
            if goal not in failed:
                failed.add(goal)
                return Fault(500, "upstream worker crashed")
        return None

    return fail


def down_for(seconds: float):
    """Every request fails for `seconds` after the first one, none after."""
    back_at: list[float] = []

    def fail(body):
        if not back_at:
            back_at.append(time.monotonic() + seconds)
        return Fault(503, "overloaded") if time.monotonic() < back_at[0] else None

    return fail


async def main(args: argparse.Namespace) -> None:
    async with dev_cluster() as (client, _, tmp):
        print(f"{args.runs} concurrent runs of two steps; default breaker and outage policy")
        print("burst: one 500 on each run's first request")
        await scenario(client, tmp, args.runs, first_request_fails())
        print(f"outage: every request fails for {args.outage_s:g} s after the first, then none")
        await scenario(client, tmp, args.runs, down_for(args.outage_s))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--outage-s", type=float, default=10.0)
    asyncio.run(main(parser.parse_args()))
