"""The knowledge CLI: ingest files, try searches, and let people inspect and correct memory.

    python -m worker.knowledge_cli ingest docs/ --tenant acme [--scope team:eng]
    python -m worker.knowledge_cli search "how do approvals expire?" --tenant acme --user alice
    python -m worker.knowledge_cli [--json] memory list --tenant acme [--subject user:alice]
    python -m worker.knowledge_cli memory add "Alice wants summaries first" --tenant acme --scope user --id alice --by bob
    python -m worker.knowledge_cli memory correct MEMORY_ID "corrected text" --tenant acme --by bob
    python -m worker.knowledge_cli memory pin|unpin|delete MEMORY_ID --tenant acme --by bob
    python -m worker.knowledge_cli memory show MEMORY_ID --tenant acme

It uses the same store the worker uses (AGENT_DATA_DIR / AGENT_QDRANT_URL). The embedded stores allow
one process: with a worker running on the data directory, the CLI goes through that worker
(activities/retrieval/shared.py), so ingestion and searches work while runs retrieve.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import cast

from activities.memory.store import MemoryNotFound
from activities.retrieval.embeddings import EmbeddingError
from activities.retrieval.ingest import IngestProgress, InvalidScope
from activities.retrieval.render import citation_line
from activities.retrieval.runtime import KnowledgeBase
from activities.retrieval.shared import open_or_join
from activities.retrieval.store import StoreError
from worker import cli
from worker.logging import configure_logging
from worker.retrieval_settings import RetrievalSettingsError, load_retrieval_settings
from worker.settings import SettingsError, load_settings
from workflows.contracts.memory import MemoryRecord
from workflows.contracts.retrieval import Access


def build_parser() -> argparse.ArgumentParser:
    parser = cli.Parser(prog="python -m worker.knowledge_cli", description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="ingest files and folders (txt, md, html, pdf); re-running changes nothing")
    ingest.add_argument("paths", nargs="+")
    ingest.add_argument("--tenant", required=True)
    ingest.add_argument("--scope", default="tenant", help="'tenant' (default), 'team:<id>' or 'user:<id>'")

    search = sub.add_parser("search", help="search as a given user would (same permission filter as runs)")
    search.add_argument("query")
    search.add_argument("--tenant", required=True)
    search.add_argument("--user", required=True)
    search.add_argument("--team", action="append", default=[], help="a team the user belongs to (repeatable)")
    search.add_argument("--mode", choices=["dense", "sparse", "hybrid"], default="hybrid")
    search.add_argument("--limit", type=int, default=5)
    search.add_argument("--rerank", action="store_true")
    search.add_argument("--by-document", action="store_true", help="one passage per distinct document")

    memory = sub.add_parser("memory", help="list, show, add, correct, pin, unpin and delete memories")
    msub = memory.add_subparsers(dest="action", required=True)
    lst = msub.add_parser("list")
    lst.add_argument("--tenant", required=True)
    lst.add_argument("--subject", help="'tenant', 'team:<id>', 'user:<id>' or 'run:<id>'")
    add = msub.add_parser("add", help="a person's memory: confidence 1, never overwritten by the agent")
    add.add_argument("content")
    add.add_argument("--tenant", required=True)
    add.add_argument("--scope", choices=["user", "team", "tenant"], required=True)
    add.add_argument("--id", help="the user or team id for --scope user/team")
    add.add_argument("--type", choices=["preference", "fact", "episode"], default="fact")
    add.add_argument("--by", required=True, help="who is adding it (recorded)")
    add.add_argument("--pin", action="store_true")
    correct = msub.add_parser("correct", help="replace a memory's content (confidence 1, recorded)")
    correct.add_argument("memory_id")
    correct.add_argument("content")
    correct.add_argument("--tenant", required=True)
    correct.add_argument("--by", required=True, help="who is making the change (recorded)")
    for name in ("show", "pin", "unpin", "delete"):
        p = msub.add_parser(name)
        p.add_argument("memory_id")
        p.add_argument("--tenant", required=True)
        if name != "show":
            p.add_argument("--by", required=True, help="who is making the change (recorded)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging("warning")  # logs go to stderr; stdout stays clean for --json
    try:
        data_dir = load_settings().data_dir
        # With a worker running on this data directory, it holds the stores: the CLI goes through it.
        opened, _ = open_or_join(load_retrieval_settings(data_dir), data_dir, serve=False)
        kb = cast(KnowledgeBase, opened)
    except (SettingsError, RetrievalSettingsError, StoreError, EmbeddingError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    try:
        return _dispatch(kb, args)
    except (MemoryNotFound, InvalidScope, FileNotFoundError, ValueError, EmbeddingError, StoreError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        kb.close()


def _dispatch(kb: KnowledgeBase, args: argparse.Namespace) -> int:
    if args.command == "ingest":
        result = kb.ingestor.ingest_paths(args.paths, args.tenant, args.scope, _progress_printer())
        _out(args, result.model_dump(), f"{result.files} files, {result.chunks} chunks: {result.added} added, "
             f"{result.unchanged} unchanged, {result.removed} removed, {result.embedded} embedded"
             + "".join(f"\nskipped: {s}" for s in result.skipped))
        return 0
    if args.command == "search":
        access = Access(tenant_id=args.tenant, user_id=args.user, team_ids=args.team)
        passages = kb.retriever.search(args.query, access, args.limit, args.mode, args.rerank or None,
                                       by_document=args.by_document)
        text = "\n\n".join(f"{citation_line(p)}  score={p.score:.4f}\n{p.text}" for p in passages) or "no passages"
        _out(args, [p.model_dump() for p in passages], text)
        return 0
    memory = kb.memory
    if args.action == "list":
        records = memory.list(args.tenant, args.subject)
        _out(args, [r.model_dump(mode="json") for r in records], "\n".join(map(_line, records)) or "no memories")
        return 0
    if args.action == "add":
        record = memory.add(args.tenant, args.scope, args.id, args.type, args.content, args.by, args.pin)
    elif args.action == "show":
        record = memory.get(args.tenant, args.memory_id)
    elif args.action == "correct":
        record = memory.correct(args.tenant, args.memory_id, args.content, args.by)
    elif args.action in ("pin", "unpin"):
        record = memory.pin(args.tenant, args.memory_id, args.action == "pin", args.by)
    else:
        record = memory.delete(args.tenant, args.memory_id, args.by)
        _out(args, {"deleted": record.memory_id}, f"deleted {record.memory_id}: it will not be retrieved again")
        return 0
    _out(args, record.model_dump(mode="json"), json.dumps(record.model_dump(mode="json"), indent=2))
    return 0


def _line(r: MemoryRecord) -> str:
    flags = "".join([" pinned" if r.pinned else "", f" corrected-by:{r.corrected_by}" if r.corrected_by else "",
                     f" expires:{r.expires_at:%Y-%m-%d}" if r.expires_at else ""])
    return (f"{r.memory_id}  {r.subject:<16} {r.type:<10} conf={r.confidence:.2f} "
            f"updated={r.updated_at:%Y-%m-%d %H:%M}{flags}\n    {r.content}")


def _out(args: argparse.Namespace, data: object, text: str) -> None:
    print(json.dumps(data, indent=2, default=str) if args.json else text)


def _progress_printer():
    """Progress on stderr: one rewritten line on a terminal, a line per tenth of the files otherwise."""
    tty = sys.stderr.isatty()

    def show(p: IngestProgress) -> None:
        line = f"[{p.files_done}/{p.files_total}] {p.chunks} chunks  {p.source}"
        if tty:
            print(f"\r\033[K{line}", end="" if p.files_done < p.files_total else "\n", file=sys.stderr, flush=True)
        elif p.files_done == p.files_total or p.files_done % max(1, p.files_total // 10) == 0:
            print(line, file=sys.stderr, flush=True)

    return show


if __name__ == "__main__":
    sys.exit(main())
