"""History bytes and events after N steps with 2 KB tool outputs: transcript by reference (AgentRun)
versus by value (a loop that sends the whole transcript to every activity), on one dev server.

    python -m tests.benchmarks.history_growth [--steps 50 100 200]

AgentRun cannot be put back into its by-value mode (only histories recorded before the change run
that path), so the by-value side is tests/benchmarks/baseline_workflow.py's ByValueLoop: the same
per-step shape (one activity carrying the transcript, a 2 KB result appended). Default server limits.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from tests.benchmarks.baseline_workflow import ByValueLoop, echo_transcript
from tests.benchmarks.harness import dev_cluster
from tests.conftest import make_worker, run_workspace
from tests.scripted import ScriptedModel, call, final
from worker.settings import Settings
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, DecideInput, Decision, RunRequest, RunResult


async def by_reference(client: Client, tmp: Path, steps: int) -> tuple[int, int]:
    settings = Settings(task_queue=f"ref-{uuid.uuid4()}", data_dir=tmp / str(uuid.uuid4()))
    run_id = f"ref-{uuid.uuid4()}"

    def next_step(input: DecideInput) -> Decision:
        done = sum(m.role == "tool" for m in input.messages)
        return call("read_file", path="out.txt") if done < steps - 1 else final("done")

    async with make_worker(client, settings, ScriptedModel(next_step)):
        # Started paused, so out.txt is in the run's workspace before its first step reads it.
        handle = await client.start_workflow(
            AgentRun.run, RunRequest(goal="read", budgets=Budgets(max_steps=steps + 1, max_tokens=10**9)),
            id=run_id, task_queue=settings.task_queue, result_type=RunResult, start_signal="pause")
        run_workspace(settings, handle).mkdir(parents=True)
        (run_workspace(settings, handle) / "out.txt").write_text("y" * 2000)
        await handle.signal(AgentRun.resume)
        await handle.result()
        history = await client.get_workflow_handle(run_id).fetch_history()
    return len(history.to_json()), len(history.events)


async def by_value(client: Client, steps: int) -> tuple[int, int]:
    queue, run_id = f"val-{uuid.uuid4()}", f"val-{uuid.uuid4()}"
    async with Worker(client, task_queue=queue, workflows=[ByValueLoop], activities=[echo_transcript]):
        await client.execute_workflow(ByValueLoop.run, steps, id=run_id, task_queue=queue)
        history = await client.get_workflow_handle(run_id).fetch_history()
    return len(history.to_json()), len(history.events)


async def main(step_counts: list[int]) -> None:
    async with dev_cluster() as (client, _, tmp):
        print(f"{'steps':>6}{'by reference: bytes':>22}{'events':>8}{'by value: bytes':>18}{'events':>8}{'ratio':>8}")
        for steps in step_counts:
            ref_bytes, ref_events = await by_reference(client, tmp, steps)
            val_bytes, val_events = await by_value(client, steps)
            print(f"{steps:>6}{ref_bytes:>22,}{ref_events:>8}{val_bytes:>18,}{val_events:>8}{val_bytes / ref_bytes:>8.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, nargs="+", default=[50, 100, 200])
    asyncio.run(main(parser.parse_args().steps))
