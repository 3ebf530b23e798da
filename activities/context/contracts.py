"""Wire types of the context engine: references the workflow carries instead of content.

Imports only pydantic, the standard library and `workflows.contracts`, so workflow code can import it
inside the sandbox. Every type here is O(1) in the run's length: a transcript travels as its head
digest and length, a large item as its digest, size and a short preview.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workflows.contracts import DecideInput, DecideResult, Message, ToolSpec, TranscriptRef

Priority = Literal["P0", "P1", "P2", "P3"]
PREVIEW_CHARS = 200


class _Wire(BaseModel):
    # Activity I/O: unknown keys from a newer or older worker are ignored (see workflows/contracts.py).
    model_config = ConfigDict(extra="ignore")


class BlobRef(_Wire):
    """A stored item: read it with `python -m activities.context.read <digest>`."""

    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    size: int = Field(ge=0, description="bytes")
    media_type: str = "application/json"
    preview: str = Field(default="", description=f"the first {PREVIEW_CHARS} characters")


class ContextBudget(_Wire):
    """Per-model token budget: exact, never a guess about the window."""

    context_window: int = Field(gt=0)
    reserved_output: int = Field(gt=0, description="max output tokens requested from the model")
    compact_threshold: float = Field(default=0.8, gt=0, le=1, description="fraction of the window")
    compact_target: float = Field(default=0.5, gt=0, le=1, description="fraction of the window after compaction")

    @property
    def budget_tokens(self) -> int:
        """What the prompt may use: the window minus the output we reserve."""
        return self.context_window - self.reserved_output

    @property
    def threshold_tokens(self) -> int:
        # Never above the budget: with a large reserved output 80% of the window may not fit at all.
        return min(int(self.context_window * self.compact_threshold), self.budget_tokens)

    @property
    def target_tokens(self) -> int:
        return min(int(self.context_window * self.compact_target), self.threshold_tokens)


class PackContextInput(_Wire):
    """What a model call needs to build its prompt; everything but `history` comes from the workflow.

    Layout, for prefix stability: `pinned` (P0: system prompt, policy, goal), tool schemas (sorted,
    canonical), `history` (append-only), then the tail that changes every step: `working_memory` (P1),
    `current_task` (P0) and `volatile` (timestamps, retrieved passages) last.
    """

    pinned: list[Message]
    tools: list[ToolSpec] = Field(default_factory=list)
    render_tools: bool = Field(default=False, description="False: the renderer appends the catalogue itself")
    history: list[Message] = Field(default_factory=list)
    working_memory: list[Message] = Field(default_factory=list)
    current_task: list[Message] = Field(default_factory=list)
    volatile: list[Message] = Field(default_factory=list)
    recent_turns: int = Field(default=6, ge=0, description="newest history messages kept as P1")
    protected: int = Field(default=0, ge=0, description="leading history messages that are P0 (never evicted)")
    budget: ContextBudget


class PackNote(_Wire):
    """One item the packer changed: dropped, sanitized or chosen for compaction. Never silent."""

    section: Literal["history", "working_memory", "volatile"]
    index: int = Field(description="position in its section (for history: in the transcript)")
    priority: Priority
    action: Literal["dropped", "sanitized"]
    reason: str
    tokens_before: int
    tokens_after: int
    preview: str


class PackReport(_Wire):
    """What a pack holds and what was left out of it; the model activity returns it for history."""

    tokenizer: str
    exact: bool = Field(description="False for an estimate (hosted models without an offline tokenizer)")
    total_tokens: int
    budget_tokens: int
    threshold_tokens: int
    tokens_by_priority: dict[Priority, int]
    prefix_messages: int = Field(description="leading messages that stay identical from step to step")
    notes: list[PackNote] = Field(default_factory=list)
    needs_compaction: bool = False
    compact_start: int | None = Field(default=None, description="first transcript index to summarize")
    compact_end: int | None = Field(default=None, description="end (exclusive) of the range to summarize")


class DecideWithContextInput(_Wire):
    """`model.decide` by reference: the activity appends `append` to the chain, loads it, packs, calls."""

    decide: DecideInput = Field(description="model, tools, max_output_tokens...; its `messages` stay empty")
    pinned: list[Message] = Field(description="P0: system prompt + policy, goal")
    transcript: TranscriptRef
    append: list[Message] = Field(default_factory=list, description="messages since the last call (O(1) per step)")
    current_task: list[Message] = Field(default_factory=list)
    volatile: list[Message] = Field(default_factory=list)
    protected: int = 0
    budget: ContextBudget
    tools_ref: str | None = Field(
        default=None, pattern=r"^sha256:[0-9a-f]{64}$",
        description="the run's tool catalogue in the blob store (context.store_tools); `decide.tools` is then empty",
    )
    blob_store: str | None = Field(
        default=None, description="a local call of a run bound to stores: the blob store id it must find here")
    pinned_ref: str | None = Field(
        default=None, pattern=r"^sha256:[0-9a-f]{64}$",
        description="`pinned` as stored by an earlier call of the run (`pinned` is then empty)")


class StoreToolsInput(_Wire):
    tools: list[ToolSpec]


class DecideWithContextResult(_Wire):
    result: DecideResult
    transcript: TranscriptRef = Field(description="the head after `append`: the workflow's new state")
    pack: PackReport
    pinned_ref: str | None = Field(default=None, description="where this call stored the inline `pinned`")


class SummarizeContextInput(_Wire):
    transcript: TranscriptRef
    start: int = Field(ge=0)
    end: int = Field(gt=0, description="exclusive")
    model: str
    protected: int = Field(default=0, ge=0, description="leading transcript messages that are P0: never summarized")
    max_summary_tokens: int = Field(default=400, gt=0)


class SummarizeContextResult(_Wire):
    transcript: TranscriptRef = Field(description="the compacted chain: [kept P0] + [summary] + later turns")
    previous: TranscriptRef = Field(description="the chain before: still names every original message")
    summary: BlobRef
    start: int
    end: int
    summarized_messages: int
    tokens_before: int = Field(description="tokens of the summarized messages")
    tokens_after: int = Field(description="tokens of the summary message")
    tokenizer: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cost_usd: float = Field(default=0.0, description="the summary call's cost from the price table; the run counts it")


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The first `limit` characters on one line, with an ellipsis when cut."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
