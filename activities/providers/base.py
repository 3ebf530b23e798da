"""The provider interface every model backend implements, and its normalized errors.

Providers only speak their wire protocol: they never retry (Temporal does), never decide what a reply
means (activities/decision.py does), and never route (the workflow does). They classify failures once,
here, into kinds the rest of the system acts on.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from activities.providers.control_tokens import neutralise_messages
from workflows.contracts import Message, ProposedToolCall, ToolSpec, Usage

# Kinds Temporal retries on the same provider (with backoff; 429 after Retry-After).
RETRYABLE_KINDS = {"rate_limited", "unavailable", "timeout", "connection", "malformed_reply", "truncated_stream"}
# Kinds that say the endpoint is unhealthy: they count towards its circuit breaker.
OUTAGE_KINDS = RETRYABLE_KINDS
_CONTEXT_LENGTH = re.compile(
    r"context[_ ]length|context window|maximum context|prompt is too long|too many tokens|exceeds? the (max|limit)"
    r"|context size",
    re.IGNORECASE,
)
# How servers say how long a refused prompt was, in their own tokens (each seen in their sources):
_PROMPT_TOKENS = [re.compile(p, re.IGNORECASE) for p in (
    r"(\d+) in the messages",  # vLLM, OpenAI: "you requested 9000 tokens (8488 in the messages, 512 in the completion)"
    r"your messages resulted in (\d+) tokens",  # OpenAI
    r"your request has (\d+) input tokens",  # vLLM
    r"(\d+) tokens from the input messages",  # SGLang
    r"the input \((\d+) tokens\)",  # SGLang
    r"requested tokens \((\d+)\)",  # llama-cpp-python's server
    r"prompt is too long: (\d+) tokens",  # Anthropic
)]


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[Message]
    max_output_tokens: int
    json_schema: dict[str, Any] | None = None  # constrain the reply to this schema where supported
    tools: list[ToolSpec] = field(default_factory=list)  # for providers that decide through native tool use
    temperature: float = 0.0
    cache_salt: str | None = None  # isolates a tenant's prefix cache on servers that support it (SGLang)
    regex: str | None = None  # regex-constrained decoding (SGLang)
    on_progress: Callable[[int], None] | None = None  # called with tokens generated so far while streaming
    # Called with each piece of the reply while streaming, as the server sent it (Anthropic: the tool
    # input's JSON); the caller publishes it (activities/token_stream.py). It must neither block nor raise.
    on_text: Callable[[str], None] | None = None
    # Special tokens of the target model's vocabulary beyond the known template families (the gateway
    # sets them from the model's tokenizer); neutralised in every message like the known ones.
    control_tokens: tuple[str, ...] = ()
    # A free-text reply (a compaction summary): no decision schema and no decision tools.
    plain_text: bool = False

    def __post_init__(self) -> None:
        if self.regex is not None and self.json_schema is not None:
            raise ValueError("pass either regex or json_schema, not both: one grammar per request")
        # The one choke point between message text and every provider: tool results, documents and
        # user text cannot spell the model's control tokens (see control_tokens.py).
        object.__setattr__(self, "messages", neutralise_messages(self.messages, self.control_tokens))


@dataclass(frozen=True)
class ChatResponse:
    text: str
    usage: Usage
    model: str
    provider: str
    finish_reason: str | None
    latency_ms: float
    tool_call: ProposedToolCall | None = None


class ProviderError(Exception):
    """A provider failure, classified once at the boundary so retry decisions live in one place."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        retryable: bool | None = None,
        status_code: int | None = None,
        retry_after_s: float | None = None,
        prompt_tokens: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = kind in RETRYABLE_KINDS if retryable is None else retryable
        self.status_code = status_code
        self.retry_after_s = retry_after_s
        self.prompt_tokens = prompt_tokens  # a refused prompt's length as the server counted it, if it said


def classify_status(status: int, message: str, retry_after: str | None = None, body: Any = None) -> ProviderError:
    """408/409/429/5xx are transient; a context overflow is typed; every other 4xx is final."""
    delay = _seconds(retry_after)
    if status == 429:
        return ProviderError(message, kind="rate_limited", status_code=status, retry_after_s=delay)
    if status in (408, 409) or status >= 500:
        return ProviderError(message, kind="unavailable", status_code=status, retry_after_s=delay)
    if status in (400, 413) and _CONTEXT_LENGTH.search(message):
        return ProviderError(message, kind="context_length_exceeded", status_code=status,
                             prompt_tokens=refused_prompt_tokens(message, body))
    kind = {401: "authentication", 403: "permission", 404: "not_found"}.get(status, "invalid_request")
    return ProviderError(message, kind=kind, status_code=status)


def error_message(status: int, body: Any, fallback: str) -> str:
    """`HTTP <status>: <the provider's own message>` from an OpenAI- or Anthropic-style error body."""
    detail: Any = body.get("error", body) if isinstance(body, dict) else body
    if isinstance(detail, dict):
        detail = detail.get("message", detail)
    return f"HTTP {status}: {detail or fallback}"


def refused_prompt_tokens(message: str, body: Any = None) -> int | None:
    """The prompt's length in the server's tokens, from a context-length error, when the server said."""
    detail = body.get("error", body) if isinstance(body, dict) else None
    if isinstance(detail, dict) and isinstance(detail.get("n_prompt_tokens"), int):
        return detail["n_prompt_tokens"]  # llama.cpp's server: {"error": {"n_prompt_tokens": ..., "n_ctx": ...}}
    for pattern in _PROMPT_TOKENS:
        if match := pattern.search(message):
            return int(match.group(1))
    return None


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP date: the retry policy's backoff decides instead


class ModelProvider(Protocol):
    name: str

    async def chat(self, request: ChatRequest) -> ChatResponse: ...
