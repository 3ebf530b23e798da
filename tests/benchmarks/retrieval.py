"""Speed of the knowledge index at 10,000 chunks across 3 tenants: ingestion and every query mode, per engine.

    python -m tests.benchmarks.retrieval [--chunks 10000] [--engines edge,local] [--url http://localhost:6333]

What is measured is the index and the ranking code (Ingestor, Retriever, fusion), not the embedding
model: documents are synthetic (pseudo-words with a Zipf distribution, ~10 chunks each) and vectors
come from a seeded pseudo-embedder, so that 10,000 chunks ingest in seconds on two cores. The real
MiniLM's query cost is measured separately at the end (short question; 1-3 KB scenario, its segments in one batch),
and adds to every dense and hybrid figure.

Ingestion: the median time per document over the first and the last 10% of documents; equal means
the cost is proportional to the new chunks, a growing ratio means a scan of what is already stored.
The look-up of a document's stored ids (what ingestion reads before writing) is timed at the end.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from activities.retrieval.documents import Document
from activities.retrieval.runtime import build_knowledge_base
from activities.retrieval.settings import RetrievalSettings
from workflows.contracts.retrieval import Access

TENANTS = ["acme", "globex", "initech"]
CHUNKS_PER_DOC = 10


class PseudoEmbedder:
    """Deterministic unit vectors from a text's hash: the shape of embeddings without the model's cost."""

    model_id = "pseudo-384"
    dim = 384

    def embed(self, texts: list[str]) -> list[list[float]]:
        out = []
        for text in texts:
            seed = int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
            out.append((v / np.linalg.norm(v)).tolist())
        return out


def _words(rng: random.Random, vocab: list[str], weights: list[float], n: int) -> str:
    return " ".join(rng.choices(vocab, weights, k=n))


def _documents(total_chunks: int, seed: int = 1) -> list[tuple[str, Document]]:
    rng = random.Random(seed)
    vocab = [f"term{i}" for i in range(20_000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    docs = []
    for i in range(total_chunks // CHUNKS_PER_DOC):
        sections = "\n\n".join(f"## Part {j}\n\n{_words(rng, vocab, weights, 80)}." for j in range(CHUNKS_PER_DOC))
        docs.append((TENANTS[i % len(TENANTS)], Document(f"doc-{i}.md", "markdown", f"# Document {i}\n\n{sections}")))
    return docs


def _pct(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    return values[len(values) // 2], values[min(len(values) - 1, int(len(values) * 0.95))]


def bench_engine(engine: str, docs: list[tuple[str, Document]], tmp: Path, url: str = "") -> list[str]:
    settings = RetrievalSettings(qdrant_url=url, qdrant_path=tmp / f"{engine}-q", qdrant_edge_path=tmp / f"{engine}-e",
                                 embedding_cache=tmp / f"{engine}-cache.sqlite",
                                 knowledge_engine="local" if engine == "local" else "edge",
                                 knowledge_collection=f"bench{int(time.time())}").with_secrets(os.environ)
    kb = build_knowledge_base(settings, embedder=PseudoEmbedder())
    lines = []
    try:
        per_doc = []
        start = time.perf_counter()
        for tenant, doc in docs:
            t0 = time.perf_counter()
            kb.ingestor.ingest_document(doc, tenant, "tenant")
            per_doc.append((time.perf_counter() - t0) * 1000)
        total = time.perf_counter() - start
        tenth = max(len(per_doc) // 10, 1)
        first, last = np.median(per_doc[:tenth]), np.median(per_doc[-tenth:])
        chunks = sum(kb.index.count(t) for t in TENANTS)
        lookups = []
        for tenant, doc in docs[:20]:  # the look-up that decides what to write, now that the index is full
            t0 = time.perf_counter()
            kb.index.existing_ids(tenant, "tenant", doc.source)
            lookups.append((time.perf_counter() - t0) * 1000)
        lines.append(f"{engine}: ingested {chunks} chunks in {total:.1f} s; median per document {first:.1f} ms "
                     f"(first 10%) vs {last:.1f} ms (last 10%), ratio {last / first:.2f}; existing-ids look-up "
                     f"at {chunks} chunks: median {np.median(lookups):.1f} ms")
        rng = random.Random(7)
        vocab = [f"term{i}" for i in range(2_000)]
        short = [" ".join(rng.choices(vocab, k=8)) for _ in range(40)]
        long = ["\n\n".join(". ".join(" ".join(rng.choices(vocab, k=12)) for _ in range(5)) for _ in range(6))
                for _ in range(40)]  # ~2.4 KB in six paragraphs, like a customer scenario
        access = Access(tenant_id="globex", user_id="bench")
        lines.append("| engine | query | mode | by | p50 ms | p95 ms |\n|---|---|---|---|---|---|")
        for label, queries in (("short", short), ("long", long)):
            for mode in ("dense", "sparse", "hybrid"):
                for by_document in (False, True):
                    kb.retriever.search(queries[0], access, 10, mode, by_document=by_document)  # warm-up
                    latencies = []
                    for q in queries:
                        t0 = time.perf_counter()
                        kb.retriever.search(q, access, 10, mode, by_document=by_document)
                        latencies.append((time.perf_counter() - t0) * 1000)
                    p50, p95 = _pct(latencies)
                    lines.append(f"| {engine} | {label} | {mode} | {'document' if by_document else 'passage'} "
                                 f"| {p50:.1f} | {p95:.1f} |")
    finally:
        kb.close()
    return lines


def bench_embedding() -> list[str]:
    from activities.retrieval.embeddings import MiniLMEmbedder
    from activities.retrieval.long_query import segments
    from tests.retrieval.scenarios.scenarios import scenarios

    model = MiniLMEmbedder()
    long = [q for q, _ in scenarios()[:20]]
    short = ["when does an approval expire?", "how much does it cost to send money abroad?"] * 10
    model.embed(short[:1])
    lines = []
    for label, queries in (("short", short), ("long (its paragraph segments)", long)):
        latencies = []
        for q in queries:
            parts = segments(q)
            t0 = time.perf_counter()
            model.embed(parts)
            latencies.append((time.perf_counter() - t0) * 1000)
        p50, p95 = _pct(latencies)
        lines.append(f"MiniLM query embedding, {label}: p50 {p50:.1f} ms, p95 {p95:.1f} ms")
    return lines


def bench_long_queries(tmp: Path, chunks: int) -> list[str]:
    """End to end, as a worker answers them: the real MiniLM embeds each long scenario's paragraphs (no
    vector kept from an earlier query), and Edge ranks them among `chunks` chunks of one tenant.

    The chunks are the Northbridge documents copied into numbered editions, so the sparse arm meets the
    scenarios' real words; their stored vectors come from the pseudo-embedder (embedding 10,000 chunks
    with MiniLM would take minutes), which changes what ranks first but not what ranking costs.
    """
    from activities.retrieval.embeddings import MiniLMEmbedder
    from activities.retrieval.query_vectors import QueryVectors
    from tests.retrieval.scenarios.documents import CONTACT, DOCS, LEGAL
    from tests.retrieval.scenarios.scenarios import scenarios

    settings = RetrievalSettings(qdrant_path=tmp / "long-q", qdrant_edge_path=tmp / "long-e",
                                 embedding_cache=tmp / "long-cache.sqlite")
    kb = build_knowledge_base(settings, embedder=PseudoEmbedder())
    access = Access(tenant_id="acme", user_id="bench")
    try:
        edition = 0
        while kb.index.count(access.tenant_id) < chunks:
            for slug, (title, sections, _) in DOCS.items():
                body = "\n\n".join(f"## {name}\n\n{text} Edition {edition}." for name, text in sections)
                kb.ingestor.ingest_document(Document(f"edition-{edition}/{slug}.md", "markdown",
                                                     f"# {title}\n\n{body}\n\n{CONTACT}\n\n{LEGAL}\n"),
                                            access.tenant_id, "tenant")
            edition += 1
        kb.retriever.embedder = QueryVectors(MiniLMEmbedder())
        queries = [q for q, _ in scenarios()] + [q for q, _ in scenarios(seed=99)]
        gc.collect()
        gc.freeze()  # as the worker does after start-up (worker/main.py)
        lines = [f"Long scenario queries end to end at {kb.index.count(access.tenant_id)} chunks in one tenant "
                 f"({len(queries)} queries, 1-3 KB, MiniLM embedding each time):",
                 "| mode | by | limit | p50 ms | p95 ms |", "|---|---|---|---|---|"]
        for mode, by_document, limit in (("hybrid", False, 10), ("hybrid", True, 8), ("dense", False, 10),
                                         ("sparse", False, 10)):
            kb.retriever.search(queries[0], access, limit, mode, by_document=by_document)  # warm-up
            latencies = []
            for q in queries:
                kb.retriever.embedder.clear()
                t0 = time.perf_counter()
                kb.retriever.search(q, access, limit, mode, by_document=by_document)
                latencies.append((time.perf_counter() - t0) * 1000)
            p50, p95 = _pct(latencies)
            lines.append(f"| {mode} | {'document' if by_document else 'passage'} | {limit} | {p50:.1f} | {p95:.1f} |")
    finally:
        gc.unfreeze()
        kb.close()
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--engines", default="edge,local")
    parser.add_argument("--url", default="", help="also measure a Qdrant server at this URL")
    parser.add_argument("--long-only", action="store_true", help="only the end-to-end long-query table")
    args = parser.parse_args()
    if args.long_only:
        with tempfile.TemporaryDirectory() as tmp:
            print("\n".join(bench_long_queries(Path(tmp), args.chunks)))
        return
    docs = _documents(args.chunks)
    engines = args.engines.split(",") + (["server"] if args.url else [])
    with tempfile.TemporaryDirectory() as tmp:
        for engine in engines:
            print("\n".join(bench_engine(engine, docs, Path(tmp), args.url if engine == "server" else "")), flush=True)
            print(flush=True)
        print("\n".join(bench_long_queries(Path(tmp), args.chunks)), flush=True)
    print("\n".join(bench_embedding()))


if __name__ == "__main__":
    main()
