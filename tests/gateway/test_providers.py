"""Providers through the real openai and anthropic SDKs against a local server on the real wire."""

from __future__ import annotations

import json
import os

import pytest

from activities.decision import decision_schema, render_prompt
from activities.gateway.breaker import BreakerRegistry
from activities.gateway.catalogue import load_models_file
from activities.gateway.gateway import Gateway, tenant_cache_salt
from activities.providers.anthropic_messages import AnthropicProvider
from activities.providers.base import ChatRequest, ProviderError
from activities.providers.openai_compat import OpenAICompatibleProvider
from tests.conftest import registry_with, wire_model, write_models_file
from tests.wire_server import Fault, Hang, Malformed, ModelWireServer, Truncated, final_answer
from workflows.contracts import Message

TOOLS = registry_with().specs()
MESSAGES = [Message(role="system", content="You are careful."), Message(role="user", content="Goal: say hi")]
ANSWER = json.dumps({"action": "final_answer", "answer": "hi"})


def request(**fields) -> ChatRequest:
    base = dict(model="m", messages=render_prompt(MESSAGES, TOOLS), max_output_tokens=64,
                json_schema=decision_schema(TOOLS), tools=TOOLS)
    return ChatRequest(**{**base, **fields})


async def test_streaming_reports_progress_usage_and_cached_tokens():
    """A streamed reply reports tokens so far as it goes; the second identical prompt hits the cache."""
    progress: list[int] = []
    with ModelWireServer(final_answer("hi")) as server:
        provider = OpenAICompatibleProvider(base_url=server.base_url, stream=True)
        first = await provider.chat(request(on_progress=progress.append))
        second = await provider.chat(request())
    assert json.loads(first.text) == {"action": "final_answer", "answer": "hi"} and first.finish_reason == "stop"
    assert progress == list(range(1, len(progress) + 1)) and len(progress) > 1
    assert first.usage.cached_prompt_tokens == 0 and second.usage.cached_prompt_tokens == second.usage.prompt_tokens


@pytest.mark.parametrize(
    ("reply", "stream", "kind"),
    [
        (Truncated(ANSWER[:20]), True, "truncated_stream"),
        (Malformed(), False, "malformed_reply"),
        (Hang(), False, "timeout"),
        (Fault(400, "This model's maximum context length is 4096 tokens"), False, "context_length_exceeded"),
        (Fault(403, "forbidden"), False, "permission"),
    ],
)
async def test_faults_are_classified(reply, stream, kind):
    """Each injected fault becomes the kind the workflow acts on."""
    with ModelWireServer(lambda body: reply) as server:
        provider = OpenAICompatibleProvider(base_url=server.base_url, stream=stream, timeout_s=1)
        with pytest.raises(ProviderError) as error:
            await provider.chat(request())
    assert error.value.kind == kind
    assert error.value.retryable == (kind in {"truncated_stream", "malformed_reply", "timeout"})


async def test_sglang_gets_a_per_tenant_cache_salt_and_regex():
    """SGLang requests carry the tenant's cache salt and constrained-decoding extras in the body."""
    with ModelWireServer(final_answer("hi")) as server:
        provider = OpenAICompatibleProvider(base_url=server.base_url, send_cache_salt=True)
        await provider.chat(request(cache_salt=tenant_cache_salt("acme"), regex="[a-z]+", json_schema=None))
        await provider.chat(request(cache_salt=tenant_cache_salt("globex")))
    salts = [r["cache_salt"] for r in server.requests]
    assert salts[0] != salts[1] and "acme" not in salts[0] and server.requests[0]["regex"] == "[a-z]+"


