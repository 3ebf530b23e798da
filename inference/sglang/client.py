"""Small OpenAI-compatible chat client for SGLang (and any server speaking the same API).

Retries are off (``max_retries=0``): Temporal's activity retry policy owns them, so a
failed call surfaces once as the SDK's typed error for the activity to classify. SGLang's
extensions travel in ``extra_body``: ``cache_salt`` keeps one tenant's prefixes out of
another's radix-cache matches, ``regex`` / ``response_format`` constrain decoding through
the grammar backend. With ``--enable-cache-report`` the usage carries
``prompt_tokens_details.cached_tokens``; when it is absent the server reused nothing we
know of, so it reads as 0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from openai import AsyncOpenAI

__all__ = ["ChatResult", "SGLangClient", "cached_tokens"]


def cached_tokens(usage: Any) -> int:
    """``usage.prompt_tokens_details.cached_tokens`` as an int; absent or None means 0."""
    details = getattr(usage, "prompt_tokens_details", None)
    if details is None and isinstance(usage, dict):
        details = usage.get("prompt_tokens_details")
    value = (
        details.get("cached_tokens") if isinstance(details, dict) else getattr(details, "cached_tokens", None)
    )
    return int(value or 0)


@dataclass(frozen=True)
class ChatResult:
    text: str
    finish_reason: str | None
    model: str
    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int
    tool_calls: tuple[dict[str, Any], ...] = ()


class SGLangClient:
    """Chat completions against ``base_url`` (the ``.../v1`` root)."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 120.0) -> None:
        self.model = model
        # SGLang without --api-key accepts any bearer token; the SDK insists on one.
        self._client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or "EMPTY", max_retries=0, timeout=timeout
        )

    async def chat(
        self,
        messages: list[dict[str, Any]],
        *,
        max_tokens: int,
        temperature: float = 0.0,
        cache_salt: str | None = None,
        regex: str | None = None,
        json_schema: dict[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
        extra_body: dict[str, Any] | None = None,
    ) -> ChatResult:
        """One non-streaming completion; SGLang extras are sent only when given."""
        if regex is not None and json_schema is not None:
            raise ValueError("pass either regex or json_schema, not both: one grammar per request")
        body: dict[str, Any] = dict(extra_body or {})
        if cache_salt is not None:
            body["cache_salt"] = cache_salt
        if regex is not None:
            body["regex"] = regex
        kwargs: dict[str, Any] = {}
        if json_schema is not None:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": json_schema},
            }
        if tools:
            kwargs["tools"] = tools
        resp = await self._client.chat.completions.create(
            model=self.model,
            messages=messages,
            max_tokens=max_tokens,
            temperature=temperature,
            extra_body=body or None,
            **kwargs,
        )
        choice = resp.choices[0]
        usage = resp.usage
        calls = tuple(c.model_dump() for c in (choice.message.tool_calls or ()))
        return ChatResult(
            text=choice.message.content or "",
            finish_reason=choice.finish_reason,
            model=resp.model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            cached_tokens=cached_tokens(usage),
            tool_calls=calls,
        )

    async def aclose(self) -> None:
        await self._client.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
