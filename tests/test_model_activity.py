"""The model activity over the real OpenAI wire protocol: decisions, repair, error classification."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway
from activities.model import ModelActivities
from tests.conftest import registry_with, wire_model, write_models_file
from tests.wire_server import Fault, ModelWireServer
from workflows.contracts import DecideInput, Message

TOOLS = registry_with().specs()


def decide_input(model: str = "m") -> DecideInput:
    return DecideInput(messages=[Message(role="system", content="s"), Message(role="user", content="Goal: g")],
                       tools=TOOLS, model=model)


def activities_for(path, *models: dict) -> ModelActivities:
    return ModelActivities(Gateway(load_models_file(write_models_file(path, *models), os.environ), BreakerRegistry()))


@pytest.fixture
def decide(tmp_path):
    async def run(respond) -> tuple:
        with ModelWireServer(respond) as server:
            activities = activities_for(tmp_path / "models.yaml", wire_model("m", server))
            try:
                return await ActivityEnvironment().run(activities.decide, decide_input()), server.requests
            except ApplicationError as e:
                return e, server.requests

    return run


async def test_decision_is_constrained_by_a_schema_with_every_tool(decide):
    """The request carries a json_schema response format with one branch per tool and the catalogue."""
    result, requests = await decide(lambda body: json.dumps({"action": "final_answer", "answer": "hi"}))
    assert result.decision.kind == "final_answer" and result.decision.answer == "hi"
    schema = requests[0]["response_format"]["json_schema"]["schema"]
    tools_in_schema = {b["properties"]["tool"]["const"] for b in schema["anyOf"] if "tool" in b["properties"]}
    assert tools_in_schema == {t.name for t in TOOLS}
    assert "calculator (risk 0)" in requests[0]["messages"][0]["content"]
    assert result.usage.prompt_tokens > 0
    assert result.finish_reason == "stop"  # the provider's own, for the GenAI span's finish_reasons


async def test_malformed_reply_is_repaired_within_the_bound(decide):
    """One invalid reply gets a repair prompt naming the problem; the valid retry is used."""
    replies = iter(["not json", json.dumps({"action": "final_answer", "answer": "fixed"})])
    result, requests = await decide(lambda body: next(replies))
    assert result.decision.answer == "fixed" and result.repair_attempts == 1
    assert "That reply was invalid: reply is not JSON" in requests[1]["messages"][-1]["content"]


async def test_persistently_malformed_replies_fail_non_retryably(decide):
    """After the repair budget the activity fails with MalformedDecision, which is not retried."""
    error, requests = await decide(lambda body: '{"action": "dance"}')
    assert isinstance(error, ApplicationError) and error.type == "MalformedDecision" and error.non_retryable
    assert len(requests) == 3 and '"action" must be one of' in str(error)


async def test_rate_limit_is_retryable_after_the_servers_delay(decide):
    """A 429 becomes a retryable error whose next retry waits Retry-After seconds."""
    error, _ = await decide(lambda body: Fault(429, "slow down", {"retry-after": "7"}))
    assert error.type == "Provider.rate_limited" and not error.non_retryable
    assert error.next_retry_delay == timedelta(seconds=7)


async def test_bad_key_fails_at_once_with_the_providers_message(decide):
    """A 401 is final and carries the provider's own message."""
    error, requests = await decide(lambda body: Fault(401, "Incorrect API key provided"))
    assert error.type == "Provider.authentication" and error.non_retryable
    assert "Incorrect API key provided" in str(error) and len(requests) == 1


@pytest.mark.parametrize("status", [500, 503])
async def test_server_errors_are_retryable(decide, status):
    """5xx is transient."""
    error, _ = await decide(lambda body: Fault(status, "boom"))
    assert error.type == "Provider.unavailable" and not error.non_retryable


async def test_unreachable_server_is_a_retryable_connection_error(tmp_path):
    """Nothing listening is a connection error Temporal retries with backoff."""
    entry = {"name": "m", "provider": "vllm", "base_url": "http://127.0.0.1:9/v1", "context_window": 8192,
             "max_output_tokens": 256, "data_classes": ["internal"]}
    activities = activities_for(tmp_path / "models.yaml", entry)
    with pytest.raises(ApplicationError) as error:
        await ActivityEnvironment().run(activities.decide, decide_input())
    assert error.value.type == "Provider.connection" and not error.value.non_retryable
