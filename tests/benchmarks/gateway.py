"""Model gateway benchmark: overhead per call, and time from an outage to a completed fallback.

    python -m tests.benchmarks.gateway [--calls 200]

1. The same local OpenAI-wire server called N times directly with the openai SDK, through the
   gateway (provider + breaker + pricing), and through the whole model activity (prompt rendering,
   decision schema, parsing); per-call times and ratios to the direct call.
2. A run on the real dev server whose first model is down (503) and whose second is healthy: time to
   the completed run with the first model's breaker closed (Temporal retries with backoff until the
   attempts are spent, then the workflow falls back) versus already open (the call fails fast and the
   workflow falls back at once).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import openai
from temporalio.client import Client
from temporalio.testing import ActivityEnvironment

from activities.decision import decision_schema, render_prompt
from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway
from activities.model import ModelActivities
from activities.providers.base import ChatRequest
from tests.conftest import dev_server_config, registry_with, wire_model, write_models_file
from tests.gateway.test_runs_through_the_gateway import gateway_worker
from tests.wire_server import Fault, ModelWireServer, final_answer
from worker.codec import project_data_converter
from worker.devserver import DevServer
from worker.logging import configure_logging
from worker.settings import Settings
from workflows.agent_run import AgentRun
from workflows.contracts import DecideInput, Message, RunRequest, RunResult

TOOLS = registry_with().specs()
MESSAGES = [Message(role="system", content="You are careful."), Message(role="user", content="Goal: say hi")]


async def timed(calls: int, one) -> float:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await one()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


async def overhead(calls: int, tmp: Path) -> None:
    with ModelWireServer(final_answer("hi")) as server:
        prompt = render_prompt(MESSAGES, TOOLS)
        schema = decision_schema(TOOLS)
        sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="x", max_retries=0)
        gateway = Gateway(load_models_file(write_models_file(tmp / "m.yaml", wire_model("m", server)), os.environ), BreakerRegistry())
        activities = ModelActivities(gateway)
        env = ActivityEnvironment()
        request = ChatRequest(model="m", messages=prompt, max_output_tokens=64, json_schema=schema)
        decide_input = DecideInput(messages=MESSAGES, tools=TOOLS, model="m")

        async def direct():
            await sdk.chat.completions.create(
                model="m", messages=[{"role": m.role, "content": m.content} for m in prompt], max_tokens=64,
                temperature=0, response_format={"type": "json_schema", "json_schema": {"name": "d", "schema": schema}})

        for warm in (direct, lambda: gateway.chat("m", request), lambda: env.run(activities.decide, decide_input)):
            await timed(10, warm)
        sdk_ms = await timed(calls, direct)
        gateway_ms = await timed(calls, lambda: gateway.chat("m", request))
        activity_ms = await timed(calls, lambda: env.run(activities.decide, decide_input))
    print(f"1. per-call median over {calls} calls to a local server")
    print(f"   {'openai SDK directly':<40}{sdk_ms:8.2f} ms   1.00x")
    print(f"   {'gateway (provider+breaker+cost)':<40}{gateway_ms:8.2f} ms   {gateway_ms / sdk_ms:.2f}x")
    print(f"   {'model activity (+prompt, schema, parse)':<40}{activity_ms:8.2f} ms   {activity_ms / sdk_ms:.2f}x")


async def fallback_time(client: Client, tmp: Path, breaker_open: bool) -> float:
    settings = Settings(task_queue=f"bench-{uuid.uuid4()}", data_dir=tmp / str(uuid.uuid4()))
    with ModelWireServer(lambda body: Fault(503, "down")) as down, ModelWireServer(final_answer("ok")) as up:
        path = write_models_file(tmp / f"{uuid.uuid4()}.yaml", wire_model("primary", down), wire_model("secondary", up))
        breakers = BreakerRegistry(min_calls=1000 if not breaker_open else 3, cooldown_s=600)
        if breaker_open:
            breaker = breakers.for_endpoint(load_models_file(path, os.environ).models[0].endpoint)
            for _ in range(3):
                breaker.record_failure()  # an outage already seen by earlier calls
        async with gateway_worker(client, settings, path, breakers):
            started = time.perf_counter()
            result = await client.execute_workflow(AgentRun.run, RunRequest(goal="g"), id=f"fb-{uuid.uuid4()}",
                                                   task_queue=settings.task_queue, result_type=RunResult)
            elapsed = time.perf_counter() - started
    if result.answer != "ok":
        raise RuntimeError(f"fallback run did not complete: {result}")
    return elapsed


async def main(calls: int) -> None:
    configure_logging("error")
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        await overhead(calls, tmp)
        server = DevServer(dev_server_config(tmp), log_path=tmp / "server.log").start()
        try:
            client = await Client.connect(server.config.address, data_converter=project_data_converter())
            closed = await fallback_time(client, tmp, breaker_open=False)
            opened = await fallback_time(client, tmp, breaker_open=True)
        finally:
            server.stop()
    print("2. provider outage -> completed fallback run (dev server, retry policy 1 s backoff x2, 5 attempts)")
    print(f"   {'breaker closed (retries spent first)':<40}{closed:8.2f} s")
    print(f"   {'breaker open (fails fast)':<40}{opened:8.2f} s   {closed / opened:.0f}x faster")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    asyncio.run(main(parser.parse_args().calls))
