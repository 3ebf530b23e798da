"""The retrieval activities: search, ingest, and the automatic context for a run's first step.

Class-based so the worker builds the Qdrant client and the embedder once and injects them. The
methods are synchronous (qdrant-client local mode and onnxruntime block) and run on the worker's
activity thread pool; ingestion heartbeats its progress so a long run is visible and cancellable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.retrieval.embeddings import EmbeddingError
from activities.retrieval.ingest import IngestProgress, InvalidScope
from activities.retrieval.render import render_context
from activities.retrieval.runtime import KnowledgeBase
from activities.retrieval.search import timed_search
from activities.retrieval.shared import KnowledgeHostUnavailable
from activities.retrieval.store import StoreError
from workflows.contracts.retrieval import (
    IngestPathsInput,
    IngestPathsResult,
    RetrieveContextInput,
    RetrieveContextResult,
    SearchKnowledgeInput,
    SearchKnowledgeResult,
)

log = structlog.get_logger(__name__)
T = TypeVar("T")


def at_boundary(work: Callable[[], T]) -> T:
    """Translate failures into Temporal's terms: configuration and input errors are final, the rest retry."""
    try:
        return work()
    except EmbeddingError as e:
        raise ApplicationError(str(e), type="EmbeddingError", non_retryable=not e.retryable) from e
    except KnowledgeHostUnavailable as e:  # the process holding the stores is restarting: try again
        raise ApplicationError(str(e), type="KnowledgeHostUnavailable", non_retryable=False) from e
    except (StoreError, InvalidScope, FileNotFoundError) as e:
        raise ApplicationError(str(e), type=type(e).__name__, non_retryable=True) from e


class RetrievalActivities:
    def __init__(self, kb: KnowledgeBase) -> None:
        self.kb = kb

    @activity.defn(name="retrieval.search")
    def search(self, input: SearchKnowledgeInput) -> SearchKnowledgeResult:
        passages, ms = at_boundary(lambda: timed_search(
            self.kb.retriever, input.query, input.access, input.limit, input.mode, input.rerank, input.by_document))
        return SearchKnowledgeResult(passages=passages, mode=input.mode, latency_ms=round(ms, 2))

    @activity.defn(name="retrieval.ingest")
    def ingest(self, input: IngestPathsInput) -> IngestPathsResult:
        def beat(p: IngestProgress) -> None:
            activity.heartbeat({"files_done": p.files_done, "files_total": p.files_total, "chunks": p.chunks})

        return at_boundary(lambda: self.kb.ingestor.ingest_paths(input.paths, input.tenant_id, input.scope, beat))

    @activity.defn(name="retrieval.context")
    def context(self, input: RetrieveContextInput) -> RetrieveContextResult:
        def work() -> RetrieveContextResult:
            passages = (self.kb.retriever.search(input.query, input.access, input.passages)
                        if input.passages else [])
            memories = self.kb.memory.recall(input.access, input.query, input.memories) if input.memories else []
            message = render_context(passages, [(m.record.type, m.record.content) for m in memories])
            return RetrieveContextResult(passages=passages, memory_ids=[m.record.memory_id for m in memories],
                                         message=message)

        result = at_boundary(work)
        log.info("retrieval.context", tenant=input.access.tenant_id, passages=len(result.passages),
                 memories=len(result.memory_ids))
        return result
