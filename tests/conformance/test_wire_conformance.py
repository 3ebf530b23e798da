"""The model sees its own run, on every wire, whatever the server counts.

Each case is a whole run on the dev server with the real worker (gateway, providers, packer, tools),
against a server that speaks the provider kind's real protocol, counts prompts with a real tokenizer
scaled by 0.5x to 4x, refuses what does not fit its window, and hosts a model that decides only from
the request it is sent. Every request is checked against the run's Temporal history: each earlier
decision and tool result exactly once, in order, unless a compaction recorded in history replaced it.
"""

from __future__ import annotations

import uuid

import pytest

from activities.gateway.breaker import BreakerRegistry
from tests.conformance import tools
from tests.conformance.history import snapshots, unmatched
from tests.conformance.model import decide, goal
from tests.conformance.server import ConformanceServer, is_decision
from tests.conformance.tools import EFFECTS, effects
from tests.gateway.test_runs_through_the_gateway import gateway_worker
from tests.conftest import wire_model, write_models_file
from worker.settings import DEFAULT_TOOL_MODULES
from workflows.agent_run import AgentRun
from workflows.contracts import Budgets, RunRequest, RunResult, RunStatus

ADDITIONS = 5
LEDGER_LINES = 16
PROVIDERS = ["openai", "vllm", "sglang", "llamacpp", "anthropic"]


def window_for(scale: float) -> int:
    """A window the run outgrows near its end at any scale: every case compacts at least once."""
    return round(3_600 * scale)


async def run_case(client, settings, tmp_path, provider: str, scale: float, *, local: bool = False,
                   stream: bool = False, count_body: bool = False, window: int | None = None):
    """One run through a conformance server; returns the result, the state, the server and the history's states."""
    EFFECTS["file"] = tmp_path / "effects.txt"
    settings = settings.model_copy(update={"tool_modules": [*DEFAULT_TOOL_MODULES, tools.__name__]})
    server = ConformanceServer(decide(ADDITIONS, LEDGER_LINES), provider, window or window_for(scale), scale, count_body)
    with server:
        entry = wire_model("m", server, provider=provider, context_window=server.window, max_output_tokens=256,
                           stream=stream, local_activity=local, timeout_s=30,
                           **({"schema_style": "json_object_schema"} if provider == "llamacpp" else {}),
                           **({"api_key_env": "CONFORMANCE_KEY"} if provider == "anthropic" else {}))
        models = write_models_file(tmp_path / "models.yaml", entry)
        async with gateway_worker(client, settings, models, BreakerRegistry()):
            handle = await client.start_workflow(
                AgentRun.run, RunRequest(goal=goal(ADDITIONS), max_output_tokens=256,
                                         budgets=Budgets(max_steps=3 * ADDITIONS, max_tokens=2_000_000)),
                id=f"conf-{provider}-{uuid.uuid4()}", task_queue=settings.task_queue, result_type=RunResult)
            result = await handle.result()
            state = await handle.query(AgentRun.state)
    states = await snapshots(client, handle)
    return result, state, server, states


def assert_the_run_saw_itself(result, state, server, states) -> None:
    total = ADDITIONS * (ADDITIONS + 1) // 2
    assert result.status == RunStatus.COMPLETED, result
    assert result.answer == f"The total is {total}.", result.answer
    assert effects() == [f"total={total}"], "the effect happened exactly once"
    requests = [body for body in server.requests if is_decision(body)]
    assert unmatched(requests, states) == [], "every request shows the run as its history recorded it"
    assert state.context is not None and state.context.sent_messages == state.context.transcript_messages


@pytest.fixture(autouse=True)
def _anthropic_key(monkeypatch):
    monkeypatch.setenv("CONFORMANCE_KEY", "test-key")


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.0, 4.0])
@pytest.mark.parametrize("stream", [False, True], ids=["whole", "stream"])
@pytest.mark.parametrize("local", [False, True], ids=["activity", "local"])
@pytest.mark.parametrize("provider", PROVIDERS)
async def test_every_request_carries_the_whole_run(dev_client, settings, tmp_path, provider, local, stream, scale):
    """Every provider kind, call mode and streaming mode, with servers counting 0.5x-4x: the run completes
    with one effect, and every request carries each earlier turn once, or its summary."""
    result, state, server, states = await run_case(dev_client, settings, tmp_path, provider, scale, local=local,
                                                   stream=stream)
    assert_the_run_saw_itself(result, state, server, states)
    assert any(entry.kind == "summary" for entry in states[-1]), "the window is small enough to need a compaction"
