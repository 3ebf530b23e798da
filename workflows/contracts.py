"""Wire types shared by the workflow, activities, worker and clients.

This module imports nothing but pydantic and the standard library so the workflow sandbox can load
it, and so every process (worker, CLI, tests) agrees on one JSON shape. Nothing here may read a clock
or generate ids: timestamps and ids are passed in by the workflow (workflow.now / workflow.uuid4).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

TASK_QUEUE = "agents"
WORKFLOW_TYPE = "AgentRun"


class _Wire(BaseModel):
    # Between workflow and activities unknown keys are ignored: during a rolling deploy or a rollback a
    # worker one release ahead or behind adds or lacks optional fields, and that must never fail a run.
    # A new field therefore always has a default. (worker/converter.py turns any other shape error into
    # a retried workflow task, so a run stalls at worst.)
    model_config = ConfigDict(extra="ignore")


class _UserInput(_Wire):
    # What people type (`temporal workflow start --input`, update and signal inputs): a typo or an
    # unknown key fails loudly instead of being dropped.
    model_config = ConfigDict(extra="forbid")


def canonical_json(value: Any) -> str:
    """Serialize so equal values give equal bytes (sorted keys, no whitespace)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def arguments_hash(arguments: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(arguments).encode()).hexdigest()


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


DataClass = Literal["public", "internal", "confidential"]
StepKind = Literal["plan", "act", "summarize"]
ProviderKind = Literal["openai", "anthropic", "sglang", "vllm", "llamacpp"]


class Budgets(_UserInput):
    max_steps: int = Field(default=20, ge=1, description="model calls allowed in the run")
    max_tokens: int = Field(default=100_000, ge=1, description="prompt + completion tokens")
    max_wall_time_s: float = Field(default=24 * 3600, gt=0, description="from the run's start")
    max_cost_usd: float | None = Field(default=None, ge=0, description="None means no cost limit")


class RunRequest(_UserInput):
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
    approval_risk_level: int = Field(default=2, ge=0, le=5, description="tools at or above it need approval")
    budgets: Budgets = Field(default_factory=Budgets)
    approval_timeout_s: float = Field(default=24 * 3600, gt=0)
    model: str | None = Field(default=None, description="model to try first; None means the route's order")
    data_class: DataClass = Field(default="internal", description="confidential runs reach self-hosted models only")
    max_output_tokens: int = Field(default=512, ge=16)
    retrieve_first: bool = Field(
        default=False, description="before the first model call, add retrieved passages and memories (untrusted, cited)"
    )
    carry: RunCheckpoint | None = Field(default=None, description="set by continue-as-new only")


class Message(_Wire):
    role: Literal["system", "user", "assistant", "tool"]
    content: str
    name: str | None = None
    tool_call_id: str | None = None
    # The blob digest of this very message, when the activity that produced it already stored it: a
    # model call then sends the digest instead of the content, so history holds a tool output once.
    stored: str | None = None


class ToolSpec(_Wire):
    """What the workflow and the model know of a tool; the handler stays in the worker."""

    name: str
    description: str
    risk_level: int = Field(ge=0, le=4, description="0 read .. 4 irreversible")
    parameters: dict[str, Any]
    idempotency: Literal["idempotent", "keyed", "not_idempotent"]
    timeout_s: float = 60.0
    heartbeat_timeout_s: float | None = None
    approval: Literal["by_risk", "always"] = Field(
        default="by_risk", description="always: every call waits for a person, whatever the run's threshold"
    )
    result_schema: dict[str, Any] | None = None


class ListToolsInput(_Wire):
    tenant_id: str = "default"


class ListToolsResult(_Wire):
    tools: list[ToolSpec]
    tenant_allowed_tools: list[str] | None = Field(default=None, description="the tenant's allow-list, if any")


class ProposedToolCall(_Wire):
    tool: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class Decision(_Wire):
    """The model's normalized choice for one step."""

    kind: Literal["final_answer", "tool_calls", "ask_human"]
    answer: str | None = None
    tool_calls: list[ProposedToolCall] = Field(default_factory=list)
    question: str | None = None
    thought: str | None = None


