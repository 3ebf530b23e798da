"""Ingest local files: load, chunk, embed, and upsert idempotently into the knowledge collection.

A chunk's point id is derived from (tenant, scope, source, chunk index, chunk digest), so re-ingesting
an unchanged file finds every id already stored and writes nothing, and a changed file writes only its
new chunks and deletes the stale ones. The embedding cache makes even a changed file cheap: only
chunks whose text changed are embedded again.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog
from qdrant_client import models

from activities.retrieval import sparse
from activities.retrieval.chunking import Chunk, chunk_text
from activities.retrieval.contracts import TENANT_SCOPE, IngestPathsResult
from activities.retrieval.documents import Document, UnsupportedDocument, discover, load
from activities.retrieval.embedding_cache import CachedEmbedder, text_digest
from activities.retrieval.permissions import exact_scope_filter
from activities.retrieval.store import DENSE, SPARSE, QdrantStore

log = structlog.get_logger(__name__)
_ID_NAMESPACE = uuid.UUID("6f1c2f4e-9a7b-4d0e-8a55-6c1b8f0e7a10")
_DOCUMENT_SCOPE = re.compile(r"^(tenant|team:[^\s]+|user:[^\s]+)$")


@dataclass(frozen=True)
class IngestProgress:
    files_done: int
    files_total: int
    chunks: int
    source: str


ProgressCallback = Callable[[IngestProgress], None]


class InvalidScope(ValueError):
    pass


def chunk_point_id(tenant: str, scope: str, source: str, chunk: Chunk) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, "\x1f".join([tenant, scope, source, str(chunk.index), chunk.digest])))


class Ingestor:
    def __init__(self, store: QdrantStore, embedder: CachedEmbedder, collection: str) -> None:
        self.store = store
        self.embedder = embedder
        self.collection = collection

    def ingest_paths(self, paths: Iterable[str | Path], tenant_id: str, scope: str = TENANT_SCOPE,
                     progress: ProgressCallback | None = None) -> IngestPathsResult:
        if not _DOCUMENT_SCOPE.match(scope):
            raise InvalidScope(f"document scope must be 'tenant', 'team:<id>' or 'user:<id>', got {scope!r}")
        files = [item for p in paths for item in discover(Path(p))]
        misses_before = self.embedder.misses
        totals = {"chunks": 0, "added": 0, "unchanged": 0, "removed": 0}
        skipped: list[str] = []
        for done, (file, source) in enumerate(files, 1):
            try:
                counts = self.ingest_document(load(file, source), tenant_id, scope)
            except (UnsupportedDocument, UnicodeDecodeError, OSError) as e:
                skipped.append(str(e))
                log.warning("retrieval.ingest_skipped", source=source, reason=str(e))
                counts = {}
            for key in totals:
                totals[key] += counts.get(key, 0)
            if progress:
                progress(IngestProgress(done, len(files), totals["chunks"], source))
        result = IngestPathsResult(files=len(files) - len(skipped), skipped=skipped,
                                   embedded=self.embedder.misses - misses_before, **totals)
        log.info("retrieval.ingested", tenant=tenant_id, scope=scope, **result.model_dump(exclude={"skipped"}))
        return result

    def ingest_document(self, doc: Document, tenant_id: str, scope: str) -> dict[str, int]:
        chunks = chunk_text(doc.text)
        wanted = {chunk_point_id(tenant_id, scope, doc.source, c): c for c in chunks}
        source_filter = exact_scope_filter(
            tenant_id, scope, models.FieldCondition(key="source", match=models.MatchValue(value=doc.source))
        )
        existing = {str(r.id) for r in self.store.scroll_all(self.collection, source_filter, with_payload=False)}
        new_ids = [pid for pid in wanted if pid not in existing]
        stale = sorted(existing - wanted.keys())
        if new_ids:
            self._upsert(doc, tenant_id, scope, [(pid, wanted[pid]) for pid in new_ids])
        if stale:
            self.store.call(self.store.client.delete, self.collection,
                            points_selector=models.PointIdsList(points=stale), wait=True)
        return {"chunks": len(chunks), "added": len(new_ids), "unchanged": len(chunks) - len(new_ids),
                "removed": len(stale)}

    def _upsert(self, doc: Document, tenant_id: str, scope: str, items: list[tuple[str, Chunk]]) -> None:
        vectors = self.embedder.embed([c.embedding_text() for _, c in items])
        now = time.time()
        doc_digest = text_digest(doc.text)
        points = []
        for (pid, chunk), dense in zip(items, vectors, strict=True):
            sv = sparse.document_vector(chunk.embedding_text())
            points.append(models.PointStruct(
                id=pid,
                vector={DENSE: dense, SPARSE: models.SparseVector(indices=sv.indices, values=sv.values)},
                payload={
                    "tenant": tenant_id, "scope": scope, "source": doc.source, "kind": doc.kind,
                    "chunk_index": chunk.index, "start": chunk.start, "end": chunk.end,
                    "section": chunk.section, "text": chunk.text, "digest": chunk.digest,
                    "doc_digest": doc_digest, "created_at": now,
                },
            ))
        for i in range(0, len(points), 128):
            self.store.call(self.store.client.upsert, self.collection, points=points[i : i + 128], wait=True)
