"""Anthropic's Messages API: decisions through native tool use, the stable prefix cached.

Every run tool becomes an Anthropic tool, plus two decision tools (`final_answer`, `ask_human`), and
`tool_choice: any` makes the model pick exactly one. `cache_control` marks the end of the tool list and
of the system prompt: Anthropic caches that prefix, so later steps of a run pay the cached-input price
for it. Cache reads and writes come back in usage.
"""

from __future__ import annotations

import time
from typing import Any

import anthropic
import httpx
from anthropic.types import Message as AnthropicMessage

from activities.providers.base import ChatRequest, ChatResponse, ProviderError, classify_status, error_message
from workflows.contracts import Message, ProposedToolCall, ToolSpec, Usage

DECISION_TOOLS = [
    {"name": "final_answer", "description": "Give the final answer to the user and end the run.",
     "input_schema": {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}},
    {"name": "ask_human", "description": "Ask the person a question and wait for the reply.",
     "input_schema": {"type": "object", "properties": {"question": {"type": "string"}}, "required": ["question"]}},
]
_EPHEMERAL = {"type": "ephemeral"}


def anthropic_tools(tools: list[ToolSpec]) -> list[dict[str, Any]]:
    defs = [
        {"name": t.name, "description": t.description,
         "input_schema": {k: v for k, v in t.parameters.items() if k in ("type", "properties", "required")}}
        for t in sorted(tools, key=lambda t: t.name)
    ] + [dict(d) for d in DECISION_TOOLS]
    defs[-1] = {**defs[-1], "cache_control": _EPHEMERAL}
    return defs


def anthropic_messages(messages: list[Message]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """System blocks and alternating turns: the API refuses two turns of the same role in a row."""
    system: list[dict[str, Any]] = [{"type": "text", "text": m.content} for m in messages if m.role == "system"]
    if system:
        system[-1]["cache_control"] = _EPHEMERAL
    turns: list[dict[str, Any]] = []
    for m in messages:
        if m.role == "system":
            continue
        role = "assistant" if m.role == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"] += "\n\n" + m.content
        else:
            turns.append({"role": role, "content": m.content})
    if not turns or turns[0]["role"] != "user":
        turns.insert(0, {"role": "user", "content": "(start)"})
    return system, turns


class AnthropicProvider:
    def __init__(self, *, base_url: str | None, api_key: str | None, name: str = "anthropic",
                 timeout_s: float = 120.0, stream: bool = False) -> None:
        self.name = name
        self.stream = stream
        self._client = anthropic.AsyncAnthropic(
            base_url=base_url, api_key=api_key or "not-set", max_retries=0, timeout=timeout_s
        )

    async def chat(self, request: ChatRequest) -> ChatResponse:
        system, turns = anthropic_messages(request.messages)
        arguments: dict[str, Any] = {"model": request.model, "max_tokens": request.max_output_tokens,
                                     "system": system, "messages": turns}
        if not request.plain_text:
            arguments.update(tools=anthropic_tools(request.tools), tool_choice={"type": "any"})
        started = time.perf_counter()
        try:
            if self.stream:
                reply = await self._streamed(arguments, request)
            else:
                reply = await self._client.messages.create(**arguments)
        except anthropic.APIStatusError as e:
            raise classify_status(e.status_code, error_message(e.status_code, e.body, e.message),
                                  e.response.headers.get("retry-after"), e.body) from e
        except anthropic.APITimeoutError as e:
            raise ProviderError(f"{self.name}: request timed out", kind="timeout") from e
        except anthropic.APIConnectionError as e:
            if self.stream:
                raise ProviderError(f"{self.name}: truncated stream: {e.__cause__ or e}", kind="truncated_stream") from e
            raise ProviderError(f"{self.name}: cannot connect: {e.__cause__ or e}", kind="connection") from e
        except httpx.TransportError as e:
            # A connection lost mid-stream surfaces from httpx itself, not wrapped by the SDK.
            raise ProviderError(f"{self.name}: truncated stream: {e}", kind="truncated_stream") from e
        except (anthropic.APIResponseValidationError, ValueError) as e:
            raise ProviderError(f"{self.name}: unreadable reply: {e}", kind="malformed_reply") from e
        if reply.stop_reason == "refusal":
            raise ProviderError(f"{self.name} refused to answer", kind="refusal", retryable=False)
        text = "".join(b.text for b in reply.content if b.type == "text")
        call = next((ProposedToolCall(tool=b.name, arguments=dict(b.input)) for b in reply.content
                     if b.type == "tool_use"), None)
        u = reply.usage
        usage = Usage(
            # Anthropic counts cached and cache-written tokens apart from input_tokens; our prompt
            # tokens are all of them, so cost and budgets see the whole prompt.
            prompt_tokens=u.input_tokens + (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0),
            completion_tokens=u.output_tokens,
            cached_prompt_tokens=u.cache_read_input_tokens or 0,
            cache_write_tokens=u.cache_creation_input_tokens or 0,
        )
        return ChatResponse(text=text, usage=usage, model=reply.model, provider=self.name,
                            finish_reason=reply.stop_reason, latency_ms=(time.perf_counter() - started) * 1000,
                            tool_call=call)

    async def _streamed(self, arguments: dict[str, Any], request: ChatRequest) -> AnthropicMessage:
        """Stream the reply, reporting each content delta as progress and its text (a text block's, or a
        tool_use block's input JSON: the decision being written); the SDK assembles the message."""
        deltas = 0
        async with self._client.messages.stream(**arguments) as stream:
            async for event in stream:
                if event.type == "content_block_delta":
                    deltas += 1
                    if request.on_progress:
                        request.on_progress(deltas)
                    if request.on_text and (piece := _delta_text(event.delta)):
                        request.on_text(piece)
            reply = await stream.get_final_message()
        if reply.stop_reason is None:
            # The server closed the stream before message_delta: the tool input may be cut anywhere.
            raise ProviderError(f"{self.name}: stream ended after {deltas} deltas without a stop reason",
                                kind="truncated_stream")
        return reply


def _delta_text(delta: Any) -> str:
    """A content delta's text: `text_delta` and `input_json_delta` carry the reply; others (thinking,
    signatures, citations) are not part of it."""
    if delta.type == "text_delta":
        return delta.text
    if delta.type == "input_json_delta":
        return delta.partial_json
    return ""
