"""What a run tells those who follow it: one typed, versioned event per thing that happened.

The run publishes these on its Workflow Stream (topic `events`, temporalio.contrib.workflow_streams):
each gets the stream's offset, and a follower that resumes from the last offset it saw gets every
later event exactly once. A consumer ignores kinds it does not know and fields it does not know (the
Wire base), so adding either is not a breaking change; changing a field's meaning bumps `v`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from workflows.contracts.base import Wire, canonical_json

EVENTS_TOPIC = "events"
EVENT_VERSION = 1
ARGUMENTS_PREVIEW = 1000
RESULT_PREVIEW = 500
# A budget_warning is published in the step whose usage first reaches this share of a limit.
WARN_AT = 0.8

EventKind = Literal[
    "status",  # the run's status changed (`status`)
    "step_started",  # the model is asked for step `step`
    "step_finished",  # step `step`'s decision and its tool calls are done
    "model",  # a model was routed, fell back, or none could take the step (`model_event`, `model`, `message`)
    "tool_proposed",  # the model proposed a call, and what policy said (`verdict`: allow, ask, deny)
    "approval_needed",  # the call waits for a person (`risk_level`, `message`: why)
    "approval_decided",  # a person (or the expiry timer) decided (`decision`, `by`, `verified`)
    "tool_started",  # the call runs now
    "tool_finished",  # the call ended (`result_status`, `message`)
    "outcome_unknown",  # a not-idempotent call may or may not have acted: a person must resolve it
    "question",  # the model asked the person (`message`)
    "compacted",  # older turns were summarized (`message`)
    "budget_warning",  # a budget passed WARN_AT of its limit in this step (`budget`, `message`)
    # Published by the model activity, only for runs started with stream_tokens (activities/token_stream.py):
    "model_tokens",  # the next piece of the reply being written (`text`, `model`, `attempt`, `repair`)
    "model_retry",  # the reply starts over (a repair or a retried attempt): drop the step's text so far
    "result",  # the run ended (`status`, `message`: the answer or the reason)
]


class RunEvent(Wire):
    v: int = EVENT_VERSION
    kind: EventKind
    at: datetime = Field(description="workflow time of the event")
    step: int = Field(description="the step it belongs to (the one in progress, counting from 1)")
    status: str | None = None
    model: str | None = None
    model_event: str | None = None
    tool: str | None = None
    call_id: str | None = None
    verdict: str | None = None
    risk_level: int | None = None
    decision: str | None = None
    by: str | None = None
    verified: bool | None = Field(default=None, description="the decision was proven by a signature")
    proof: str | None = Field(default=None, description="how the person was identified (the run API's decisions)")
    result_status: str | None = None
    budget: str | None = Field(default=None, description="which budget: steps, tokens, cost")
    message: str | None = Field(default=None, description="what a person reads; bounded")
    text: str | None = Field(default=None, description="model_tokens: the reply's next characters, as the provider sent them")
    arguments: str | None = Field(default=None, description="tool_proposed: the call's arguments as JSON, at most "
                                  f"{ARGUMENTS_PREVIEW} characters (cut with '…')")
    preview: str | None = Field(default=None, description="tool_finished: the result's data as JSON, at most "
                                f"{RESULT_PREVIEW} characters (cut with '…'): citations of a search, a file's size")
    attempt: int | None = Field(default=None, description="model_tokens, model_retry: the model activity's attempt, from 1")
    repair: int | None = Field(default=None, description="model_tokens, model_retry: 0 for the first reply, then each repair")

    @classmethod
    def make(cls, kind: EventKind, at: datetime, step: int, **fields: Any) -> RunEvent:
        if isinstance(fields.get("message"), str):
            fields["message"] = fields["message"][:2000]
        return cls(kind=kind, at=at, step=step, **fields)


def arguments_preview(arguments: dict[str, Any]) -> str:
    """A proposed call's arguments as followers see them: canonical JSON, cut at ARGUMENTS_PREVIEW."""
    return _cut(canonical_json(arguments), ARGUMENTS_PREVIEW)


def result_preview(data: Any) -> str | None:
    """A tool result's data as followers see it: canonical JSON, cut at RESULT_PREVIEW; None without data."""
    return None if data is None else _cut(canonical_json(data), RESULT_PREVIEW)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
