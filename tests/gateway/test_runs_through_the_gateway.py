"""Whole runs on the dev server through the real model activity, gateway and SDKs, with faults."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import CancelledError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway
from activities.model import ModelActivities
from tests.conftest import eventually, registry_with, wire_model, write_models_file
from tests.wire_server import Fault, Hang, ModelWireServer, final_answer, tool_then_answer
from worker.main import build_model_activities, build_tool_layer, build_worker
from worker.settings import Settings
from workflows.agent_run import AgentRun
from workflows.contracts import (
    Budgets,
    DecideInput,
    Message,
    ModelInfo,
    Price,
    RunRequest,
    RunResult,
    RunStatus,
)
from workflows.contracts.prompt import assemble
from workflows.routing import estimate_tokens, next_call_cost
from workflows.search_attributes import AGENT_COST_USD

PRICE = {"input": 3.0, "cached_input": 0.3, "output": 15.0}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def gateway_worker(client: Client, settings: Settings, models_path, breakers: BreakerRegistry) -> Worker:
    gateway = Gateway(load_models_file(models_path, os.environ), breakers)
    return build_worker(client, settings, [*build_model_activities(settings, gateway=gateway),
                                           *build_tool_layer(settings).activities()])


async def run(client: Client, settings: Settings, request: RunRequest):
    handle = await client.start_workflow(AgentRun.run, request, id=f"gw-{uuid.uuid4()}",
                                         task_queue=settings.task_queue, result_type=RunResult)
    return handle


async def test_fallback_from_a_failing_provider_completes_the_run(dev_client, settings, tmp_path):
    """The primary answers 500; once its breaker opens the workflow falls back and the run completes."""
    with ModelWireServer(lambda body: Fault(500, "primary is down")) as down, ModelWireServer(final_answer("ok")) as up:
        path = write_models_file(tmp_path / "m.yaml", wire_model("primary", down), wire_model("secondary", up))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry(min_calls=1)):
            handle = await run(dev_client, settings, RunRequest(goal="g"))
            result = await handle.result()
            state = await handle.query(AgentRun.state)
    assert result.status == RunStatus.COMPLETED and result.answer == "ok"
    assert len(down.requests) == 1 and len(up.requests) == 1
    routed, fallback = state.model_events
    assert (routed.kind, routed.model) == ("routed", "primary")
    assert (fallback.kind, fallback.model) == ("fallback", "secondary")
    assert "Provider.circuit_open" in fallback.reason
    assert list(result.usage.by_model) == ["secondary"]


async def test_breaker_opens_fails_fast_and_closes_after_a_probe(dev_client, settings, tmp_path):
    """While open the primary gets no request; after the cool-down one probe succeeds and closes it."""
    healthy = {"now": False}
    clock = Clock()
    breakers = BreakerRegistry(min_calls=1, cooldown_s=60, clock=clock)

    def primary(body):
        return final_answer("from primary")(body) if healthy["now"] else Fault(503, "overloaded")

    with ModelWireServer(primary) as first, ModelWireServer(final_answer("from secondary")) as second:
        path = write_models_file(tmp_path / "m.yaml", wire_model("primary", first), wire_model("secondary", second))
        async with gateway_worker(dev_client, settings, path, breakers):
            assert (await (await run(dev_client, settings, RunRequest(goal="1"))).result()).answer == "from secondary"
            healthy["now"] = True
            assert (await (await run(dev_client, settings, RunRequest(goal="2"))).result()).answer == "from secondary"
            assert len(first.requests) == 1  # refused without a request while open
            clock.now = 61
            assert (await (await run(dev_client, settings, RunRequest(goal="3"))).result()).answer == "from primary"
    assert breakers.snapshot() == {f"openai:{first.base_url}": "closed", f"openai:{second.base_url}": "closed"}


async def test_confidential_run_never_reaches_a_public_provider(dev_client, settings, tmp_path):
    """With the self-hosted model failing, a confidential run fails clearly; the public one sees nothing."""
    with ModelWireServer(lambda body: Fault(500, "gpu node lost")) as local, ModelWireServer(final_answer("x")) as public:
        path = write_models_file(
            tmp_path / "m.yaml",
            wire_model("local", local, provider="sglang", data_classes=["public", "internal", "confidential"]),
            wire_model("public", public),
            outage={"max_wait_s": 1, "initial_backoff_s": 0.2, "max_backoff_s": 0.5},
        )
        async with gateway_worker(dev_client, settings, path, BreakerRegistry(min_calls=1)):
            handle = await run(dev_client, settings, RunRequest(goal="secret", data_class="confidential"))
            with pytest.raises(WorkflowFailureError) as failure:
                await handle.result()
            state = await handle.query(AgentRun.state)
    message = str(failure.value.cause)
    assert "no model could take step 1 of this confidential run" in message
    assert "public: may not receive confidential data" in message and "local: already failed" in message
    assert public.requests == [] and state.status == RunStatus.FAILED


async def test_cost_totals_equal_the_price_table_applied_to_usage(dev_client, settings, tmp_path):
    """Per-run and per-model cost, and AgentCostUsd, equal the prices times what the server reported."""
    responder = tool_then_answer("calculator", {"expression": "2+2"}, "4")
    with ModelWireServer(responder) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("priced", server, price_per_mtok=PRICE))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry()):
            handle = await run(dev_client, settings, RunRequest(goal="add"))
            result = await handle.result()
            attributes = (await handle.describe()).typed_search_attributes
    expected = sum(((u["prompt_tokens"] - u["prompt_tokens_details"]["cached_tokens"]) * PRICE["input"]
                    + u["prompt_tokens_details"]["cached_tokens"] * PRICE["cached_input"]
                    + u["completion_tokens"] * PRICE["output"]) / 1e6 for u in server.usages)
    assert len(server.usages) == 2 and server.usages[1]["prompt_tokens_details"]["cached_tokens"] > 0
    assert result.usage.cost_usd == pytest.approx(expected)
    assert result.usage.by_model["priced"].cost_usd == pytest.approx(expected)
    assert attributes.get(AGENT_COST_USD) == pytest.approx(expected, abs=1e-6)


async def test_cost_budget_stops_before_a_call_that_cannot_fit(dev_client, settings, tmp_path):
    """max_cost_usd ends the run with budget_exceeded before the call that could overspend."""
    responder = tool_then_answer("calculator", {"expression": "2+2"}, "4")
    request = RunRequest(goal="add", max_output_tokens=64)
    model = ModelInfo(name="priced", provider="openai", self_hosted=False, context_window=8192, max_output_tokens=256,
                      price=Price(**PRICE), data_classes=["internal"])
    first_worst = next_call_cost(model, estimate_tokens(assemble(request, []), registry_with().specs()) + 64, 64)
    limit = first_worst * 1.2  # room for the first call, not for the first plus the second
    with ModelWireServer(responder) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("priced", server, price_per_mtok=PRICE))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry()):
            handle = await run(dev_client, settings, request.model_copy(update={"budgets": Budgets(max_cost_usd=limit)}))
            result = await handle.result()
    assert result.status == RunStatus.BUDGET_EXCEEDED and "cost budget" in result.reason
    assert len(server.requests) == 1 and 0 < result.usage.cost_usd <= limit


async def test_bad_api_key_fails_the_run_once_with_the_providers_message(dev_client, settings, tmp_path):
    """A 401 is final: one request, no fallback, the provider's own words in the failure."""
    with ModelWireServer(lambda body: Fault(401, "Incorrect API key provided: sk-wr***")) as server, \
            ModelWireServer(final_answer("x")) as other:
        path = write_models_file(tmp_path / "m.yaml", wire_model("a", server), wire_model("b", other))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry()):
            handle = await run(dev_client, settings, RunRequest(goal="g"))
            with pytest.raises(WorkflowFailureError) as failure:
                await handle.result()
    assert "Incorrect API key provided" in str(failure.value.cause)
    assert len(server.requests) == 1 and other.requests == []


