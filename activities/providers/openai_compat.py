"""Chat completions over the OpenAI wire protocol: OpenAI itself, SGLang, vLLM and llama.cpp.

For SGLang (`send_cache_salt`) the body also carries `cache_salt`, which keeps one tenant's prefixes
out of another's radix-cache matches, and `regex` for grammar-constrained decoding. Cached prompt
tokens come back in `usage.prompt_tokens_details.cached_tokens` (SGLang only with
`--enable-cache-report`).
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

import openai
from openai import AsyncStream
from openai._base_client import make_request_options
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from activities.providers.base import ChatRequest, ChatResponse, ProviderError, classify_status, error_message
from workflows.contracts import Message, Usage

# How a server takes a JSON schema: OpenAI, SGLang and vLLM use `json_schema`; llama-cpp-python's
# server only accepts a schema inside `json_object`.
SchemaStyle = Literal["json_schema", "json_object_schema"]


class OpenAICompatibleProvider:
    def __init__(
        self,
        *,
        base_url: str | None,
        api_key: str | None = None,
        name: str = "openai_compatible",
        schema_style: SchemaStyle = "json_schema",
        timeout_s: float = 120.0,
        stream: bool = False,
        send_cache_salt: bool = False,
    ) -> None:
        self.name = name
        self.schema_style = schema_style
        self.stream = stream
        self.send_cache_salt = send_cache_salt
        # Temporal owns retries: the SDK's own would hide failures from history and double the wait.
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key or "not-needed", max_retries=0, timeout=timeout_s
        )

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.schema_style == "json_object_schema":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": "decision", "schema": schema, "strict": False}}

    def _body(self, request: ChatRequest, stream: bool = False) -> bytes:
        """The request body as JSON bytes, built without the SDK's `create`: that walks every message
        through its type transform and then serializes the whole prompt again, which at a few hundred
        messages was most of the worker's CPU per step. Here each message is encoded once per call
        and the pieces are joined."""
        rest: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_output_tokens,
            "temperature": request.temperature,
        }
        if request.json_schema is not None:
            rest["response_format"] = self._response_format(request.json_schema)
        if self.send_cache_salt and request.cache_salt:
            rest["cache_salt"] = request.cache_salt
        if request.regex:
            rest["regex"] = request.regex
        if stream:
            rest["stream"] = True
            rest["stream_options"] = {"include_usage": True}
        # One copy of the whole prompt: the opening and the rest of the body join the messages' list.
        parts = [_serialized(m) for m in request.messages] or [b""]
        parts[0] = b'{"messages":[' + parts[0]
        parts[-1] = parts[-1] + b"]," + _json(rest)[1:]
        return b",".join(parts)

    async def _post(self, request: ChatRequest, stream: bool) -> Any:
        # The SDK's own POST (auth, headers, timeout, error types, reply parsing), without the transform.
        return await self._client.post(
            "/chat/completions", content=self._body(request, stream), cast_to=ChatCompletion,
            options=make_request_options(security={"bearer_auth": True}),
            stream=stream, stream_cls=AsyncStream[ChatCompletionChunk])

    async def chat(self, request: ChatRequest) -> ChatResponse:
        started = time.perf_counter()
        try:
            if self.stream:
                text, finish, usage, model = await self._streamed(request)
            else:
                text, finish, usage, model = await self._whole(request)
        except openai.APIStatusError as e:
            raise classify_status(e.status_code, error_message(e.status_code, e.body, e.message),
                                  e.response.headers.get("retry-after"), e.body) from e
        except openai.APITimeoutError as e:
            raise ProviderError(f"{self.name}: request timed out", kind="timeout") from e
        except openai.APIConnectionError as e:
            kind = "truncated_stream" if self.stream else "connection"
            raise ProviderError(f"{self.name}: {kind.replace('_', ' ')}: {e.__cause__ or e}", kind=kind) from e
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError) as e:
            raise ProviderError(f"{self.name}: unreadable reply: {e}", kind="malformed_reply") from e
        if finish == "content_filter":
            raise ProviderError(f"{self.name}: the reply was blocked by a content filter", kind="content_filter",
                                retryable=False)
        return ChatResponse(text=text, usage=usage, model=model or request.model, provider=self.name,
                            finish_reason=finish, latency_ms=(time.perf_counter() - started) * 1000)

    async def _whole(self, request: ChatRequest) -> tuple[str, str | None, Usage, str | None]:
        completion = await self._post(request, stream=False)
        if not completion.choices:
            raise ProviderError(f"{self.name}: reply has no choices", kind="malformed_reply")
        choice = completion.choices[0]
        refusal = getattr(choice.message, "refusal", None)
        if refusal:
            raise ProviderError(f"{self.name} refused: {refusal}", kind="refusal", retryable=False)
        return choice.message.content or "", choice.finish_reason, _usage(completion.usage), completion.model

    async def _streamed(self, request: ChatRequest) -> tuple[str, str | None, Usage, str | None]:
        stream = await self._post(request, stream=True)
        parts: list[str] = []
        finish: str | None = None
        usage: Usage | None = None
        model: str | None = None
        chunks = 0
        async for chunk in stream:
            model = chunk.model or model
            if chunk.usage is not None:
                usage = _usage(chunk.usage)
            for choice in chunk.choices:
                if choice.delta and choice.delta.content:
                    parts.append(choice.delta.content)
                    chunks += 1
                    if request.on_progress:
                        request.on_progress(chunks)
                    if request.on_text:
                        request.on_text(choice.delta.content)
                if getattr(choice.delta, "refusal", None):
                    raise ProviderError(f"{self.name} refused: {choice.delta.refusal}", kind="refusal", retryable=False)
                finish = choice.finish_reason or finish
        if finish is None:
            # The server closed the stream before saying it was done: the text may be cut anywhere.
            raise ProviderError(f"{self.name}: stream ended after {chunks} chunks without a finish reason",
                                kind="truncated_stream")
        return "".join(parts), finish, usage or Usage(completion_tokens=chunks), model


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    return Usage(
        prompt_tokens=usage.prompt_tokens or 0,
        completion_tokens=usage.completion_tokens or 0,
        cached_prompt_tokens=cached_tokens(usage),
    )


def cached_tokens(usage: Any) -> int:
    """``usage.prompt_tokens_details.cached_tokens`` as an int, from an SDK object or a dict.

    Absent or None means 0: the server reused nothing it reports (SGLang without
    ``--enable-cache-report`` sends no details at all).
    """
    details = getattr(usage, "prompt_tokens_details", None)
    if details is None and isinstance(usage, dict):
        details = usage.get("prompt_tokens_details")
    value = details.get("cached_tokens") if isinstance(details, dict) else getattr(details, "cached_tokens", None)
    return int(value or 0)


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _serialized(message: Message) -> bytes:
    return _json({"role": message.role, "content": message.content})