class Usage(_Wire):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_prompt_tokens: int = Field(default=0, description="prompt tokens served from a prefix cache")
    cache_write_tokens: int = Field(default=0, description="prompt tokens written to a cache (Anthropic)")
    cost_usd: float = 0.0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Price(_Wire):
    """US dollars per million tokens."""

    input: float = Field(default=0.0, ge=0)
    cached_input: float = Field(default=0.0, ge=0)
    output: float = Field(default=0.0, ge=0)

    def cost(self, usage: Usage) -> float:
        uncached = max(usage.prompt_tokens - usage.cached_prompt_tokens, 0)
        return (uncached * self.input + usage.cached_prompt_tokens * self.cached_input
                + usage.completion_tokens * self.output) / 1_000_000


class ModelInfo(_Wire):
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


class OutagePolicy(_Wire):
    """How long a run waits out an outage of every model on its route (the models file's `outage`)."""

    max_wait_s: float = Field(default=900.0, gt=0, description="per step; then the run fails naming the cause")
    initial_backoff_s: float = Field(default=5.0, gt=0, description="first wait; doubles up to max_backoff_s")
    max_backoff_s: float = Field(default=60.0, gt=0)


class ModelCatalogue(_Wire):
    models: list[ModelInfo]
    routes: dict[StepKind, list[str]]
    outage: OutagePolicy = Field(default_factory=OutagePolicy)


class SpendLimit(_Wire):
    """What one decision's calls (the first and its repairs) may use: the run's budgets left."""

    tokens: int
    cost_usd: float | None = None


class DecideInput(_Wire):
    messages: list[Message]
    tools: list[ToolSpec]
    model: str | None = None
    max_output_tokens: int = 512
    step_kind: StepKind = "act"
    tenant_id: str = "default"
    limit: SpendLimit | None = Field(default=None, description="a repair call that could pass it is not made")


class DecideResult(_Wire):
    decision: Decision
    usage: Usage
    model: str
    provider: str
    latency_ms: float
    repair_attempts: int = 0
    finish_reason: str | None = Field(default=None, description="the provider's own: stop, length, end_turn...")


class ToolCall(_Wire):
    id: str
    tool: str
    arguments: dict[str, Any]
    arguments_hash: str
    risk_level: int


class StoreBinding(_Wire):
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


class ExecuteToolInput(_Wire):
    run_id: str = Field(description="the run chain: workflow id and first run id; stable across retries,"
                        " continue-as-new and reset, new when a workflow id is reused")
    tenant_id: str
    user_id: str = "anonymous"
    tool_call: ToolCall
    idempotency_key: str
    store_id: str | None = Field(default=None, description="the run's bound stores; a worker with other stores"
                                 " refuses the call (StoreMismatch) instead of acting on the wrong ledger")


class ToolResult(_Wire):
    """Normalized outcome the model sees; never an exception for business failures."""

    status: Literal["ok", "error", "denied"]
    error_type: str | None = None
    retryable: bool = False
    message: str = ""
    data: Any = None
    from_ledger: bool = False
    # The digest of the tool message built from this result (workflows/context.py tool_message),
    # stored in the blob store by tools.execute; the workflow checks it before relying on it.
    message_ref: str | None = None


class ApproveInput(_UserInput):
    tool_call_id: str
    approver: str = "anonymous"
    comment: str | None = None
    arguments: dict[str, Any] | None = Field(
        default=None, description="edit before approving: these arguments (and their hash) are what runs"
    )
    expires_at: datetime | None = Field(default=None, description="signed approvals: when the signature lapses")
    signature: str | None = Field(
        default=None, description="base64 Ed25519 signature by `approver`'s key (workflows/approval_signatures.py)"
    )


class ApproveAllInput(_UserInput):
    approver: str = "anonymous"
    comment: str | None = None
    tool_call_ids: list[str] | None = Field(
        default=None, description="signed approvals: the pending calls the signature covers (all of them)"
    )
    expires_at: datetime | None = None
    signature: str | None = None


class ApproverSpec(_Wire):
    """One person who may approve, from the approvers file: their public key and what they may approve."""

    name: str = Field(min_length=1)
    public_key: str = Field(description="base64 of the raw 32-byte Ed25519 public key")
    tenants: list[str] = Field(default_factory=lambda: ["*"], description='"*" means every tenant')
    tools: list[str] = Field(default_factory=lambda: ["*"], description='"*" means every tool')
    max_risk: int = Field(default=4, ge=0, le=4)


class ApproversPolicy(_Wire):
    """The approvers file as a run sees it: loaded once by an activity, kept in history and checkpoints."""

    approvers: list[ApproverSpec] = Field(default_factory=list)
    # At most 3: risk 3-4 calls always need a signed approval, whatever the file says.
    signed_from_risk: int = Field(default=3, ge=0, le=3, description="approvals of calls at or above need a signature")
    source: str = Field(default="", description="where it was read from, for messages")


