"""A run as a whole: what starts it, what it carries across continue-as-new, what its state
query shows and what it returns.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, RootModel, field_validator

from workflows.contracts.approvals import (
    ApprovalRecord,
    ApproveAllInput,
    ApproveInput,
    ApproversPolicy,
    PendingApproval,
    PendingResolution,
    RejectInput,
    ResolveOutcomeInput,
)
from workflows.contracts.base import DataClass, UserInput, Wire
from workflows.contracts.context import CompactionRecord, ContextState, TokenCalibration, TranscriptRef
from workflows.contracts.model import Message, ModelCatalogue, ModelEvent, Usage
from workflows.contracts.tools import ToolSpec
from workflows.contracts.world import RecordedWorld


class RunStatus(StrEnum):
    PLANNING = "planning"
    WAITING_FOR_MODEL = "waiting_for_model"
    WAITING_FOR_HUMAN = "waiting_for_human"
    RUNNING_TOOL = "running_tool"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    BUDGET_EXCEEDED = "budget_exceeded"


# The longest a run may wait or live: a durable timer this long is fine, a larger one (or infinity)
# would fail the workflow task on every attempt and wedge the run.
MAX_WAIT_S = 366 * 24 * 3600


class Budgets(UserInput):
    max_steps: int = Field(default=20, ge=1, description="model calls allowed in the run")
    max_tokens: int = Field(default=100_000, ge=1, description="prompt + completion tokens")
    max_wall_time_s: float = Field(default=24 * 3600, gt=0, le=MAX_WAIT_S, allow_inf_nan=False,
                                   description="from the run's start")
    max_cost_usd: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="None means no cost limit")


# Seed files ride in the request, so in history: a starting workspace, not a data set.
MAX_SEED_FILES = 64
MAX_SEED_BYTES = 256 * 1024


class RunRequest(UserInput):
    """Input of AgentRun. `{"goal": "..."}` alone is a valid request."""

    goal: str = Field(min_length=1)

    @field_validator("goal")
    @classmethod
    def _goal_has_text(cls, goal: str) -> str:
        if not goal.strip():
            raise ValueError("goal is blank: say what the run should do")
        return goal
    tenant_id: str = "default"
    user_id: str = "anonymous"
    allowed_tools: list[str] | None = Field(default=None, description="None means every registered tool")
    instructions: str | None = Field(
        default=None, max_length=8000, description="the operator's instructions, added to the system prompt after "
        "the policy (a prompt variant to evaluate, a house style); policy and approvals still apply")
    approval_risk_level: int = Field(default=2, ge=0, le=5, description="tools at or above it need approval")
    budgets: Budgets = Field(default_factory=Budgets)
    approval_timeout_s: float = Field(default=24 * 3600, gt=0, le=MAX_WAIT_S, allow_inf_nan=False)
    model: str | None = Field(default=None, description="model to try first; None means the route's order")
    data_class: DataClass = Field(default="internal", description="confidential runs reach self-hosted models only")
    max_output_tokens: int = Field(default=512, ge=16)
    retrieve_first: bool = Field(
        default=False, description="before the first model call, add retrieved passages and memories (untrusted, cited)"
    )
    files: dict[str, str] | None = Field(
        default=None, description="files to put in the run's workspace before its first step: relative path to text "
        f"(at most {MAX_SEED_FILES} files, {MAX_SEED_BYTES} bytes in all)")

    @field_validator("files")
    @classmethod
    def _files_fit(cls, files: dict[str, str] | None) -> dict[str, str] | None:
        if files is None:
            return None
        if len(files) > MAX_SEED_FILES:
            raise ValueError(f"{len(files)} files; at most {MAX_SEED_FILES}")
        if (size := sum(len(p.encode()) + len(t.encode()) for p, t in files.items())) > MAX_SEED_BYTES:
            raise ValueError(f"{size} bytes of files; at most {MAX_SEED_BYTES}")
        for path in files:
            if not path.strip() or path.startswith("/") or "\0" in path or ".." in path.replace("\\", "/").split("/"):
                raise ValueError(f"{path!r}: a path relative to the workspace, without '..'")
        return files

    world: RecordedWorld | None = Field(
        default=None, description="a recorded world (workflows/contracts/world.py): set by worker.evals fork and "
        "captured cases")
    stream_tokens: bool = Field(
        default=False, description="publish each model reply on the event stream as it is written (model_tokens "
        "events; each batch is a signal, so history grows with the replies)")
    carry: RunCheckpoint | None = Field(default=None, description="set by continue-as-new only")


class StoreBinding(Wire):
    """The stores a run chain is bound to (activities/stores.py): its effects, files and transcript
    live there, so only a worker with the same stores may serve it. Kept in state and checkpoints."""

    store_id: str = Field(description="digest of the ledger, workspace, blob and retrieval store ids")
    task_queue: str | None = Field(default=None, description="the queue only workers with these stores poll;"
                                   " None: the run's own queue (the worker serves no store queue)")
    ledger_id: str = ""
    workspace_store_id: str = ""
    blob_store_id: str = ""
    retrieval_store_id: str = ""
    bound_by: str = Field(default="", description="the worker identity that bound the run")


class UserMessageInput(UserInput):
    text: str = Field(min_length=1)
    user: str = "anonymous"


class ModelUsage(Wire):
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, usage: Usage) -> None:
        self.calls += 1
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cached_prompt_tokens += usage.cached_prompt_tokens
        self.cost_usd += usage.cost_usd


class RunUsage(Wire):
    model_calls: int = Field(default=0, description="decisions (each may include repair calls); max_steps counts these")
    compaction_calls: int = Field(default=0, description="context.summarize calls; their tokens and cost are in the totals")
    tool_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = 0
    cost_usd: float = 0.0
    by_model: dict[str, ModelUsage] = Field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def add(self, usage: Usage, model: str | None = None) -> None:
        self.model_calls += 1
        self._count(usage, model)

    def add_compaction(self, usage: Usage, model: str) -> None:
        """A summary call: counted in tokens, cost and its model's calls, not as a step (max_steps)."""
        self.compaction_calls += 1
        self._count(usage, model)

    def _count(self, usage: Usage, model: str | None) -> None:
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        self.cached_prompt_tokens += usage.cached_prompt_tokens
        self.cost_usd += usage.cost_usd
        if model is not None:
            self.by_model.setdefault(model, ModelUsage()).add(usage)


