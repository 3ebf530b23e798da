"""One process holds a data directory's embedded retrieval stores; the others on the host use them through it.

Qdrant Edge and qdrant-client's local mode each lock their files: a second process cannot open them
(Edge: "failed to open WAL ... WouldBlock"). So the first worker to open them (the one `up` starts)
serves its knowledge base on a Unix socket in the data directory, `knowledge.sock`, and a second
worker or the knowledge CLI that finds the stores locked uses that socket instead: one writer, so
an ingestion from the CLI and the searches of running agents are serialised by the holder and
nothing is lost. The socket is the holder's file, mode 0600: only the user who may open the stores
may use it. Requests are one JSON line; answers are JSON lines (ingestion streams its progress first).
Each side embeds nothing for the other: the holder runs the whole operation, as it would for itself.

A Qdrant server (AGENT_QDRANT_URL) needs none of this: every process connects to it.
"""

from __future__ import annotations

import dataclasses
import json
import os
import socket
import socketserver
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from pydantic import BaseModel

from activities.memory.store import MemoryNotFound
from activities.retrieval.embeddings import EmbeddingError
from activities.retrieval.ingest import IngestProgress, InvalidScope
from activities.retrieval.runtime import build_knowledge_base
from activities.retrieval.settings import RetrievalSettings
from activities.retrieval.store import StoreError
from workflows.contracts.memory import MemoryRecord, ProposeMemoryInput, ProposeMemoryResult, RecalledMemory
from workflows.contracts.retrieval import Access, IngestPathsResult, Passage

log = structlog.get_logger(__name__)

SOCKET_NAME = "knowledge.sock"
# A request larger than this is refused: ingestion sends paths, not contents.
MAX_REQUEST = 1 << 20


class KnowledgeHostUnavailable(StoreError):
    """The process holding the stores did not answer; another attempt may reach it once it is back."""


def socket_path(data_dir: Path) -> Path:
    return data_dir / SOCKET_NAME


# --- the holder ---------------------------------------------------------------------------------------

# The memory methods the others may call; with the retriever's `search` and the ingestor's `ingest`,
# the whole surface of the knowledge base a worker, its tools and the CLI use.
_MEMORY_OPS = frozenset({"propose", "recall", "add", "list", "get", "correct", "pin", "delete"})
# Arguments that travel as JSON and are models again on the holder's side.
_MODEL_ARGS: dict[str, type[BaseModel]] = {"access": Access, "proposal": ProposeMemoryInput}


def _method(kb: Any, op: str) -> Callable[..., Any]:
    if op == "search":
        return kb.retriever.search
    if op == "ingest":
        return kb.ingestor.ingest_paths
    if op in _MEMORY_OPS:
        return getattr(kb.memory, op)
    if op == "ping":
        return lambda: None
    raise ValueError(f"unknown operation {op!r}")


