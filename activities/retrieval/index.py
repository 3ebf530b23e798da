"""The knowledge index: one shard (or collection) per tenant, queried with the permission filter inside.

Two engines serve the same interface:
- `EdgeIndex` (the embedded default): Qdrant Edge (`qdrant-edge-py`), Qdrant's Rust engine in-process,
  one shard per tenant on disk. Payload indexes work there, so the filter and the `source` look-up of
  ingestion are index look-ups, not scans.
- `ClientIndex`: qdrant-client, against a server by URL or qdrant-client's pure-Python local mode, one
  collection per tenant.

Why per tenant: Qdrant's IDF (the sparse arm's `Modifier.IDF`) is computed over a whole shard, so in a
shared collection one tenant's documents shift another tenant's BM25 scores. A shard per tenant
makes each tenant's ranking depend on its own documents only. The Access filter (tenant and scope)
still goes inside every query: the shard narrows the corpus, the filter enforces the permissions.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Protocol

from activities.retrieval.sparse import SparseVector
from workflows.contracts.retrieval import Access

DENSE = "dense"
SPARSE = "sparse"
KEYWORD_FIELDS = ("tenant", "scope", "source")


@dataclass(frozen=True)
class IndexPoint:
    id: str
    dense: list[float]
    sparse: SparseVector
    payload: dict[str, Any]


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    # Empty on a ranking's candidates: a long query draws thousands, and converting every payload
    # cost more than the search itself (docs/retrieval.md, Speed); what is kept is read by `payloads`.
    payload: dict[str, Any] = field(default_factory=dict)


class KnowledgeIndex(Protocol):
    engine: str

    def existing_ids(self, tenant: str, scope: str, source: str) -> set[str]: ...
    def upsert(self, tenant: str, points: list[IndexPoint]) -> None: ...
    def delete(self, tenant: str, ids: list[str]) -> None: ...
    def dense(self, access: Access, vectors: list[list[float]], limit: int) -> list[list[Hit]]: ...
    def sparse(self, access: Access, vectors: list[SparseVector], limit: int) -> list[list[Hit]]: ...
    def payloads(self, tenant: str, ids: list[str]) -> dict[str, dict[str, Any]]: ...
    def all_payloads(self, tenant: str) -> dict[str, dict[str, Any]]: ...
    def unfiltered_dense(self, tenant: str, vector: list[float], limit: int) -> list[Hit]: ...
    def count(self, tenant: str) -> int: ...
    def close(self) -> None: ...


def tenant_slug(tenant: str) -> str:
    """A file- and collection-safe name for a tenant id; the hash keeps distinct ids distinct."""
    readable = re.sub(r"[^A-Za-z0-9_-]", "_", tenant)[:40]
    return f"{readable}-{hashlib.blake2b(tenant.encode(), digest_size=5).hexdigest()}"