async def test_anthropic_decides_by_tool_use_with_a_cached_prefix():
    """Anthropic gets every tool plus final_answer/ask_human, cache_control on the prefix, and cache usage back."""
    with ModelWireServer(final_answer("hi")) as server:
        provider = AnthropicProvider(base_url=server.root_url, api_key="k")
        messages = render_prompt(MESSAGES, TOOLS, native_tools=True)
        first = await provider.chat(request(messages=messages, json_schema=None))
        second = await provider.chat(request(messages=messages, json_schema=None))
    sent = server.of("anthropic")[0]
    assert [t["name"] for t in sent["tools"]][-2:] == ["final_answer", "ask_human"]
    assert sent["tools"][-1]["cache_control"] == {"type": "ephemeral"}
    assert sent["system"][-1]["cache_control"] == {"type": "ephemeral"} and sent["tool_choice"] == {"type": "any"}
    assert first.tool_call.tool == "final_answer" and first.tool_call.arguments == {"answer": "hi"}
    assert first.usage.cache_write_tokens > 0 and first.usage.cached_prompt_tokens == 0
    assert second.usage.cached_prompt_tokens == first.usage.cache_write_tokens
    assert second.usage.prompt_tokens == first.usage.prompt_tokens


async def test_anthropic_streams_tool_input_with_progress_and_the_same_decision_and_usage():
    """Streamed, the tool_use input arrives as JSON deltas, each one a progress report; the decision
    and the usage (cache reads and writes included) equal the unstreamed call's."""
    progress: list[int] = []
    messages = render_prompt(MESSAGES, TOOLS, native_tools=True)
    with ModelWireServer(final_answer("hi there")) as server:
        whole = await AnthropicProvider(base_url=server.root_url, api_key="k").chat(
            request(messages=messages, json_schema=None))
    with ModelWireServer(final_answer("hi there")) as server:
        streamed = await AnthropicProvider(base_url=server.root_url, api_key="k", stream=True).chat(
            request(messages=messages, json_schema=None, on_progress=progress.append))
    assert server.of("anthropic")[0]["stream"] is True
    assert streamed.tool_call == whole.tool_call and streamed.tool_call.arguments == {"answer": "hi there"}
    assert streamed.usage == whole.usage and streamed.usage.cache_write_tokens > 0
    assert streamed.finish_reason == "tool_use"
    assert progress == list(range(1, len(progress) + 1)) and len(progress) > 1


async def test_anthropic_stream_cut_off_is_a_retryable_truncated_stream():
    """A stream that stops before its stop reason is never taken as a decision from half a tool input."""
    with ModelWireServer(lambda body: Truncated(json.dumps({"action": "final_answer", "answer": "x" * 80}))) as server:
        provider = AnthropicProvider(base_url=server.root_url, api_key="k", stream=True, timeout_s=5)
        with pytest.raises(ProviderError) as error:
            await provider.chat(request(messages=render_prompt(MESSAGES, TOOLS, native_tools=True), json_schema=None))
    assert error.value.kind == "truncated_stream" and error.value.retryable


async def test_gateway_prices_calls_and_fails_fast_when_the_circuit_is_open(tmp_path):
    """Cost comes from the price table; once most calls in the window failed the next is refused without I/O."""
    replies = iter([ANSWER, Fault(503, "down"), Fault(503, "down")])
    with ModelWireServer(lambda body: next(replies)) as server:
        entry = wire_model("m", server, price_per_mtok={"input": 2.0, "cached_input": 1.0, "output": 10.0})
        gateway = Gateway(load_models_file(write_models_file(tmp_path / "m.yaml", entry), os.environ), BreakerRegistry(min_calls=3, cooldown_s=60))
        ok = await gateway.chat("m", request())
        for _ in range(2):
            with pytest.raises(ProviderError, match="503"):
                await gateway.chat("m", request())
        with pytest.raises(ProviderError) as refused:
            await gateway.chat("m", request())
    u = ok.usage
    assert u.cost_usd == pytest.approx(((u.prompt_tokens - u.cached_prompt_tokens) * 2 + u.cached_prompt_tokens
                                        + u.completion_tokens * 10) / 1e6)
    assert refused.value.kind == "circuit_open" and not refused.value.retryable and len(server.requests) == 3