class RecordArchive(Wire):
    """Older audit records, moved out of the run's state into the blob store so a checkpoint stays O(1).

    `head` names a JSON blob {"previous": <older head or null>, "approvals": [...], "model_events": [...],
    "compactions": [...]}: a chain, newest first (`python -m worker.read <head>` prints one).
    """

    head: str | None = None
    approvals: int = 0
    model_events: int = 0
    compactions: int = 0


class ArchiveRecordsInput(Wire):
    previous: str | None = None
    approvals: list[ApprovalRecord] = Field(default_factory=list)
    model_events: list[ModelEvent] = Field(default_factory=list)
    compactions: list[CompactionRecord] = Field(default_factory=list)


class ArchiveRecordsResult(RootModel[str]):
    """The new head of the record archive. A bare JSON string on the wire, as it always was."""


class BindStoresInput(Wire):
    """`stores.bind` needs nothing from the run: the worker that takes it binds the run to its stores."""


class RunCheckpoint(Wire):
    """Everything a continued run needs; carried through continue-as-new."""

    step: int
    started_at: datetime
    transcript: list[Message]
    tools: list[ToolSpec]
    usage: RunUsage
    approvals: list[ApprovalRecord]
    pending_user_messages: list[str]
    paused: bool
    continued_runs: int
    models: ModelCatalogue | None = None
    model_events: list[ModelEvent] = Field(default_factory=list)
    tenant_allowed_tools: list[str] | None = None
    transcript_ref: TranscriptRef | None = Field(
        default=None, description="set when the transcript lives in the blob store; `transcript` then holds only new messages"
    )
    compactions: list[CompactionRecord] = Field(default_factory=list)
    last_prompt_tokens: int = 0
    tools_ref: str | None = Field(default=None, description="digest of `tools` in the blob store, once stored")
    approvers: ApproversPolicy | None = Field(default=None, description="the approvers file as the run loaded it")
    calibrations: dict[str, TokenCalibration] = Field(default_factory=dict, description="how each model counted "
                                                      "the run's prompts")
    compacted_turns: int = 0
    archive: RecordArchive = Field(default_factory=RecordArchive, description="records moved to the blob store")
    current_model: str | None = Field(default=None, description="the model the last step used")
    stores: StoreBinding | None = Field(default=None, description="the stores the run chain is bound to")
    # The run's event stream (temporalio.contrib.workflow_streams WorkflowStreamState, as JSON): kept
    # opaque here so this package imports only pydantic; workflows/run_events.py reads and writes it.
    stream: dict[str, Any] | None = Field(default=None, description="the event stream's recent events and offsets")


class RunState(Wire):
    """What `temporal workflow query --name state` prints."""

    status: RunStatus
    step: int
    goal: str
    tenant_id: str
    last_action: str | None
    pending_approvals: list[PendingApproval]
    pending_resolutions: list[PendingResolution] = Field(default_factory=list)
    question: str | None = None
    usage: RunUsage
    budgets: Budgets
    approvals: list[ApprovalRecord]
    result: RunResult | None = None
    continued_runs: int = 0
    model_events: list[ModelEvent] = Field(default_factory=list)
    transcript: TranscriptRef | None = Field(default=None, description="read it: python -m worker.read --transcript HEAD")
    compactions: list[CompactionRecord] = Field(default_factory=list)
    archived: RecordArchive = Field(default_factory=RecordArchive,
                                    description="older approvals, model events and compactions: counts and blob head")
    approval_scope: str = Field(default="", description="what an approval's signature binds as its workflow_id: "
                                "the run chain (workflow id/first run id)")
    stores: StoreBinding | None = Field(default=None, description="the stores the run is bound to; its "
                                        "activities run only on workers with these stores")
    context: ContextState | None = Field(default=None, description="what the last model call carried of the transcript")


class RunResult(Wire):
    status: RunStatus
    answer: str | None
    reason: str | None = None
    steps: int
    usage: RunUsage
    partial_output: str | None = Field(default=None, description="last tool or model output of an unfinished run")


RunRequest.model_rebuild()
RunState.model_rebuild()


# Decoded with unknown keys refused and validation errors failing the run at once (worker/converter.py).
USER_INPUTS: tuple[type[BaseModel], ...] = (
    RunRequest, ApproveInput, ApproveAllInput, ResolveOutcomeInput, RejectInput, UserMessageInput,
)
