"""The exactly-once ledger: one receipt per idempotency key, in SQLite (default) or PostgreSQL (by URL).

`Ledger` stays the SQLite ledger (`Ledger(path)`), as before; `open_ledger` picks the backend from a
path or a `postgresql://` URL. Both satisfy `LedgerBackend`, whose state machine is in `base.py`.
"""

from __future__ import annotations

from pathlib import Path

from activities.ledger.base import (
    FINAL,
    STATUSES,
    Begin,
    FinalStatus,
    HumanDecision,
    LeaseLost,
    LedgerBackend,
    LedgerConflict,
    LedgerStateError,
    ManifestConflict,
    Status,
)
from activities.ledger.sqlite import SqliteLedger

Ledger = SqliteLedger  # the name existing callers use; annotate with LedgerBackend for any backend

__all__ = [
    "FINAL", "STATUSES", "Begin", "FinalStatus", "HumanDecision", "Ledger", "LedgerBackend", "LedgerConflict",
    "LedgerStateError", "LeaseLost", "ManifestConflict", "SqliteLedger", "Status", "open_ledger",
]


def open_ledger(target: str | Path) -> LedgerBackend:
    """`postgresql://...` (or `postgres://...`) opens PostgreSQL; anything else is a SQLite file path."""
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        from activities.ledger.postgres import PostgresLedger

        return PostgresLedger(text)
    return SqliteLedger(Path(text))
