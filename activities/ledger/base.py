"""The exactly-once ledger's state machine, written once in portable SQL for every backend.

One receipt per idempotency key (`<workflow id>/<call id>`), bound to the hash of the call's arguments:

    proposed -> approved -> started -> succeeded | failed | outcome_unknown
       (calls that need no approval may go straight to started)
    outcome_unknown -> succeeded (a person: mark_done) | failed (abandon) | approved (retry)

Temporal retries an activity whose worker died, so a tool can be asked twice for the same call. `begin`
tells the caller whether the key is new, already recorded, interrupted (a worker died between `begin`
and `finish`), busy (an earlier attempt still holds its lease) or not approved yet, and the caller acts
on that.

Leases fence attempts. A thread cannot be killed, so an attempt that timed out or was cancelled may
still be running its handler. The attempt that claims a key holds a lease (`lease_owner`,
`lease_until`) that its worker renews while the handler runs; another attempt that finds a live lease
waits instead of reconciling, and `finish` only takes the result of the lease holder. A worker that
dies stops renewing, so its lease expires and the next attempt reconciles. Every transition is also appended to
`tool_receipt_events`, the per-call audit trail. Backends differ only in how they connect and lock a
row (`SqliteLedger`: BEGIN IMMEDIATE; `PostgresLedger`: SELECT ... FOR UPDATE).
"""

from __future__ import annotations

import json
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

Status = Literal["proposed", "approved", "started", "succeeded", "failed", "outcome_unknown"]
FinalStatus = Literal["succeeded", "failed", "outcome_unknown"]
HumanDecision = Literal["mark_done", "retry", "abandon"]
STATUSES: tuple[str, ...] = ("proposed", "approved", "started", "succeeded", "failed", "outcome_unknown")
FINAL: frozenset[str] = frozenset({"succeeded", "failed", "outcome_unknown"})

# One DDL for SQLite and Postgres: TEXT, INTEGER and DOUBLE PRECISION mean the same in both.
SCHEMA = (
    f"""
CREATE TABLE IF NOT EXISTS tool_receipts (
    idempotency_key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    tool TEXT NOT NULL,
    arguments_hash TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ({", ".join(f"'{s}'" for s in STATUSES)})),
    attempts INTEGER NOT NULL DEFAULT 0,
    requires_approval INTEGER NOT NULL DEFAULT 0,
    pre_state TEXT NOT NULL DEFAULT '{{}}',
    result TEXT,
    decision TEXT,
    decided_by TEXT,
    created_at DOUBLE PRECISION NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL,
    lease_owner TEXT,
    lease_until DOUBLE PRECISION NOT NULL DEFAULT 0
)""",
    """
CREATE TABLE IF NOT EXISTS tool_receipt_events (
    idempotency_key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    at DOUBLE PRECISION NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    actor TEXT NOT NULL,
    detail TEXT,
    PRIMARY KEY (idempotency_key, seq)
)""",
    # One row: this ledger's identity, made on first use. Workers that share the ledger read the same
    # id, so a run bound to it (activities/stores.py) is served only by workers with this ledger.
    """
CREATE TABLE IF NOT EXISTS ledger_identity (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
)""",
    # The run API's keys (worker/api/identities.py), by the SHA-256 of the key: shared by its replicas.
    """
CREATE TABLE IF NOT EXISTS api_keys (
    sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    tenant TEXT NOT NULL,
    roles TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL
)""",
    # Shared workspaces (activities/tools/workspace_store.py): each run chain's file list, path ->
    # blob digest, versioned so a stale writer is refused instead of overwriting a newer list.
    """
CREATE TABLE IF NOT EXISTS workspace_manifests (
    workspace TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    manifest TEXT NOT NULL,
    updated_at DOUBLE PRECISION NOT NULL
)""",
)
COLUMNS = (
    "idempotency_key", "run_id", "tool", "arguments_hash", "status", "attempts", "requires_approval",
    "pre_state", "result", "decision", "decided_by", "created_at", "updated_at", "lease_owner", "lease_until",
)
# Ledgers created before leases existed get the two columns added at open.
LEASE_COLUMNS = (("lease_owner", "TEXT"), ("lease_until", "DOUBLE PRECISION NOT NULL DEFAULT 0"))
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM tool_receipts WHERE idempotency_key = ?"

Query = Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]]


class LedgerConflict(Exception):
    """The same idempotency key arrived with different arguments: never act on it."""


