"""The ledger in PostgreSQL (psycopg 3): the scale-out option, selected by a postgresql:// URL.

Many workers on many hosts share one ledger. Each state-machine transaction first takes a
transaction-scoped advisory lock on the idempotency key, so two workers racing on one call (even a
call with no row yet) are serialized exactly as SQLite's BEGIN IMMEDIATE serializes them. psycopg is
imported lazily, so SQLite-only deployments do not need it installed.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from activities.ledger.base import LEASE_COLUMNS, SCHEMA, LedgerBackend, Query

_SCHEMA_LOCK = 727274  # any constant: orders concurrent first starts of several workers
_IDLE_CONNECTIONS = 8  # kept open per worker process; more are opened (and closed after) under load


class PostgresLedger(LedgerBackend):
    def __init__(self, url: str, connect_timeout_s: float = 10) -> None:
        try:
            import psycopg
        except ImportError as e:
            raise RuntimeError("a postgresql:// ledger URL needs psycopg 3: pip install 'psycopg[binary]'") from e
        self._psycopg = psycopg
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self.url = url
        self.connect_timeout_s = connect_timeout_s
        with self._transaction() as q:
            q("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))
            for ddl in SCHEMA:
                q(ddl, ())
            for name, kind in LEASE_COLUMNS:
                q(f"ALTER TABLE tool_receipts ADD COLUMN IF NOT EXISTS {name} {kind}", ())

    @contextmanager
    def _transaction(self) -> Iterator[Query]:
        # Connections are reused: opening one costs more than the transaction itself (a receipt is two
        # transactions). A connection that saw any error is closed, never handed to the next caller.
        db = self._take()
        try:
            with db.transaction():
                yield lambda sql, params: _fetch(db.execute(sql.replace("?", "%s"), params))
        except BaseException:
            db.close()
            raise
        self._give_back(db)

    def _take(self) -> Any:
        with self._lock:
            while self._idle:
                db = self._idle.pop()
                if not db.closed:
                    return db
        return self._psycopg.connect(self.url, connect_timeout=int(self.connect_timeout_s), autocommit=True)

    def _give_back(self, db: Any) -> None:
        with self._lock:
            if len(self._idle) < _IDLE_CONNECTIONS and not db.closed:
                self._idle.append(db)
                return
        db.close()

    def _lock_key(self, q: Query, key: str) -> None:
        q("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))", (key,))


def _fetch(cursor: Any) -> list[tuple[Any, ...]]:
    return cursor.fetchall() if cursor.description is not None else []
