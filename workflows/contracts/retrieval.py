"""Retrieval: who may read what (Access), passages, and the search, ingest and context activities.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from workflows.contracts.base import Wire

SearchMode = Literal["dense", "sparse", "hybrid"]

# Scope keys stored on every point. A caller may read a point only if its tenant matches and its
# scope key is one of Access.scope_keys(): the filter is built from this, inside the Qdrant query.
TENANT_SCOPE = "tenant"


def user_scope(user_id: str) -> str:
    return f"user:{user_id}"


def team_scope(team_id: str) -> str:
    return f"team:{team_id}"


def run_scope(run_id: str) -> str:
    return f"run:{run_id}"


class Access(Wire):
    """Who is asking: the run's tenant and user (and teams). Every read is filtered by it."""

    tenant_id: str = Field(min_length=1)
    user_id: str = Field(min_length=1)
    team_ids: list[str] = Field(default_factory=list)
    run_id: str | None = Field(default=None, description="also read memories scoped to this run")

    def scope_keys(self) -> list[str]:
        keys = [TENANT_SCOPE, user_scope(self.user_id), *(team_scope(t) for t in self.team_ids)]
        if self.run_id:
            keys.append(run_scope(self.run_id))
        return keys


class Passage(Wire):
    """One retrieved chunk: where it comes from, how well it matched, and how the model cites it."""

    citation: str = Field(description="S1, S2, ... in rank order within one result")
    chunk_id: str
    source: str
    start: int = Field(description="character offset of the chunk in the source's extracted text")
    end: int
    section: str = ""
    score: float
    text: str

    @property
    def locator(self) -> str:
        return f"{self.source}#{self.start}-{self.end}"


# Long customer scenarios are 1-7 KB; the retriever segments them (long_query.py). The cap only stops
# a runaway argument from becoming hundreds of embedder calls.
MAX_QUERY_CHARS = 32_000


class SearchKnowledgeInput(Wire):
    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS)
    access: Access
    limit: int = Field(default=5, ge=1, le=50)
    mode: SearchMode = "hybrid"
    rerank: bool | None = Field(default=None, description="ignored: re-ranking was removed (it changed no ranking)")
    by_document: bool = Field(default=False, description="one passage per document; limit counts documents")


class SearchKnowledgeResult(Wire):
    passages: list[Passage]
    mode: SearchMode
    latency_ms: float


class IngestPathsInput(Wire):
    paths: list[str] = Field(min_length=1, description="files or folders on the worker's disk")
    tenant_id: str = Field(min_length=1)
    scope: str = Field(default=TENANT_SCOPE, description="'tenant', 'team:<id>' or 'user:<id>'")


class IngestPathsResult(Wire):
    files: int
    chunks: int
    added: int = Field(description="chunks written (new or changed)")
    unchanged: int
    removed: int = Field(description="stale chunks of changed files, deleted")
    skipped: list[str] = Field(default_factory=list, description="files not ingested, with the reason")
    embedded: int = Field(default=0, description="texts actually sent to the embedder (cache misses)")


class RetrieveContextInput(Wire):
    """Automatic retrieval before a run's first model call: documents and memories in one message."""

    query: str = Field(min_length=1, description="the run's goal, any length: the retriever segments it")
    access: Access
    passages: int = Field(default=4, ge=0, le=20)
    memories: int = Field(default=5, ge=0, le=20)


class RetrieveContextResult(Wire):
    passages: list[Passage]
    memory_ids: list[str]
    message: str = Field(description="the user message to add, marked untrusted, with citations; '' if nothing found")
