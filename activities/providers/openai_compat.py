"""Chat completions over the OpenAI wire protocol: OpenAI itself, llama.cpp, SGLang, vLLM."""

from __future__ import annotations

import time
from typing import Any, Literal

import openai

from activities.providers.base import ChatRequest, ChatResponse, ProviderError
from workflows.contracts import Usage

# How a server takes a JSON schema: OpenAI, SGLang and vLLM use `json_schema`; llama-cpp-python's
# server only accepts a schema inside `json_object`.
SchemaStyle = Literal["json_schema", "json_object_schema"]


class OpenAICompatibleProvider:
    def __init__(
        self,
        *,
        base_url: str,
        api_key: str = "not-needed",
        name: str = "openai_compatible",
        schema_style: SchemaStyle = "json_schema",
        timeout_s: float = 120.0,
    ) -> None:
        self.name = name
        self.schema_style = schema_style
        # Temporal owns retries: the SDK's own would hide failures from history and double the wait.
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_s
        )

    def _response_format(self, schema: dict[str, Any]) -> dict[str, Any]:
        if self.schema_style == "json_object_schema":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_schema", "json_schema": {"name": "decision", "schema": schema, "strict": False}}

    async def chat(self, request: ChatRequest) -> ChatResponse:
        kwargs: dict[str, Any] = {}
        if request.json_schema is not None:
            kwargs["response_format"] = self._response_format(request.json_schema)
        started = time.perf_counter()
        try:
            completion = await self._client.chat.completions.create(
                model=request.model,
                messages=[m.model_dump(exclude_none=True, exclude={"tool_call_id", "name"}) for m in request.messages],
                max_tokens=request.max_output_tokens,
                temperature=request.temperature,
                **kwargs,
            )
        except openai.APIStatusError as e:
            raise classify_status(e.status_code, _message_of(e), e.response.headers.get("retry-after")) from e
        except openai.APITimeoutError as e:
            raise ProviderError(f"{self.name}: request timed out", kind="timeout", retryable=True) from e
        except openai.APIConnectionError as e:
            raise ProviderError(f"{self.name}: cannot connect: {e}", kind="connection", retryable=True) from e
        latency_ms = (time.perf_counter() - started) * 1000
        if not completion.choices:
            raise ProviderError(f"{self.name}: reply has no choices", kind="malformed_reply", retryable=True)
        choice = completion.choices[0]
        usage = completion.usage
        details = getattr(usage, "prompt_tokens_details", None) if usage else None
        return ChatResponse(
            text=choice.message.content or "",
            usage=Usage(
                prompt_tokens=usage.prompt_tokens if usage else 0,
                completion_tokens=usage.completion_tokens if usage else 0,
                # Absent means the server reported no cache hit.
                cached_prompt_tokens=(getattr(details, "cached_tokens", None) or 0) if details else 0,
            ),
            model=completion.model or request.model,
            provider=self.name,
            finish_reason=choice.finish_reason,
            latency_ms=latency_ms,
        )


def classify_status(status: int, message: str, retry_after: str | None) -> ProviderError:
    """408/409/429/5xx are transient; every other 4xx is the request's fault and is final."""
    delay = _seconds(retry_after)
    if status == 429:
        return ProviderError(message, kind="rate_limited", retryable=True, status_code=status, retry_after_s=delay)
    if status in (408, 409) or status >= 500:
        return ProviderError(message, kind="unavailable", retryable=True, status_code=status, retry_after_s=delay)
    kind = {401: "authentication", 403: "permission", 404: "not_found"}.get(status, "invalid_request")
    return ProviderError(message, kind=kind, retryable=False, status_code=status)


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: let the retry policy's backoff decide


def _message_of(e: openai.APIStatusError) -> str:
    body = e.body if isinstance(e.body, dict) else {}
    detail = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(detail, dict):
        detail = detail.get("message", detail)
    return f"HTTP {e.status_code}: {detail or e.message}"