class ResolveOutcomeInput(_UserInput):
    """A person's decision on a call whose outcome is unknown."""

    tool_call_id: str
    decision: Literal["mark_done", "retry", "abandon"]
    by: str = "anonymous"
    comment: str | None = None
    data: Any = Field(default=None, description="mark_done: the result the person observed, shown to the model")


class PendingResolution(_Wire):
    tool_call_id: str
    tool: str
    arguments: dict[str, Any]
    reason: Literal["outcome_unknown"] = "outcome_unknown"
    message: str


class RejectInput(_UserInput):
    tool_call_id: str
    approver: str = "anonymous"
    comment: str | None = None


class UserMessageInput(_UserInput):
    text: str = Field(min_length=1)
    user: str = "anonymous"


class PendingApproval(_Wire):
    tool_call_id: str
    tool: str
    arguments: dict[str, Any]
    arguments_hash: str
    risk_level: int
    reason: str
    requested_at: datetime
    expires_at: datetime
    signature_required: bool = Field(default=False, description="only an approval signed by a permitted approver runs it")


class ApprovalRecord(_Wire):
    """One line of a run's audit trail: who decided what about which call, and when."""

    tool_call_id: str
    tool: str
    decision: Literal["approved", "rejected", "expired", "mark_done", "retry", "abandon"]
    by: str
    at: datetime
    comment: str | None = None
    arguments_hash: str | None = None
    edited_arguments: dict[str, Any] | None = None
    reason: str | None = Field(default=None, description="why a person was asked")
    verified: bool = Field(default=False, description="`by` is proven: the decision was signed by that approver's key")


class ModelUsage(_Wire):
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


class RunUsage(_Wire):
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


class ModelEvent(_Wire):
    """A routing decision, recorded so a person can see why a step used the model it did."""

    step: int
    kind: Literal["routed", "fallback", "exhausted"]
    model: str | None
    reason: str


class TranscriptRef(_Wire):
    """The transcript as the head of a chain of stored entries; `head=None` is the empty transcript."""

    head: str | None = None
    length: int = Field(default=0, ge=0, description="messages in the chain, checked on load")


class TokenCalibration(_Wire):
    """How a model's server counts prompts against our count of what was sent: reported / counted,
    smoothed over the run's calls and bounded (activities/context/calibration.py). Carried by the run,
    so a fresh worker or a continued run packs with what the run has learned."""

    ratio: float = Field(default=1.0, gt=0, description="the server's prompt tokens per counted token")
    calls: int = Field(default=0, ge=0, description="calls it was learned from")


class ContextState(_Wire):
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


class CompactionRecord(_Wire):
    """A compaction, for the state query: which turns became a summary, and how much smaller."""

    step: int
    start: int
    end: int
    tokens_before: int
    tokens_after: int
    summary_digest: str
    previous_head: str | None = Field(description="the chain before compaction: still names every message")


class RecordArchive(_Wire):
    """Older audit records, moved out of the run's state into the blob store so a checkpoint stays O(1).

    `head` names a JSON blob {"previous": <older head or null>, "approvals": [...], "model_events": [...],
    "compactions": [...]}: a chain, newest first (`python -m activities.context.read <head>` prints one).
    """

    head: str | None = None
    approvals: int = 0
    model_events: int = 0
    compactions: int = 0


class ArchiveRecordsInput(_Wire):
    previous: str | None = None
    approvals: list[ApprovalRecord] = Field(default_factory=list)
    model_events: list[ModelEvent] = Field(default_factory=list)
    compactions: list[CompactionRecord] = Field(default_factory=list)


class RunCheckpoint(_Wire):
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


class RunState(_Wire):
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
    transcript: TranscriptRef | None = Field(default=None, description="read it: python -m activities.context.read --transcript HEAD")
    compactions: list[CompactionRecord] = Field(default_factory=list)
    archived: RecordArchive = Field(default_factory=RecordArchive,
                                    description="older approvals, model events and compactions: counts and blob head")
    approval_scope: str = Field(default="", description="what an approval's signature binds as its workflow_id: "
                                "the run chain (workflow id/first run id)")
    stores: StoreBinding | None = Field(default=None, description="the stores the run is bound to; its "
                                        "activities run only on workers with these stores")
    context: ContextState | None = Field(default=None, description="what the last model call carried of the transcript")


class RunResult(_Wire):
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
