"""A model outage on the real worker path: runs wait it out, the breaker recovers, a final failure
names the real cause. Dev server, real gateway and SDK, the local OpenAI-wire fault server."""

from __future__ import annotations

import asyncio
import itertools
import os
import threading

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.gateway.breaker import BreakerRegistry, BreakerState
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway
from activities.model import ModelActivities
from tests.conftest import eventually, wire_model, write_models_file
from tests.gateway.test_runs_through_the_gateway import Clock, gateway_worker, run
from tests.test_replay import replayer
from tests.wire_server import Fault, Hang, Malformed, ModelWireServer, final_answer
from worker.main import WORKFLOWS
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, DecideInput, Message, RunRequest, RunStatus

# Short waits so the tests take seconds; production defaults are in workflows/contracts.py OutagePolicy.
QUICK = {"max_wait_s": 120, "initial_backoff_s": 0.2, "max_backoff_s": 1}


class Outage:
    """A responder that cycles through 500, 429 with Retry-After and malformed bodies until it recovers."""

    def __init__(self, answer: str = "recovered") -> None:
        self.down = True
        self.answer = final_answer(answer)
        self._faults = itertools.cycle([Fault(500, "upstream crashed"),
                                        Fault(429, "slow down", {"Retry-After": "1"}), Malformed()])
        self._lock = threading.Lock()

    def __call__(self, body: dict):
        with self._lock:
            return next(self._faults) if self.down else self.answer(body)


async def test_runs_wait_out_an_outage_of_their_only_model_and_all_complete(dev_client, settings, tmp_path):
    """A burst of 500 / 429 / malformed replies opens the only model's breaker while three runs are
    active; they wait (saying for which model and why) instead of failing, and all complete once the
    server recovers; the breaker closes again."""
    outage = Outage()
    breakers = BreakerRegistry(min_calls=3, cooldown_s=1)
    with ModelWireServer(outage) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("only", server), outage=QUICK)
        async with gateway_worker(dev_client, settings, path, breakers):
            handles = [await run(dev_client, settings, RunRequest(goal=f"g{i}")) for i in range(3)]

            async def all_waiting() -> bool:
                states = [await h.query(AgentRun.state) for h in handles]
                return all((s.last_action or "").startswith("waiting") for s in states)

            await eventually(all_waiting, timeout_s=60, what="every run to wait for the model")
            waiting = [(await h.query(AgentRun.state)) for h in handles]
            failures_seen = len(server.requests)
            outage.down = False
            results = [await h.result() for h in handles]
            histories = [await h.fetch_history() for h in handles]
    for state in waiting:
        assert state.status == RunStatus.WAITING_FOR_MODEL
        assert "waiting" in state.last_action and "for model only" in state.last_action
        assert any(cause in state.last_action for cause in ("HTTP 500", "HTTP 429", "unreadable reply", "circuit open"))
        assert state.model_events[-1].kind == "exhausted" and "waiting up to 120 s" in state.model_events[-1].reason
    assert failures_seen >= 3
    assert [r.status for r in results] == [RunStatus.COMPLETED] * 3 and {r.answer for r in results} == {"recovered"}
    assert set(breakers.snapshot().values()) == {"closed"}
    for history in histories:  # the waits replay: they are timers decided from history
        assert (await replayer(WORKFLOWS).replay_workflow(history, raise_on_replay_failure=False)).replay_failure is None


async def test_an_outage_past_the_limit_fails_the_run_naming_the_http_error_and_the_breaker(
        dev_client, settings, tmp_path):
    """When the outage outlasts outage.max_wait_s the run fails, and the reason names the provider's
    HTTP error and the open breaker, not only 'already failed this step'."""
    breakers = BreakerRegistry(min_calls=1, cooldown_s=600)
    with ModelWireServer(lambda body: Fault(500, "upstream crashed")) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("only", server),
                                 outage={**QUICK, "max_wait_s": 2})
        async with gateway_worker(dev_client, settings, path, breakers):
            handle = await run(dev_client, settings, RunRequest(goal="g"))
            with pytest.raises(WorkflowFailureError) as failure:
                await handle.result()
            state = await handle.query(AgentRun.state)
    message = str(failure.value.cause)
    assert "model outage: no model could take step 1" in message and "outage.max_wait_s" in message
    assert "HTTP 500: upstream crashed" in message and "circuit open" in message
    assert state.status == RunStatus.FAILED and message.endswith(state.result.reason)
    assert len(server.requests) == 1  # the open breaker kept every later attempt off the server


async def test_the_wall_time_budget_bounds_the_wait(dev_client, settings, tmp_path):
    """A run whose wall-time budget runs out while it waits ends budget_exceeded, naming the outage."""
    with ModelWireServer(lambda body: Fault(503, "overloaded")) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("only", server), outage=QUICK)
        async with gateway_worker(dev_client, settings, path, BreakerRegistry(min_calls=1, cooldown_s=600)):
            handle = await run(dev_client, settings, RunRequest(goal="g", budgets=Budgets(max_wall_time_s=3)))
            result = await handle.result()
    assert result.status == RunStatus.BUDGET_EXCEEDED
    assert "wall-time budget exhausted while waiting for a model" in result.reason
    assert "HTTP 503: overloaded" in result.reason and len(server.requests) == 1


async def test_a_cancelled_half_open_probe_does_not_wedge_the_breaker(tmp_path):
    """The probe call after the cool-down is cancelled mid-request; the next call is let through (it
    used to be refused with circuit_open until the worker restarted)."""
    mode = {"now": "fail"}

    def respond(body: dict):
        if mode["now"] == "fail":
            return Fault(500, "down")
        return Hang(30) if mode["now"] == "hang" else final_answer("back")(body)

    clock = Clock()
    breakers = BreakerRegistry(min_calls=1, cooldown_s=10, clock=clock)
    request = DecideInput(messages=[Message(role="user", content="Goal: g")], tools=[], model="only")
    with ModelWireServer(respond) as server:
        activities = ModelActivities(Gateway(load_models_file(
            write_models_file(tmp_path / "m.yaml", wire_model("only", server, timeout_s=60)), os.environ), breakers))
        with pytest.raises(ApplicationError, match="HTTP 500"):
            await ActivityEnvironment().run(activities.decide, request)
        clock.now = 10
        mode["now"] = "hang"
        env = ActivityEnvironment()

        async def probe():
            return await env.run(activities.decide, request)

        task = asyncio.create_task(probe())

        async def probing() -> bool:
            return len(server.requests) == 2

        await eventually(probing, what="the half-open probe to reach the server")
        assert breakers.for_endpoint(f"openai:{server.base_url}").state is BreakerState.HALF_OPEN
        env.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        mode["now"] = "ok"
        result = await ActivityEnvironment().run(activities.decide, request)
    assert result.decision.answer == "back" and len(server.requests) == 3
    assert breakers.snapshot() == {f"openai:{server.base_url}": "closed"}
