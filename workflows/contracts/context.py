"""The context engine's references: a run carries digests and counts, never the content.
Every type here is O(1) in the run's length.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, RootModel

from workflows.contracts.base import Wire
from workflows.contracts.model import DecideInput, DecideResult, Message
from workflows.contracts.tools import ToolSpec


class TranscriptRef(Wire):
    """The transcript as the head of a chain of stored entries; `head=None` is the empty transcript."""

    head: str | None = None
    length: int = Field(default=0, ge=0, description="messages in the chain, checked on load")


class TokenCalibration(Wire):
    """How a model's server counts prompts against our count of what was sent: reported / counted,
    smoothed over the run's calls and bounded (activities/context/calibration.py). Carried by the run,
    so a fresh worker or a continued run packs with what the run has learned."""

    ratio: float = Field(default=1.0, gt=0, description="the server's prompt tokens per counted token")
    calls: int = Field(default=0, ge=0, description="calls it was learned from")


class ContextState(Wire):
    """What the run's last model call carried of its transcript, for the `state` query and metrics."""

    step: int = Field(description="the step whose prompt this describes")
    model: str
    transcript_messages: int = Field(description="messages in the run's transcript chain (a summary counts as one)")
    sent_messages: int = Field(description="of them, how many the prompt carried, verbatim or sanitized")
    compacted_turns: int = Field(default=0, description="turns replaced by summaries so far in this run chain")
    prompt_tokens: int = Field(description="the prompt as packed, in the server's tokens (calibrated)")
    reported_prompt_tokens: int = Field(default=0, description="what the server reported for it; 0 if it did not")
    budget_tokens: int = Field(description="the model's window less the reserved reply")
    tokenizer: str
    exact: bool
    calibration: TokenCalibration = Field(default_factory=TokenCalibration)


class CompactionRecord(Wire):
    """A compaction, for the state query: which turns became a summary, and how much smaller."""

    step: int
    start: int
    end: int
    tokens_before: int
    tokens_after: int
    summary_digest: str
    previous_head: str | None = Field(description="the chain before compaction: still names every message")

Priority = Literal["P0", "P1", "P2", "P3"]
PREVIEW_CHARS = 200


class BlobRef(Wire):
    """A stored item: read it with `python -m worker.read <digest>`."""

    digest: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    size: int = Field(ge=0, description="bytes")
    media_type: str = "application/json"
    preview: str = Field(default="", description=f"the first {PREVIEW_CHARS} characters")


class ContextBudget(Wire):
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


class PackNote(Wire):
    """One item the packer changed: dropped, sanitized or chosen for compaction. Never silent."""

    section: Literal["history", "working_memory", "volatile"]
    index: int = Field(description="position in its section (for history: in the transcript)")
    priority: Priority
    action: Literal["dropped", "sanitized"]
    reason: str
    tokens_before: int
    tokens_after: int
    preview: str


class PackReport(Wire):
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

    def compaction(self) -> tuple[int, int] | None:
        """The range `[start, end)` of the transcript to summarize, if the packer named one."""
        if self.compact_start is None or self.compact_end is None:
            return None
        return self.compact_start, self.compact_end


class DecideWithContextInput(Wire):
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


class StoreToolsInput(Wire):
    tools: list[ToolSpec]


class StoreToolsResult(RootModel[str]):
    """The catalogue's digest in the blob store. A bare JSON string on the wire, as it always was, so
    recorded histories and workers a release apart read it alike."""


class DecideWithContextResult(Wire):
    result: DecideResult | None = Field(description="None when the prompt did not fit (pack.over_budget): no call was made")
    transcript: TranscriptRef = Field(description="the head after `append`: the workflow's new state")
    pack: PackReport
    pinned_ref: str | None = Field(default=None, description="where this call stored the inline `pinned`")
    calibration: TokenCalibration | None = Field(default=None, description="the run's calibration after this call")
    reported_prompt_tokens: int = Field(default=0, description="the server's count of the prompt (first attempt)")


class SummarizeContextInput(Wire):
    transcript: TranscriptRef
    start: int = Field(ge=0)
    end: int = Field(gt=0, description="exclusive")
    model: str
    protected: int = Field(default=0, ge=0, description="leading transcript messages that are P0: never summarized")
    max_summary_tokens: int = Field(default=400, gt=0)


class SummarizeContextResult(Wire):
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
