"""Wire types of the context engine: references the workflow carries instead of content.

Imports only pydantic, the standard library and `workflows.contracts`, so workflow code can import it
inside the sandbox. Every type here is O(1) in the run's length: a transcript travels as its head
digest and length, a large item as its digest, size and a short preview.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workflows.contracts import DecideInput, DecideResult, Message, TokenCalibration, ToolSpec, TranscriptRef

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
    over_budget: bool = Field(default=False, description="the prompt does not fit: nothing was sent; compact first")
    history_messages: int | None = Field(default=None, description="transcript messages the prompt was built from")
    sent_messages: int | None = Field(default=None, description="of them, how many the prompt carried")
    newest_turn: int | None = Field(default=None, description="where the newest turn (P0) starts in the transcript")
    counted_tokens: int | None = Field(default=None, description="the counter's tokens of the request, before calibration")
    overhead_tokens: int = Field(default=0, description="of total_tokens, the schema or tool definitions beside the messages")


class DecideWithContextInput(_Wire):
    """`model.decide` by reference: the activity appends `append` to the chain, loads it, packs, calls."""

    decide: DecideInput = Field(description="model, tools, max_output_tokens...; its `messages` stay empty")
    pinned: list[Message] = Field(description="P0: system prompt + policy, goal")
    transcript: TranscriptRef
    append: list[Message] = Field(default_factory=list, description="messages since the last call (O(1) per step)")
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
    calibration: TokenCalibration | None = Field(
        default=None, description="how the run's model counted its earlier prompts; None: start from the worker's")


class StoreToolsInput(_Wire):
    tools: list[ToolSpec]


class DecideWithContextResult(_Wire):
    result: DecideResult | None = Field(description="None when the prompt did not fit (pack.over_budget): no call was made")
    transcript: TranscriptRef = Field(description="the head after `append`: the workflow's new state")
    pack: PackReport
    pinned_ref: str | None = Field(default=None, description="where this call stored the inline `pinned`")
    calibration: TokenCalibration | None = Field(default=None, description="the run's calibration after this call")
    reported_prompt_tokens: int = Field(default=0, description="the server's count of the prompt (first attempt)")


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