class LedgerStateError(Exception):
    """A transition the state machine does not allow (e.g. resolving a call that is not outcome_unknown)."""


class ManifestConflict(LedgerStateError):
    """A workspace's file list changed since it was read: another attempt wrote it; not overwritten."""


class LeaseLost(LedgerStateError):
    """An attempt tried to record a result after its lease passed to another attempt: fenced off."""


@dataclass(frozen=True)
class Begin:
    state: Literal["new", "recorded", "interrupted", "not_approved", "busy"]
    attempts: int
    pre_state: dict[str, Any]
    status: str | None = None
    result: dict[str, Any] | None = None


class LedgerBackend(ABC):
    """The ledger interface and its one implementation of the state machine."""

    @abstractmethod
    def _transaction(self) -> AbstractContextManager[Query]:
        """A transaction; yields `query(sql, params)` with `?` placeholders."""

    def _lock_key(self, q: Query, key: str) -> None:
        """Serialize transactions on one key, including a key not inserted yet (no row to lock)."""

    # -- the state machine -------------------------------------------------------------------------

    def propose(self, key: str, run_id: str, tool: str, arguments_hash: str, requires_approval: bool) -> dict:
        """Record a call the model proposed; idempotent for the same arguments."""
        with self._transaction() as q:
            row = self._get(q, key, arguments_hash)
            if row is None:
                now = time.time()
                q(
                    "INSERT INTO tool_receipts (idempotency_key, run_id, tool, arguments_hash, status, attempts,"
                    " requires_approval, created_at, updated_at) VALUES (?, ?, ?, ?, 'proposed', 0, ?, ?, ?)",
                    (key, run_id, tool, arguments_hash, int(requires_approval), now, now),
                )
                self._event(q, key, None, "proposed", "workflow", None)
                row = self._get(q, key, arguments_hash)
            return _receipt(row)

    def approve(self, key: str, arguments_hash: str, by: str) -> dict:
        """proposed -> approved; a repeat (an activity retry) returns the receipt unchanged."""
        with self._transaction() as q:
            row = self._get(q, key, arguments_hash)
            if row is None:
                raise LedgerStateError(f"no proposed call with idempotency key {key!r} to approve")
            if row["status"] == "proposed":
                self._set(q, key, "proposed", "approved", by, None, decided_by=by)
                row = self._get(q, key, arguments_hash)
            return _receipt(row)

    def begin(self, key: str, run_id: str, tool: str, arguments_hash: str, owner: str = "",
              lease_s: float = 0.0) -> Begin:
        """Claim the call for one attempt (`owner`, leased for `lease_s`), or say why not: recorded,
        interrupted, busy (another attempt's lease is live) or not approved."""
        with self._transaction() as q:
            row = self._get(q, key, arguments_hash)
            now = time.time()
            lease = (owner or None, now + lease_s if owner else 0.0)
            if row is None:
                q(
                    "INSERT INTO tool_receipts (idempotency_key, run_id, tool, arguments_hash, status, attempts,"
                    " created_at, updated_at, lease_owner, lease_until) VALUES (?, ?, ?, ?, 'started', 1, ?, ?, ?, ?)",
                    (key, run_id, tool, arguments_hash, now, now, *lease),
                )
                self._event(q, key, None, "started", "worker", None)
                return Begin("new", 1, {})
            status, attempts = row["status"], row["attempts"]
            if status in FINAL:
                return Begin("recorded", attempts, row["pre_state"], status, row["result"])
            if status == "proposed" and row["requires_approval"]:
                return Begin("not_approved", attempts, row["pre_state"], status)
            if status == "started" and row["lease_owner"] not in (None, owner) and row["lease_until"] > now:
                return Begin("busy", attempts, row["pre_state"], status)
            # proposed (no approval needed), approved, or approved again by a person's `retry`.
            self._set(q, key, status, "started", "worker", None, attempts=attempts + 1, pre_state={},
                      lease_owner=lease[0], lease_until=lease[1])
            if status == "started":
                # The previous attempt never finished: its worker died, or its lease ran out.
                return Begin("interrupted", attempts + 1, row["pre_state"])
            return Begin("new", attempts + 1, {})

    def renew(self, keys: list[str], owner: str, lease_s: float) -> None:
        """Extend `owner`'s live leases; a key another attempt took over is left alone."""
        with self._transaction() as q:
            for key in keys:
                q("UPDATE tool_receipts SET lease_until = ? WHERE idempotency_key = ? AND lease_owner = ?"
                  " AND status = 'started'", (time.time() + lease_s, key, owner))

    def release(self, key: str, owner: str) -> None:
        """Give up a lease without a result (the handler crashed): the next attempt reconciles at once."""
        with self._transaction() as q:
            q("UPDATE tool_receipts SET lease_owner = NULL, lease_until = 0 WHERE idempotency_key = ?"
              " AND lease_owner = ? AND status = 'started'", (key, owner))

    def save_pre_state(self, key: str, pre_state: dict[str, Any]) -> None:
        with self._transaction() as q:
            q("UPDATE tool_receipts SET pre_state = ?, updated_at = ? WHERE idempotency_key = ?",
              (json.dumps(pre_state), time.time(), key))

    def finish(self, key: str, status: FinalStatus, result: dict[str, Any], owner: str = "") -> None:
        """started -> a final status with the normalized result; anything else is a bug, refused.
        With `owner`, only the lease holder may finish: a fenced attempt gets LeaseLost."""
        if status not in FINAL:
            raise LedgerStateError(f"finish() takes a final status, not {status!r}")
        with self._transaction() as q:
            row = self._get(q, key, None)
            if row is None or row["status"] != "started":
                found = None if row is None else row["status"]
                raise LedgerStateError(f"cannot finish {key!r} as {status}: it is {found}, not started")
            if owner and row["lease_owner"] not in (None, owner):
                raise LeaseLost(f"attempt {owner} of {key!r} lost its lease to {row['lease_owner']}; not recorded")
            self._set(q, key, "started", status, "worker", result.get("error_type"), result=result,
                      lease_owner=None, lease_until=0.0)

    def resolve(self, key: str, decision: HumanDecision, by: str, comment: str | None = None,
                result: dict[str, Any] | None = None) -> dict:
        """A person's decision on an outcome_unknown call: mark_done, retry or abandon.

        A repeat of the decision already taken returns the receipt unchanged, so the activity that
        calls this may be retried safely.
        """
        targets = {"mark_done": "succeeded", "abandon": "failed", "retry": "approved"}
        if decision not in targets:
            raise LedgerStateError(f"unknown decision {decision!r}; use one of {sorted(targets)}")
        with self._transaction() as q:
            row = self._get(q, key, None)
            if row is None:
                raise LedgerStateError(f"no call with idempotency key {key!r}")
            if row["status"] != "outcome_unknown":
                if row["decision"] == decision:
                    return _receipt(row)
                raise LedgerStateError(
                    f"call {key!r} is {row['status']}, not outcome_unknown: there is nothing to decide"
                )
            stored = result if decision != "retry" else None
            if decision == "mark_done" and stored is None:
                stored = {"status": "ok", "message": f"marked done by {by}" + (f": {comment}" if comment else "")}
            if decision == "abandon":
                stored = {"status": "error", "error_type": "abandoned", "retryable": False,
                          "message": f"abandoned by {by}" + (f": {comment}" if comment else "")}
            self._set(q, key, "outcome_unknown", targets[decision], by, comment, result=stored,
                      decision=decision, decided_by=by)
            return _receipt(self._get(q, key, None))

    # -- identity and shared workspaces ------------------------------------------------------------

    def store_id(self) -> str:
        """This ledger's id, made once on first use and kept inside the ledger itself."""
        with self._transaction() as q:
            self._lock_key(q, "ledger_identity")
            rows = q("SELECT value FROM ledger_identity WHERE name = 'ledger_id'", ())
            if rows:
                return str(rows[0][0])
            value = f"ledger-{uuid.uuid4().hex}"
            q("INSERT INTO ledger_identity (name, value) VALUES ('ledger_id', ?)", (value,))
            return value

    def add_api_key(self, sha256: str, name: str, tenant: str, roles: list[str]) -> None:
        with self._transaction() as q:
            q("INSERT INTO api_keys (sha256, name, tenant, roles, created_at) VALUES (?, ?, ?, ?, ?)",
              (sha256, name, tenant, ",".join(sorted(roles)), time.time()))

    def api_key(self, sha256: str) -> tuple[str, str, list[str]] | None:
        """(name, tenant, roles) of the key with this digest, None for an unknown or revoked one."""
        with self._transaction() as q:
            rows = q("SELECT name, tenant, roles FROM api_keys WHERE sha256 = ?", (sha256,))
        return None if not rows else (str(rows[0][0]), str(rows[0][1]), [r for r in str(rows[0][2]).split(",") if r])

    def revoke_api_keys(self, name: str) -> int:
        with self._transaction() as q:
            found = q("SELECT sha256 FROM api_keys WHERE name = ?", (name,))
            q("DELETE FROM api_keys WHERE name = ?", (name,))
        return len(found)

    def workspace_manifest(self, workspace: str) -> tuple[int, dict[str, str]]:
        """(version, {relative path: blob digest}); (0, {}) for a workspace never written."""
        with self._transaction() as q:
            rows = q("SELECT version, manifest FROM workspace_manifests WHERE workspace = ?", (workspace,))
        return (0, {}) if not rows else (int(rows[0][0]), json.loads(rows[0][1]))

    def save_workspace_manifest(self, workspace: str, expected_version: int, manifest: dict[str, str]) -> int:
        """Write the file list if it is still at `expected_version`; the new version, or ManifestConflict."""
        with self._transaction() as q:
            self._lock_key(q, f"workspace:{workspace}")
            rows = q("SELECT version FROM workspace_manifests WHERE workspace = ?", (workspace,))
            found = int(rows[0][0]) if rows else 0
            if found != expected_version:
                raise ManifestConflict(f"workspace {workspace} is at version {found}, not {expected_version}")
            body, now = json.dumps(manifest, sort_keys=True), time.time()
            if rows:
                q("UPDATE workspace_manifests SET version = ?, manifest = ?, updated_at = ? WHERE workspace = ?",
                  (found + 1, body, now, workspace))
            else:
                q("INSERT INTO workspace_manifests (workspace, version, manifest, updated_at) VALUES (?, 1, ?, ?)",
                  (workspace, body, now))
            return found + 1

    # -- reads -------------------------------------------------------------------------------------

    def receipt(self, key: str) -> dict[str, Any] | None:
        """One receipt as a dict (JSON columns decoded), for activities, operators and tests."""
        with self._transaction() as q:
            row = self._get(q, key, None, lock=False)
            return None if row is None else _receipt(row)

    def events(self, key: str) -> list[dict[str, Any]]:
        """The call's transitions, oldest first: its audit trail."""
        with self._transaction() as q:
            rows = q("SELECT seq, at, from_status, to_status, actor, detail FROM tool_receipt_events"
                     " WHERE idempotency_key = ? ORDER BY seq", (key,))
        names = ("seq", "at", "from_status", "to_status", "actor", "detail")
        return [dict(zip(names, r, strict=True)) for r in rows]

    # -- helpers -----------------------------------------------------------------------------------

    def _get(self, q: Query, key: str, arguments_hash: str | None, lock: bool = True) -> dict[str, Any] | None:
        if lock:
            self._lock_key(q, key)
        rows = q(_SELECT, (key,))
        if not rows:
            return None
        row = dict(zip(COLUMNS, rows[0], strict=True))
        if arguments_hash is not None and row["arguments_hash"] != arguments_hash:
            raise LedgerConflict(
                f"idempotency key {key!r} was used for arguments {row['arguments_hash'][:12]}, "
                f"now {arguments_hash[:12]}"
            )
        row["pre_state"] = json.loads(row["pre_state"] or "{}")
        row["result"] = None if row["result"] is None else json.loads(row["result"])
        return row

    def _set(self, q: Query, key: str, from_status: str, to_status: str, actor: str, detail: str | None,
             **changes: Any) -> None:
        changes = {"status": to_status, "updated_at": time.time(), **changes}
        for name in ("pre_state", "result"):
            if name in changes and changes[name] is not None:
                changes[name] = json.dumps(changes[name])
        assignments = ", ".join(f"{name} = ?" for name in changes)
        q(f"UPDATE tool_receipts SET {assignments} WHERE idempotency_key = ?", (*changes.values(), key))
        self._event(q, key, from_status, to_status, actor, detail)

    @staticmethod
    def _event(q: Query, key: str, from_status: str | None, to_status: str, actor: str, detail: str | None) -> None:
        q(
            "INSERT INTO tool_receipt_events (idempotency_key, seq, at, from_status, to_status, actor, detail)"
            " SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ? FROM tool_receipt_events WHERE idempotency_key = ?",
            (key, time.time(), from_status, to_status, actor, detail, key),
        )


def _receipt(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        raise LedgerStateError("receipt vanished inside its own transaction")
    return {**row, "requires_approval": bool(row["requires_approval"])}