async def test_cancelling_the_run_cancels_the_http_request(dev_client, settings, tmp_path):
    """A hanging model call is abandoned on the wire when the run is cancelled."""
    with ModelWireServer(lambda body: Hang(60)) as server:
        path = write_models_file(tmp_path / "m.yaml", wire_model("slow", server, timeout_s=120))
        async with gateway_worker(dev_client, settings, path, BreakerRegistry()):
            handle = await run(dev_client, settings, RunRequest(goal="g"))

            async def requested() -> bool:
                return len(server.requests) == 1

            await eventually(requested, what="the model request")
            started = time.monotonic()
            await handle.cancel()
            with pytest.raises(WorkflowFailureError) as failure:
                await handle.result()

            async def disconnected() -> bool:
                return server.disconnects == 1

            await eventually(disconnected, timeout_s=30, what="the server to see the client go away")
            state = await handle.query(AgentRun.state)
    assert isinstance(failure.value.cause, CancelledError) and state.status == RunStatus.CANCELLED
    assert time.monotonic() - started < 60  # well before the server would have answered


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
async def test_streaming_call_heartbeats_tokens_so_far(tmp_path, provider):
    """With stream: true each heartbeat carries the tokens generated so far, on either wire protocol."""
    beats: list = []
    with ModelWireServer(final_answer("a long enough answer to span chunks")) as server:
        entry = wire_model("s", server, provider=provider, stream=True)
        path = write_models_file(tmp_path / "m.yaml", entry)
        activities = ModelActivities(Gateway(load_models_file(path, os.environ), BreakerRegistry()))
        env = ActivityEnvironment()
        env.on_heartbeat = lambda *details: beats.append(details)
        result = await env.run(activities.decide, DecideInput(
            messages=[Message(role="user", content="Goal: g")], tools=[], model="s"))
    tokens = [d[0]["tokens_so_far"] for d in beats if d and "tokens_so_far" in d[0]]
    assert result.decision.answer == "a long enough answer to span chunks"
    assert tokens and tokens == sorted(tokens) and tokens[-1] > 1
