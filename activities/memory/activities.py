"""The memory activities: the agent's proposals and relevance-and-recency recall, retried by Temporal.

A proposal is safe to retry: the same run, step and content map to the same record, and a repeated
source is recognised and changes nothing (see policy.merge).
"""

from __future__ import annotations

from temporalio import activity

from activities.memory.store import MemoryStore
from activities.retrieval.activities import at_boundary
from workflows.contracts.memory import (
    ProposeMemoryInput,
    ProposeMemoryResult,
    RecallMemoriesInput,
    RecallMemoriesResult,
)


class MemoryActivities:
    def __init__(self, memory: MemoryStore) -> None:
        self.memory = memory

    @activity.defn(name="memory.propose")
    def propose(self, input: ProposeMemoryInput) -> ProposeMemoryResult:
        return at_boundary(lambda: self.memory.propose(input))

    @activity.defn(name="memory.recall")
    def recall(self, input: RecallMemoriesInput) -> RecallMemoriesResult:
        return RecallMemoriesResult(memories=at_boundary(lambda: self.memory.recall(input.access, input.query, input.limit)))
