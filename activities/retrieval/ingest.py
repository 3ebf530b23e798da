"""Ingest local files: load, chunk, embed, and upsert idempotently into the knowledge collection.

A chunk's point id is derived from (tenant, scope, source, chunk index, chunk digest), so re-ingesting
an unchanged file finds every id already stored and writes nothing, and a changed file writes only its
new chunks and deletes the stale ones. The embedding cache makes even a changed file cheap: only
chunks whose text changed are embedded again.

Cost is proportional to the document, not to the index: the ids already stored for a document are
found through the `source` payload index of the tenant's shard (see index.py), never by a scan.
What is embedded and indexed for each chunk starts with the document's title and heading path.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog

from activities.retrieval import sparse
from activities.retrieval.chunking import Chunk, chunk_text
from activities.retrieval.documents import Document, UnsupportedDocument, discover, load
from activities.retrieval.embedding_cache import CachedEmbedder, text_digest
from activities.retrieval.index import IndexPoint, KnowledgeIndex
from workflows.contracts.retrieval import TENANT_SCOPE, IngestPathsResult

log = structlog.get_logger(__name__)
_ID_NAMESPACE = uuid.UUID("6f1c2f4e-9a7b-4d0e-8a55-6c1b8f0e7a10")
_DOCUMENT_SCOPE = re.compile(r"^(tenant|team:[^\s]+|user:[^\s]+)$")
_TITLE = re.compile(r"\A\s*#[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


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


def document_title(doc: Document) -> str:
    """The document's top heading if it opens with one, else its file name in words ('card-fees.txt')."""
    if m := _TITLE.match(doc.text):
        return m.group(1).strip()
    stem = Path(doc.source).stem
    return re.sub(r"[-_]+", " ", stem).strip() or doc.source


class Ingestor:
    def __init__(self, index: KnowledgeIndex, embedder: CachedEmbedder) -> None:
        self.index = index
        self.embedder = embedder

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
        existing = self.index.existing_ids(tenant_id, scope, doc.source)
        new_ids = [pid for pid in wanted if pid not in existing]
        stale = sorted(existing - wanted.keys())
        if new_ids:
            self._upsert(doc, tenant_id, scope, [(pid, wanted[pid]) for pid in new_ids])
        if stale:
            self.index.delete(tenant_id, stale)
        return {"chunks": len(chunks), "added": len(new_ids), "unchanged": len(chunks) - len(new_ids),
                "removed": len(stale)}

    def _upsert(self, doc: Document, tenant_id: str, scope: str, items: list[tuple[str, Chunk]]) -> None:
        title = document_title(doc)
        texts = [c.embedding_text(title) for _, c in items]
        vectors = self.embedder.embed(texts)
        now = time.time()
        doc_digest = text_digest(doc.text)
        points = []
        for (pid, chunk), text, dense in zip(items, texts, vectors, strict=True):
            points.append(IndexPoint(
                id=pid, dense=dense, sparse=sparse.document_vector(text),
                payload={
                    "tenant": tenant_id, "scope": scope, "source": doc.source, "kind": doc.kind,
                    "title": title, "chunk_index": chunk.index, "start": chunk.start, "end": chunk.end,
                    "section": chunk.section, "text": chunk.text, "digest": chunk.digest,
                    "doc_digest": doc_digest, "created_at": now,
                },
            ))
        self.index.upsert(tenant_id, points)