def _json(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    return [_json(v) for v in value] if isinstance(value, list) else value


class KnowledgeHost:
    """Serves `kb` on the data directory's socket, one thread per connection, until `close`."""

    def __init__(self, kb: Any, data_dir: Path) -> None:
        self.path = socket_path(data_dir)

        class Handler(socketserver.StreamRequestHandler):
            timeout = 60  # a client that sends nothing, or stops reading, does not hold a thread for ever

            def handle(self) -> None:
                line = self.rfile.readline(MAX_REQUEST + 1)

                def send(message: dict) -> None:
                    self.wfile.write(json.dumps(message).encode() + b"\n")
                    self.wfile.flush()

                try:
                    if len(line) > MAX_REQUEST:
                        raise ValueError(f"request over {MAX_REQUEST} bytes")
                    request = json.loads(line)
                    op = request["op"]
                    args = {k: _MODEL_ARGS[k].model_validate(v) if k in _MODEL_ARGS else v
                            for k, v in request.get("args", {}).items()}
                    if op == "ingest":
                        args["progress"] = lambda p: send({"progress": dataclasses.asdict(p)})
                    send({"ok": _json(_method(kb, op)(**args))})
                except Exception as e:  # noqa: BLE001 - the caller re-raises it by type (_ERRORS)
                    send({"error": {"type": type(e).__name__, "message": str(e),
                                    "retryable": getattr(e, "retryable", None)}})

        class Server(socketserver.ThreadingUnixStreamServer):
            daemon_threads = True

        if len(str(self.path).encode()) > 100:  # the AF_UNIX limit is 108 bytes with the terminator
            raise StoreError(f"the data directory's path is too long for its knowledge socket ({self.path}): "
                             "use a shorter AGENT_DATA_DIR")
        # This process holds the stores' locks, so a socket file left here is a dead holder's.
        self.path.unlink(missing_ok=True)
        umask = os.umask(0o177)
        try:
            self._server = Server(str(self.path), Handler)
        finally:
            os.umask(umask)
        self._thread = threading.Thread(target=self._server.serve_forever, name="knowledge-host", daemon=True)
        self._thread.start()
        log.info("retrieval.host_serving", socket=str(self.path))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self.path.unlink(missing_ok=True)


def open_or_join(settings: RetrievalSettings, data_dir: Path, serve: bool) -> tuple[Any, KnowledgeHost | None]:
    """This process's own knowledge base (served to the host's other processes when `serve`), or, when
    another process holds the embedded stores and serves them, that process's."""
    remote = RemoteKnowledgeBase(socket_path(data_dir))
    if not settings.qdrant_url and remote.path.exists():
        # A holder that answers holds the stores' locks: join it without loading a model of our own.
        try:
            remote.ping()
            log.info("retrieval.host_joined", socket=str(remote.path))
            return remote, None
        except KnowledgeHostUnavailable:
            pass  # a dead holder's socket: the stores are free, or held by a process that does not serve
    kb = build_knowledge_base(settings)
    if not serve or settings.qdrant_url:  # a server: every process connects to it itself
        return kb, None
    try:
        return kb, KnowledgeHost(kb, data_dir)
    except (StoreError, OSError) as e:  # this process still works; only the others cannot join it
        log.warning("retrieval.host_not_serving", reason=str(e))
        return kb, None


# --- the others ---------------------------------------------------------------------------------------

_ERRORS: dict[str, Callable[[str, bool | None], Exception]] = {
    "MemoryNotFound": lambda m, _: MemoryNotFound(m),
    "InvalidScope": lambda m, _: InvalidScope(m),
    "EmbeddingError": lambda m, r: EmbeddingError(m, bool(r)),
    "StoreError": lambda m, _: StoreError(m),
    "FileNotFoundError": lambda m, _: FileNotFoundError(m),
    "ValueError": lambda m, _: ValueError(m),
}


class RemoteKnowledgeBase:
    """The knowledge base of the process holding the stores, with the same retriever, ingestor and
    memory methods the worker's activities, tools and the CLI call."""

    def __init__(self, path: Path, timeout_s: float = 600.0) -> None:
        self.path, self.timeout_s = path, timeout_s
        self.retriever, self.ingestor, self.memory = _Retriever(self), _Ingestor(self), _Memory(self)

    def call(self, op: str, args: dict, progress: Callable[[IngestProgress], None] | None = None) -> Any:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(self.timeout_s)
                conn.connect(str(self.path))
                conn.sendall(json.dumps({"op": op, "args": args}).encode() + b"\n")
                reader = conn.makefile("rb")
                for line in reader:
                    message = json.loads(line)
                    if "progress" in message:
                        if progress is not None:
                            progress(IngestProgress(**message["progress"]))
                        continue
                    if "error" in message:
                        error = message["error"]
                        make = _ERRORS.get(error["type"], lambda m, _: RuntimeError(m))
                        raise make(error["message"], error.get("retryable"))
                    return message["ok"]
        except OSError as e:
            raise KnowledgeHostUnavailable(
                f"the process that holds this data directory's knowledge stores ({self.path}) did not answer "
                f"({e}): start the worker that holds them again") from e
        raise KnowledgeHostUnavailable(f"the process that holds the knowledge stores ({self.path}) closed the "
                                       "connection without an answer")

    def ping(self) -> None:
        self.call("ping", {})

    def close(self) -> None:
        pass  # each call has its own connection


class _Retriever:
    def __init__(self, remote: RemoteKnowledgeBase) -> None:
        self.remote = remote

    def search(self, query: str, access: Access, limit: int = 5, mode: str = "hybrid",
               rerank_results: bool | None = None, by_document: bool = False) -> list[Passage]:
        found = self.remote.call("search", {"query": query, "access": access.model_dump(mode="json"), "limit": limit,
                                            "mode": mode, "rerank_results": rerank_results,
                                            "by_document": by_document})
        return [Passage.model_validate(p) for p in found]


class _Ingestor:
    def __init__(self, remote: RemoteKnowledgeBase) -> None:
        self.remote = remote

    def ingest_paths(self, paths: Any, tenant_id: str, scope: str = "tenant",
                     progress: Callable[[IngestProgress], None] | None = None) -> IngestPathsResult:
        # The holder reads the files: absolute paths, since its working directory is not the caller's.
        absolute = [str(Path(p).resolve()) for p in paths]
        return IngestPathsResult.model_validate(self.remote.call(
            "ingest", {"paths": absolute, "tenant_id": tenant_id, "scope": scope}, progress))


class _Memory:
    def __init__(self, remote: RemoteKnowledgeBase) -> None:
        self.remote = remote

    def propose(self, proposal: ProposeMemoryInput) -> ProposeMemoryResult:
        return ProposeMemoryResult.model_validate(self.remote.call("propose", {"proposal": proposal.model_dump(mode="json")}))

    def recall(self, access: Access, query: str, limit: int = 5) -> list[RecalledMemory]:
        found = self.remote.call("recall", {"access": access.model_dump(mode="json"), "query": query, "limit": limit})
        return [RecalledMemory.model_validate(m) for m in found]

    def add(self, tenant_id: str, scope: str, subject_id: str | None, type: str, content: str, by: str,
            pinned: bool = False) -> MemoryRecord:
        return self._record("add", tenant_id=tenant_id, scope=scope, subject_id=subject_id, type=type, content=content,
                            by=by, pinned=pinned)

    def list(self, tenant_id: str, subject: str | None = None) -> list[MemoryRecord]:
        return [MemoryRecord.model_validate(r) for r in self.remote.call("list", {"tenant_id": tenant_id, "subject": subject})]

    def get(self, tenant_id: str, memory_id: str) -> MemoryRecord:
        return self._record("get", tenant_id=tenant_id, memory_id=memory_id)

    def correct(self, tenant_id: str, memory_id: str, content: str, by: str) -> MemoryRecord:
        return self._record("correct", tenant_id=tenant_id, memory_id=memory_id, content=content, by=by)

    def pin(self, tenant_id: str, memory_id: str, pinned: bool, by: str) -> MemoryRecord:
        return self._record("pin", tenant_id=tenant_id, memory_id=memory_id, pinned=pinned, by=by)

    def delete(self, tenant_id: str, memory_id: str, by: str) -> MemoryRecord:
        return self._record("delete", tenant_id=tenant_id, memory_id=memory_id, by=by)

    def _record(self, op: str, **args: Any) -> MemoryRecord:
        return MemoryRecord.model_validate(self.remote.call(op, args))
