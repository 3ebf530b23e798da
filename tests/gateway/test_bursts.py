"""Bursts of provider errors cost runs a retry, not an outage wait; an outage ends for every run at once.

Whole runs on the dev server through the real gateway and breaker. What a user would check: every
run completes, and its history shows whether it waited out an outage (a timer) and how often.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid

from temporalio.api.enums.v1 import EventType

from activities.gateway.breaker import BreakerRegistry, BreakerState
from tests.conftest import eventually, wire_model, write_models_file
from tests.gateway.test_runs_through_the_gateway import gateway_worker
from tests.wire_server import Fault, ModelWireServer, tool_then_answer
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, RunStatus

RUNS = 10


def outage_waits(history) -> int:
    """How many times a run slept waiting for its model (the workflow's outage timers)."""
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED)


async def start_runs(client, settings, n: int) -> list:
    return await asyncio.gather(*(client.start_workflow(
        AgentRun.run, RunRequest(goal=f"add for task {i}"), id=f"burst-{uuid.uuid4()}",
        task_queue=settings.task_queue, result_type=RunResult) for i in range(n)))


async def test_one_error_in_each_of_ten_concurrent_runs_costs_a_retry_not_an_outage(dev_client, settings, tmp_path):
    """Each of ten concurrent runs meets one 500 on its first request: ten failures in a row on one
    endpoint, but independent ones. With the default breaker none of the runs waits out an outage: each
    retries once and completes (a streak-based breaker opened here and held every run for a minute)."""
    answer = tool_then_answer("calculator", {"expression": "2+2"}, "4")
    failed, lock = set(), threading.Lock()

    def respond(body):
        goal = body["messages"][1]["content"]
        with lock:
            if goal not in failed:  # this run's first request
                failed.add(goal)
                return Fault(500, "upstream worker crashed")
        return answer(body)

    breakers = BreakerRegistry()
    with ModelWireServer(respond) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("only", server))
        async with gateway_worker(dev_client, settings, path, breakers):
            handles = await start_runs(dev_client, settings, RUNS)
            results = await asyncio.gather(*(h.result() for h in handles))
            states = await asyncio.gather(*(h.query(AgentRun.state) for h in handles))
    histories = await asyncio.gather(*(h.fetch_history() for h in handles))
    assert [r.status for r in results] == [RunStatus.COMPLETED] * RUNS
    assert len(failed) == RUNS and len(server.requests) == RUNS * 3  # one 500, then two decisions
    assert [outage_waits(h) for h in histories] == [0] * RUNS
    assert all(not s.model_events or all(e.kind == "routed" for e in s.model_events) for s in states)
    assert set(breakers.snapshot().values()) == {"closed"}


async def test_runs_waiting_on_an_open_breaker_go_on_as_soon_as_a_probe_succeeds(dev_client, settings, tmp_path):
    """An outage opens the breaker; the runs wait for the next probe, and when it succeeds every one of
    them goes on: none waits a second time (refused while the probe was out, a run used to sleep again,
    and the first answer of a recovering endpoint is slow here, so the probe is out for a second)."""
    answer = tool_then_answer("calculator", {"expression": "2+2"}, "4")
    down = threading.Event()
    down.set()
    breakers = BreakerRegistry(min_calls=RUNS, cooldown_s=2)

    slow_first = threading.Lock()

    def respond(body):
        if down.is_set():
            return Fault(503, "overloaded")
        if slow_first.acquire(blocking=False):
            time.sleep(1)  # a recovering endpoint answers its first request slowly: the probe is out a while
        return answer(body)

    with ModelWireServer(respond) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("only", server),
                                 outage={"max_wait_s": 120, "initial_backoff_s": 0.5, "max_backoff_s": 10})
        async with gateway_worker(dev_client, settings, path, breakers):
            handles = await start_runs(dev_client, settings, RUNS)
            breaker = breakers.for_endpoint(f"openai:{server.base_url}")

            async def opened() -> bool:
                return breaker.state is BreakerState.OPEN

            await eventually(opened, what="the breaker to open")
            down.clear()  # the endpoint is back; only a probe can tell the breaker so
            results = await asyncio.gather(*(h.result() for h in handles))
    histories = await asyncio.gather(*(h.fetch_history() for h in handles))
    assert [r.status for r in results] == [RunStatus.COMPLETED] * RUNS
    waits = [outage_waits(h) for h in histories]
    assert max(waits) <= 1 and sum(waits) >= 1, waits
    assert breaker.state is BreakerState.CLOSED
