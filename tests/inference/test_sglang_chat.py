"""Chat with SGLang through the model gateway's provider: extras on the wire, cached tokens read back."""

from __future__ import annotations

import pytest

from activities.gateway.catalogue import ModelConfig
from activities.gateway.gateway import build_provider, tenant_cache_salt
from activities.providers.base import ChatRequest
from activities.providers.openai_compat import cached_tokens
from workflows.contracts import Message

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
MESSAGES = [Message(role="system", content="You are terse."), Message(role="user", content="Capital of France?")]


def sglang(base_url: str, model: str = MODEL):
    """The provider the gateway builds for a `provider: sglang` entry of the models file."""
    return build_provider(ModelConfig(name=model, provider="sglang", base_url=base_url, context_window=8192,
                                      max_output_tokens=64, data_classes=["confidential"]))


async def test_sends_sglang_extras_and_reads_cached_tokens(fake_sglang) -> None:
    """cache_salt and regex travel in the body; usage.prompt_tokens_details.cached_tokens is read back."""
    salt = tenant_cache_salt("tenant-42")
    reply = await sglang(fake_sglang.root + "/v1").chat(
        ChatRequest(model=MODEL, messages=MESSAGES, max_output_tokens=8, cache_salt=salt, regex=r"[A-Z][a-z]+"))
    body = fake_sglang.requests[-1]
    assert body["cache_salt"] == salt and body["regex"] == "[A-Z][a-z]+"
    assert body["model"] == MODEL and body["max_tokens"] == 8
    assert body["messages"] == [m.model_dump(include={"role", "content"}) for m in MESSAGES]
    assert reply.text == "Paris is the capital of France." and reply.finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens, reply.usage.cached_prompt_tokens) == (1530, 8, 1472)


async def test_json_schema_and_absent_cache_report(fake_sglang) -> None:
    """A JSON schema becomes response_format; a null prompt_tokens_details reads as 0 cached tokens."""
    fake_sglang.chat_fixture = "sglang_chat_completion_no_cache_report.json"
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    reply = await sglang(fake_sglang.root + "/v1").chat(
        ChatRequest(model=MODEL, messages=MESSAGES, max_output_tokens=16, json_schema=schema))
    with pytest.raises(ValueError, match="not both"):
        ChatRequest(model=MODEL, messages=MESSAGES, max_output_tokens=16, json_schema=schema, regex="x")
    body = fake_sglang.requests[-1]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == schema
    assert "cache_salt" not in body and "regex" not in body
    assert reply.usage.cached_prompt_tokens == 0 and reply.text == '{"city": "Paris"}'
    assert len(fake_sglang.requests) == 1


def test_cached_tokens_accepts_objects_dicts_and_absence() -> None:
    """cached_tokens reads SDK objects or plain dicts, and treats missing or None as 0."""
    assert cached_tokens({"prompt_tokens_details": {"cached_tokens": 5}}) == 5
    assert cached_tokens({"prompt_tokens_details": None}) == 0
    assert cached_tokens({}) == 0
    assert cached_tokens(None) == 0


async def test_sglang_provider_against_the_llama_cpp_server(llama_server) -> None:
    """The same provider, with its SGLang extras, gets text and usage from a real OpenAI-compatible server."""
    reply = await sglang(llama_server.base_url, model=llama_server.model).chat(
        ChatRequest(model=llama_server.model, messages=[Message(role="user", content="Say hello.")],
                    max_output_tokens=8, cache_salt=tenant_cache_salt("acme")))
    assert reply.text.strip()
    assert reply.usage.prompt_tokens > 0 and 0 < reply.usage.completion_tokens <= 8
    assert reply.usage.cached_prompt_tokens >= 0
