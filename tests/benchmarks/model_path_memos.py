"""What each memo and cache on the model path earns: worker CPU per step with it, and without it.

    python -m tests.benchmarks.model_path_memos [--steps 400] [--window 8192] [--local]

The same long run as tests.benchmarks.step_overhead (the real worker, a 2 KB read_file result a step,
a model server on the OpenAI wire in its own process), once with every memo on, once with each one
switched off alone (tests/model_path_memos.py), and once with all of them off. Prints the worker's
CPU per step (model call and tool call) around step 100 and over the last 100 steps, and each figure
over the all-on run's, measured in the same process one after the other. Nothing here is a pass/fail
threshold.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import tempfile
from pathlib import Path

from temporalio.client import Client

from tests.benchmarks.step_overhead import Bench, _serve_model
from tests.conftest import dev_server_config
from tests.model_path_memos import MEMOS, switched_off
from worker.codec import project_data_converter
from worker.devserver import DevServer
from worker.logging import configure_logging


async def main(args: argparse.Namespace) -> None:
    configure_logging("error")
    ctx = multiprocessing.get_context("fork")
    ready, counter = ctx.Queue(), ctx.Value("q", 0)
    model = ctx.Process(target=_serve_model, args=(ready, counter), daemon=True)
    model.start()
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        server = DevServer(dev_server_config(tmp), log_path=tmp / "server.log").start()
        try:
            client = await Client.connect(server.config.address, data_converter=project_data_converter())
            bench = Bench(client, server, tmp, ready.get(timeout=30), counter)
            await bench.agent(3, 1, args.local)  # warm connections, imports and tokenizers
            mode = "local activity" if args.local else "activity"
            print(f"one run of {args.steps} steps, {args.window:,}-token window, model called as {mode}: "
                  "worker CPU per step (model + tool), ms\n")
            print(f"  {'':<28}{'steps 50-150':>14}{'last 100':>10}{'ratio':>8}{'ratio':>8}")
            base = await bench.growth(args.steps, args.window, args.local)
            print(f"  {'every memo on':<28}{base[0]:>14.2f}{base[1]:>10.2f}{1:>8.2f}{1:>8.2f}")
            for name in [*MEMOS, None]:
                with switched_off(*([name] if name else [])):
                    at_100, at_end = await bench.growth(args.steps, args.window, args.local)
                label = f"without the {name}" if name else "every memo off"
                print(f"  {label:<28}{at_100:>14.2f}{at_end:>10.2f}{at_100 / base[0]:>8.2f}{at_end / base[1]:>8.2f}")
        finally:
            server.stop()
            model.kill()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--window", type=int, default=8192)
    parser.add_argument("--local", action="store_true", help="call the model as a local activity")
    asyncio.run(main(parser.parse_args()))
