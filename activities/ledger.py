"""The exactly-once ledger: one receipt per idempotency key, in SQLite.

Temporal retries an activity whose worker died, so a tool can be asked twice for the same call. The
ledger makes the second ask return the first answer: `begin` tells the caller whether the key is new,
already recorded, or interrupted (a worker died between `begin` and `finish`), and the caller acts on
that. Each call opens its own connection so activity threads never share one.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tool_receipts (
    idempotency_key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('started', 'succeeded', 'failed')),
    attempts INTEGER NOT NULL,
    pre_state TEXT NOT NULL DEFAULT '{}',
    result TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
)
"""


class LedgerConflict(Exception):
    """The same idempotency key arrived with different arguments: never act on it."""


@dataclass(frozen=True)
class Begin:
    state: Literal["new", "recorded", "interrupted"]
    attempts: int
    pre_state: dict[str, Any]
    status: str | None = None
    result: dict[str, Any] | None = None


class Ledger:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(self._connect()) as db, db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute("PRAGMA synchronous=FULL")  # a receipt must survive the crash it guards against
        return db

    def begin(self, key: str, run_id: str, tool: str, arguments_hash: str) -> Begin:
        now = time.time()
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT arguments_hash, status, attempts, pre_state, result"
                    " FROM tool_receipts WHERE idempotency_key = ?",
                    (key,),
                ).fetchone()
                if row is None:
                    db.execute(
                        "INSERT INTO tool_receipts VALUES (?, ?, ?, ?, 'started', 1, '{}', NULL, ?, ?)",
                        (key, run_id, tool, arguments_hash, now, now),
                    )
                    db.execute("COMMIT")
                    return Begin("new", 1, {})
                recorded_hash, status, attempts, pre_state, result = row
                if recorded_hash != arguments_hash:
                    db.execute("ROLLBACK")
                    raise LedgerConflict(
                        f"idempotency key {key!r} was used for arguments {recorded_hash[:12]}, "
                        f"now {arguments_hash[:12]}"
                    )
                if status != "started":
                    db.execute("ROLLBACK")
                    return Begin("recorded", attempts, json.loads(pre_state), status, json.loads(result))
                db.execute(
                    "UPDATE tool_receipts SET attempts = attempts + 1, updated_at = ? WHERE idempotency_key = ?",
                    (now, key),
                )
                db.execute("COMMIT")
                return Begin("interrupted", attempts + 1, json.loads(pre_state))
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    def save_pre_state(self, key: str, pre_state: dict[str, Any]) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "UPDATE tool_receipts SET pre_state = ?, updated_at = ? WHERE idempotency_key = ?",
                (json.dumps(pre_state), time.time(), key),
            )

    def finish(self, key: str, status: Literal["succeeded", "failed"], result: dict[str, Any]) -> None:
        with closing(self._connect()) as db:
            db.execute(
                "UPDATE tool_receipts SET status = ?, result = ?, updated_at = ? WHERE idempotency_key = ?",
                (status, json.dumps(result), time.time(), key),
            )

    def receipt(self, key: str) -> dict[str, Any] | None:
        """One receipt as a dict, for operators and tests."""
        with closing(self._connect()) as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM tool_receipts WHERE idempotency_key = ?", (key,)).fetchone()
            return dict(row) if row else None
