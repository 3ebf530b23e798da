"""What each memo and cache on the model path earns: its CPU per step with the memo, and without it.

    python -m tests.benchmarks.model_path_memos [--steps 300] [--repeat 2]

The model path is the model activity's whole call: append and load the transcript, resolve the
catalogue, render and count the prompt, pack it, build the request body, send it, read the reply. It
runs here in process, step after step of one run (a decision and a 2 KB tool result a step, compacted
as the workflow does whenever the pack asks), against a model server in its own process, so that
this process's CPU is the model path's alone. Two configurations of the defaults: the embedded model
(`llamacpp`, counted exactly with its GGUF, 4,096-token window) and a self-hosted or hosted model
counted by the estimate (8,192 tokens). Each with every memo on, with each one switched off alone
(tests/model_path_memos.py), and with all of them off, `--repeat` times in turn, each turn starting
one configuration further on. Prints the CPU per call over steps 50 to the end, the median of the
repeats, and its ratio to every memo on. Nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.context import transcript
from activities.context.blobs import LocalBlobStore
from activities.context.packing import SUMMARY_NAME
from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway
from activities.model import ModelActivities
from tests.conftest import registry_with, wire_model, write_models_file
from tests.model_path_memos import MEMOS, switched_off
from worker.logging import configure_logging
from worker.main import token_counters
from workflows.contracts import DecideInput, Message, TokenCalibration
from workflows.contracts.context import ContextBudget, DecideWithContextInput, TranscriptRef

OUTPUT = "y" * 2000
CONFIGURATIONS = {"embedded (llamacpp, GGUF count, 4,096)": ("llamacpp", 4096),
                  "estimate (vllm, bytes / 4, 8,192)": ("vllm", 8192)}


def _serve(ready) -> None:
    from tests.wire_server import ModelWireServer, final_answer

    server = ModelWireServer(final_answer("done"))
    server.__enter__()
    ready.put(server.base_url)
    while True:
        time.sleep(3600)


async def one_run(activities: ModelActivities, store: LocalBlobStore, window: int, steps: int, run: str) -> float:
    """CPU seconds per call of the model path over steps 50..steps of one run."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id=run, workflow_run_id=run)
    pinned = [Message(role="system", content="You are careful."), Message(role="user", content=f"Goal: read ({run})")]
    tools, ref, new = registry_with().specs(), TranscriptRef(), []
    started = 0.0
    for step in range(steps):
        if step == 50:
            started = time.process_time()
        result = await env.run(activities.decide_with_context, DecideWithContextInput(
            decide=DecideInput(messages=[], tools=tools, model="m", max_output_tokens=256), pinned=pinned,
            transcript=ref, append=new, budget=ContextBudget(context_window=window, reserved_output=256),
            calibration=TokenCalibration(ratio=1.0, calls=1)))
        ref, pack = result.transcript, result.pack
        if pack.compact_start is not None:  # what the workflow's context.summarize does to the chain
            messages = transcript.load_ref(store, ref)
            summary = Message(role="user", name=SUMMARY_NAME, content=f"Summary of turns up to step {step}")
            ref = transcript.append_ref(store, TranscriptRef(),
                                        [*messages[:pack.compact_start], summary, *messages[pack.compact_end:]])
        new = [Message(role="assistant", content=f'{{"action":"call_tool","tool":"read_file","step":{step}}}'),
               Message(role="tool", name="read_file", tool_call_id=f"call-{step}", content=f"{step} {OUTPUT}")]
    return (time.process_time() - started) / (steps - 50)


async def main(args: argparse.Namespace) -> None:
    configure_logging("error")
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    server = ctx.Process(target=_serve, args=(ready,), daemon=True)
    server.start()
    base_url = ready.get(timeout=60)
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        for label, (provider, window) in CONFIGURATIONS.items():
            entry = wire_model("m", type("S", (), {"base_url": base_url})(), provider=provider, context_window=window,
                               max_output_tokens=256, timeout_s=30)
            gateway = Gateway(load_models_file(write_models_file(tmp / f"{provider}.yaml", entry), os.environ), BreakerRegistry())
            store = LocalBlobStore(tmp / f"blobs-{provider}")
            activities = ModelActivities(gateway, blobs=store, counter_for=token_counters(gateway))
            await one_run(activities, store, window, 60, "warm-up")
            print(f"{label}: CPU per model call over steps 50-{args.steps}, ms (median of {args.repeat})")
            configs = [("every memo on", ()), *((f"without the {n}", (n,)) for n in MEMOS), ("every memo off", tuple(MEMOS))]
            measured: dict[str, list[float]] = {name: [] for name, _ in configs}
            for turn in range(args.repeat):
                # Each turn starts one configuration further on: what runs first in a turn runs slower.
                for name, off in configs[turn % len(configs):] + configs[:turn % len(configs)]:
                    with switched_off(*off) if off else contextlib.nullcontext():
                        measured[name].append(await one_run(activities, store, window, args.steps, f"{name}-{turn}"))
            base = statistics.median(measured["every memo on"])
            for name, _ in configs:
                ms = statistics.median(measured[name])
                spread = ", ".join(f"{1000 * m:.2f}" for m in measured[name])
                print(f"  {name:<34}{1000 * ms:>8.2f}  x{ms / base:.2f}   ({spread})")
            print()
    server.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=5)
    asyncio.run(main(parser.parse_args()))
