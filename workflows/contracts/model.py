"""Model calls: messages, decisions, usage and prices, the models file as the workflow reads it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from workflows.contracts.base import DataClass, ProviderKind, StepKind, Wire
from workflows.contracts.tools import ToolSpec


class Message(Wire):
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    name: str | None = None
    tool_call_id: str | None = None
    # The blob digest of this very message, when the activity that produced it already stored it: a
    # model call then sends the digest instead of the content, so history holds a tool output once.
    stored: str | None = None


class ProposedToolCall(Wire):
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Decision(Wire):
    """The model's normalized choice for one step."""

    kind: Literal["final_answer", "tool_calls", "ask_human"]
    answer: str | None = None
    tool_calls: list[ProposedToolCall] = Field(default_factory=list)
    question: str | None = None
    thought: str | None = None


class Usage(Wire):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = Field(default=0, description="prompt tokens served from a prefix cache")
    cache_write_tokens: int = Field(default=0, description="prompt tokens written to a cache (Anthropic)")
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Price(Wire):
    """US dollars per million tokens."""

    input: float = Field(default=0.0, ge=0)
    cached_input: float = Field(default=0.0, ge=0)
    output: float = Field(default=0.0, ge=0)

    def cost(self, usage: Usage) -> float:
        uncached = max(usage.prompt_tokens - usage.cached_prompt_tokens, 0)
        return (uncached * self.input + usage.cached_prompt_tokens * self.cached_input
                + usage.completion_tokens * self.output) / 1_000_000


class ModelInfo(Wire):
    """What workflow routing knows of a model; endpoints and keys stay in the worker."""

    name: str
    provider: ProviderKind
    self_hosted: bool
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    price: Price = Field(default_factory=Price)
    data_classes: list[DataClass]
    available: bool = True
    unavailable_reason: str | None = None
    local_activity: bool = False


class OutagePolicy(Wire):
    """How long a run waits out an outage of every model on its route (the models file's `outage`)."""

    max_wait_s: float = Field(default=900.0, gt=0, description="per step; then the run fails naming the cause")
    initial_backoff_s: float = Field(default=5.0, gt=0, description="first wait; doubles up to max_backoff_s")
    max_backoff_s: float = Field(default=60.0, gt=0)


class LoadModelsInput(Wire):
    """`models.catalogue` reads the worker's models file; nothing to choose."""


class ModelCatalogue(Wire):
    models: list[ModelInfo]
    routes: dict[StepKind, list[str]]
    outage: OutagePolicy = Field(default_factory=OutagePolicy)


class SpendLimit(Wire):
    """What one decision's calls (the first and its repairs) may use: the run's budgets left."""

    tokens: int
    cost_usd: float | None = None


class DecideInput(Wire):
    messages: list[Message]
    tools: list[ToolSpec]
    model: str | None = None
    max_output_tokens: int = 512
    step_kind: StepKind = "act"
    tenant_id: str = "default"
    limit: SpendLimit | None = Field(default=None, description="a repair call that could pass it is not made")
    stream_step: int | None = Field(
        default=None, description="RunRequest.stream_tokens: publish the reply as it is written, as model_tokens "
        "events of this run step; None: not published")


class DecideResult(Wire):
    decision: Decision
    usage: Usage
    model: str
    provider: str
    latency_ms: float
    repair_attempts: int = 0
    finish_reason: str | None = Field(default=None, description="the provider's own: stop, length, end_turn...")


class ModelEvent(Wire):
    """A routing decision, recorded so a person can see why a step used the model it did."""

    step: int
    kind: Literal["routed", "fallback", "exhausted"]
    model: str | None
    reason: str
