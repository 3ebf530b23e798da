"""The ledger in SQLite: the embedded default, one file under the data directory.

Each transaction borrows a connection from a small pool, so activity threads never share one at the
same time; the pool keeps them open because closing the last connection checkpoints the WAL, which
cost more than the transaction itself. BEGIN IMMEDIATE takes the write lock before the receipt is
read, so two attempts of one call can never both claim it.
`synchronous=FULL`: a receipt must survive the crash it guards against.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from activities.ledger.base import LEASE_COLUMNS, SCHEMA, LedgerBackend, Query

# Ledgers written before the state machine had proposed/approved/outcome_unknown: same key columns,
# a narrower CHECK. They are copied into the new table once, at open.
_LEGACY_COPY = (
    "INSERT INTO tool_receipts (idempotency_key, run_id, tool, arguments_hash, status, attempts, pre_state,"
    " result, created_at, updated_at) SELECT idempotency_key, run_id, tool, arguments_hash, status, attempts,"
    " pre_state, result, created_at, updated_at FROM tool_receipts_legacy"
)


class SqliteLedger(LedgerBackend):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        with closing(self._connect()) as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("BEGIN IMMEDIATE")
            columns = {row[1] for row in db.execute("PRAGMA table_info(tool_receipts)")}
            legacy = bool(columns) and "decision" not in columns
            if legacy:
                db.execute("ALTER TABLE tool_receipts RENAME TO tool_receipts_legacy")
            for ddl in SCHEMA:
                db.execute(ddl)
            if legacy:
                db.execute(_LEGACY_COPY)
                db.execute("DROP TABLE tool_receipts_legacy")
            columns = {row[1] for row in db.execute("PRAGMA table_info(tool_receipts)")}
            for name, kind in LEASE_COLUMNS:
                if name not in columns:
                    db.execute(f"ALTER TABLE tool_receipts ADD COLUMN {name} {kind}")
            db.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        # Used by one thread at a time (borrowed from the pool), though not always the one that opened it.
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA synchronous=FULL")
        return db

    @contextmanager
    def _transaction(self) -> Iterator[Query]:
        try:
            db = self._idle.get_nowait()
        except queue.Empty:
            db = self._connect()
        clean = False  # rolled back or committed: safe to hand out again
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield lambda sql, params: db.execute(sql, params).fetchall()
            except BaseException:
                db.execute("ROLLBACK")
                clean = True
                raise
            db.execute("COMMIT")
            clean = True
        finally:
            if clean:
                self._idle.put(db)
            else:
                db.close()  # in an unknown state (e.g. a failed COMMIT): never handed out again
