"""Memory: the record people inspect, and the propose and recall activities.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from workflows.contracts.base import Wire
from workflows.contracts.retrieval import Access

MemoryScope = Literal["user", "team", "tenant", "run"]
MemoryType = Literal["preference", "fact", "episode"]
Visibility = Literal["user_visible", "operators_only"]


class MemorySource(Wire):
    """Where a memory came from: a run's step (the agent proposed it) or a person (the CLI)."""

    run_id: str | None = None
    step: int | None = None
    by: str = Field(default="agent", description="'agent' or 'person:<name>'")


class MemoryRecord(Wire):
    memory_id: str
    tenant_id: str
    scope: MemoryScope
    subject: str = Field(description="scope key: 'tenant', 'team:<id>', 'user:<id>' or 'run:<id>'")
    type: MemoryType
    content: str
    sources: list[MemorySource]
    confidence: float = Field(ge=0, le=1)
    created_at: datetime
    updated_at: datetime
    expires_at: datetime | None = None
    visibility: Visibility = "user_visible"
    pinned: bool = False
    corrected_by: str | None = Field(default=None, description="the person whose correction fixed the content")


class ProposeMemoryInput(Wire):
    """A memory write the agent proposes; the memory activity decides whether and how it is stored."""

    access: Access = Field(description="the proposing run's tenant, user and run id")
    type: MemoryType
    content: str = Field(min_length=1, max_length=4000)
    scope: Literal["user", "run"] = Field(default="user", description="agents write only for their user or run")
    confidence: float = Field(default=0.7, ge=0, le=1)
    step: int | None = None
    expires_in_days: float | None = Field(default=None, gt=0)


class ProposeMemoryResult(Wire):
    outcome: Literal["created", "merged", "unchanged", "rejected"]
    memory_id: str | None = None
    reason: str = ""


class RecalledMemory(Wire):
    record: MemoryRecord
    score: float = Field(description="relevance mixed with recency; pinned memories get a boost")


class RecallMemoriesInput(Wire):
    access: Access
    query: str = Field(min_length=1)
    limit: int = Field(default=5, ge=1, le=50)


class RecallMemoriesResult(Wire):
    memories: list[RecalledMemory]
