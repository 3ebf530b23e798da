"""The model sees its own run, on every wire, whatever the server counts.

Each case is a whole run on the dev server with the real worker (gateway, providers, packer, tools),
against a server that speaks the provider kind's real protocol, counts prompts with a real tokenizer
scaled by 0.5x to 4x, refuses what does not fit its window, and hosts a model that decides only from
the request it is sent. Every request is checked against the run's Temporal history: each earlier
decision and tool result exactly once, in order, unless a compaction recorded in history replaced it.
"""

from __future__ import annotations

import pytest

from activities.gateway.breaker import BreakerRegistry
from tests.conformance.runs import Case, check_run, models_file, server_for, start, with_tools
from tests.gateway.test_runs_through_the_gateway import gateway_worker

PROVIDERS = ["openai", "vllm", "sglang", "llamacpp", "anthropic"]


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
    case = Case(provider=provider, scale=scale, local=local, stream=stream)
    settings = with_tools(settings, tmp_path)
    with server_for(case) as server:
        async with gateway_worker(dev_client, settings, models_file(tmp_path, server, case), BreakerRegistry()):
            handle = await start(dev_client, settings, case)
            states = await check_run(dev_client, handle, server, case)
    assert any(entry.kind == "summary" for entry in states[-1]), "the window is small enough to need a compaction"


@pytest.mark.parametrize("window", [None, 16_384], ids=["tight", "roomy"])
@pytest.mark.parametrize("provider", ["openai", "vllm", "sglang", "llamacpp"])
async def test_a_server_counting_a_quarter_of_the_body(dev_client, settings, tmp_path, provider, window):
    """A server that counts a quarter of the request body's bytes (the schema and the JSON escaping
    included: about 2-3x the messages) is calibrated like any other: with a roomy window the model sees
    every turn on every step (it used to be sent only the system prompt, the goal and the newest turn,
    and answered 3 instead of 15), with a tight one the run compacts and completes (it used to fail
    at step 2: "P0 needs 15599 tokens")."""
    case = Case(provider=provider, count_body=True, window=window)
    settings = with_tools(settings, tmp_path)
    with server_for(case) as server:
        async with gateway_worker(dev_client, settings, models_file(tmp_path, server, case), BreakerRegistry()):
            handle = await start(dev_client, settings, case)
            await check_run(dev_client, handle, server, case)
