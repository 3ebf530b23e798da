"""The provider interface every model backend implements, and its normalized errors.

Providers only speak their wire protocol: they never retry (Temporal does) and never decide what a
reply means (activities/decision.py does). Gateway features (routing, fallback, breakers, cost)
build on this interface without changing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from workflows.contracts import Message, Usage


@dataclass(frozen=True)
class ChatRequest:
    model: str
    messages: list[Message]
    max_output_tokens: int
    json_schema: dict[str, Any] | None = None  # constrain the reply to this schema where supported
    temperature: float = 0.0


@dataclass(frozen=True)
class ChatResponse:
    text: str
    usage: Usage
    model: str
    provider: str
    finish_reason: str | None
    latency_ms: float


class ProviderError(Exception):
    """A provider failure, classified once at the boundary so retry decisions live in one place."""

    def __init__(
        self,
        message: str,
        *,
        kind: str,
        retryable: bool,
        status_code: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.retryable = retryable
        self.status_code = status_code
        self.retry_after_s = retry_after_s


class ModelProvider(Protocol):
    name: str

    async def chat(self, request: ChatRequest) -> ChatResponse: ...
