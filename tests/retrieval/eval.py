"""Retrieval quality on the shipped labelled set: dense, sparse, hybrid (and hybrid + re-rank) side by side.

    python -m tests.retrieval.eval [--runs 3]

Ingests tests/retrieval/corpus/ into a fresh local store, asks every question of eval_set.json in each
mode, and prints recall@5, recall@10 and MRR, plus per-query latency p50/p95 (embedding + Qdrant query,
measured after a warm-up). A passage is relevant when it comes from an answer's source and overlaps the
answer's quoted span; recall is the share of a question's answer spans found in the top k.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from activities.retrieval.contracts import Access, Passage
from activities.retrieval.documents import discover, load
from activities.retrieval.runtime import KnowledgeBase, build_knowledge_base
from activities.retrieval.search import timed_search
from activities.retrieval.settings import load_retrieval_settings

HERE = Path(__file__).parent
CORPUS = HERE / "corpus"
EVAL_SET = HERE / "eval_set.json"
TENANT = "eval"
MODES = [("dense", False), ("sparse", False), ("hybrid", False), ("hybrid", True)]


@dataclass(frozen=True)
class Span:
    source: str
    start: int
    end: int


@dataclass(frozen=True)
class ModeReport:
    name: str
    recall_at_5: float
    recall_at_10: float
    mrr: float
    p50_ms: float
    p95_ms: float


def load_questions(corpus: Path = CORPUS, eval_set: Path = EVAL_SET) -> list[tuple[str, list[Span]]]:
    """Questions with their answer spans located in the extracted text (the same text that is chunked)."""
    texts = {source: load(file, source).text for file, source in discover(corpus)}
    out = []
    for q in json.loads(eval_set.read_text())["questions"]:
        spans = []
        for answer in q["answers"]:
            text = texts[answer["source"]]
            start = text.find(answer["quote"])
            if start < 0:
                raise ValueError(f"{q['id']}: quote not found in {answer['source']}: {answer['quote']!r}")
            spans.append(Span(answer["source"], start, start + len(answer["quote"])))
        out.append((q["question"], spans))
    return out


def _hits(passages: list[Passage], span: Span) -> list[int]:
    return [rank for rank, p in enumerate(passages, 1)
            if p.source == span.source and p.start < span.end and p.end > span.start]


def evaluate(kb: KnowledgeBase, questions: list[tuple[str, list[Span]]], runs: int = 1) -> list[ModeReport]:
    access = Access(tenant_id=TENANT, user_id="evaluator")
    timed_search(kb.retriever, "warm up", access, 10, "hybrid", True)  # first ONNX run allocates
    reports = []
    for mode, rerank in MODES:
        r5, r10, rr, latencies = [], [], [], []
        for _ in range(runs):
            for question, spans in questions:
                passages, ms = timed_search(kb.retriever, question, access, 10, mode, rerank)
                latencies.append(ms)
                ranks = [_hits(passages, s) for s in spans]
                r5.append(sum(1 for h in ranks if any(r <= 5 for r in h)) / len(spans))
                r10.append(sum(1 for h in ranks if h) / len(spans))
                first = min((r for h in ranks for r in h), default=None)
                rr.append(1 / first if first else 0.0)
        latencies.sort()
        reports.append(ModeReport(
            name=f"{mode}+rerank" if rerank else mode,
            recall_at_5=statistics.fmean(r5), recall_at_10=statistics.fmean(r10), mrr=statistics.fmean(rr),
            p50_ms=latencies[len(latencies) // 2], p95_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))],
        ))
    return reports


def ingest_corpus(kb: KnowledgeBase, corpus: Path = CORPUS) -> None:
    kb.ingestor.ingest_paths([corpus], TENANT)


def format_table(reports: list[ModeReport], questions: int, chunks: int) -> str:
    lines = [f"{questions} questions over {chunks} chunks", "",
             f"{'mode':<15} {'recall@5':>9} {'recall@10':>10} {'MRR':>7} {'p50 ms':>8} {'p95 ms':>8}"]
    for r in reports:
        lines.append(f"{r.name:<15} {r.recall_at_5:>9.3f} {r.recall_at_10:>10.3f} {r.mrr:>7.3f} "
                     f"{r.p50_ms:>8.1f} {r.p95_ms:>8.1f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="passes over the question set (latency samples)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        kb = build_knowledge_base(load_retrieval_settings(Path(tmp), environ={}))
        try:
            ingest_corpus(kb)
            questions = load_questions()
            chunks = kb.store.call(kb.store.client.count, kb.settings.knowledge_collection).count
            print(format_table(evaluate(kb, questions, args.runs), len(questions), chunks))
        finally:
            kb.close()


if __name__ == "__main__":
    main()
