"""The OpenAI-compatible client: SGLang extras on the wire, cached tokens read back."""

from __future__ import annotations

import pytest

from inference.sglang import SGLangClient, cached_tokens

MODEL = "meta-llama/Llama-3.1-8B-Instruct"
MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Capital of France?"},
]


async def test_sends_sglang_extras_and_reads_cached_tokens(fake_sglang) -> None:
    """cache_salt and regex travel in the body; usage.prompt_tokens_details.cached_tokens is read back."""
    async with SGLangClient(fake_sglang.root + "/v1", model=MODEL) as client:
        result = await client.chat(MESSAGES, max_tokens=8, cache_salt="tenant-42", regex=r"[A-Z][a-z]+")
    body = fake_sglang.requests[-1]
    assert body["cache_salt"] == "tenant-42" and body["regex"] == "[A-Z][a-z]+"
    assert body["model"] == MODEL and body["max_tokens"] == 8 and body["messages"] == MESSAGES
    assert result.text == "Paris is the capital of France." and result.finish_reason == "stop"
    assert (result.prompt_tokens, result.completion_tokens, result.cached_tokens) == (1530, 8, 1472)


async def test_json_schema_and_absent_cache_report(fake_sglang) -> None:
    """A JSON schema becomes response_format; a null prompt_tokens_details reads as 0 cached tokens."""
    fake_sglang.chat_fixture = "sglang_chat_completion_no_cache_report.json"
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    async with SGLangClient(fake_sglang.root + "/v1", model=MODEL) as client:
        result = await client.chat(MESSAGES, max_tokens=16, json_schema=schema)
        with pytest.raises(ValueError, match="not both"):
            await client.chat(MESSAGES, max_tokens=16, json_schema=schema, regex="x")
    body = fake_sglang.requests[-1]
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "output", "schema": schema},
    }
    assert "cache_salt" not in body and "regex" not in body
    assert result.cached_tokens == 0 and result.text == '{"city": "Paris"}'
    assert len(fake_sglang.requests) == 1  # the rejected call never reached the server


def test_cached_tokens_accepts_objects_dicts_and_absence() -> None:
    """cached_tokens reads SDK objects or plain dicts, and treats missing or None as 0."""
    assert cached_tokens({"prompt_tokens_details": {"cached_tokens": 5}}) == 5
    assert cached_tokens({"prompt_tokens_details": None}) == 0
    assert cached_tokens({}) == 0
    assert cached_tokens(None) == 0


async def test_chat_against_llama_cpp_server(llama_server) -> None:
    """One short completion from the real llama.cpp OpenAI-compatible server returns text and usage."""
    async with SGLangClient(llama_server.base_url, model=llama_server.model) as client:
        result = await client.chat([{"role": "user", "content": "Say hello."}], max_tokens=8)
    assert result.text.strip()
    assert result.prompt_tokens > 0 and 0 < result.completion_tokens <= 8
    assert isinstance(result.cached_tokens, int) and result.cached_tokens >= 0
