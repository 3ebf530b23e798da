"""The ledger's state machine, on SQLite and on a real PostgreSQL server, through one interface."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest

from activities.ledger import LedgerConflict, LedgerStateError, SqliteLedger, open_ledger
from activities.ledger.postgres import PostgresLedger

KEY, RUN, TOOL, HASH = "run-1/call-1-1", "run-1", "send_email", "a" * 64


def test_open_ledger_picks_the_backend_from_the_target(ledger_target):
    """A postgresql:// URL opens PostgreSQL; a path opens SQLite."""
    expected = PostgresLedger if ledger_target.startswith("postgresql://") else SqliteLedger
    assert type(open_ledger(ledger_target)) is expected


def test_a_call_that_needs_approval_cannot_start_until_approved(ledger):
    """proposed -> (begin refused) -> approved -> started -> succeeded, each step in the audit trail."""
    assert ledger.propose(KEY, RUN, TOOL, HASH, requires_approval=True)["status"] == "proposed"
    assert ledger.begin(KEY, RUN, TOOL, HASH).state == "not_approved"
    assert ledger.approve(KEY, HASH, by="alice")["decided_by"] == "alice"
    assert ledger.approve(KEY, HASH, by="alice")["status"] == "approved"  # a retried activity is harmless
    begin = ledger.begin(KEY, RUN, TOOL, HASH)
    assert (begin.state, begin.attempts) == ("new", 1)
    ledger.finish(KEY, "succeeded", {"status": "ok", "data": 1})
    again = ledger.begin(KEY, RUN, TOOL, HASH)
    assert (again.state, again.status, again.result) == ("recorded", "succeeded", {"status": "ok", "data": 1})
    trail = [(e["from_status"], e["to_status"], e["actor"]) for e in ledger.events(KEY)]
    assert trail == [(None, "proposed", "workflow"), ("proposed", "approved", "alice"),
                     ("approved", "started", "worker"), ("started", "succeeded", "worker")]


def test_a_call_without_approval_needs_no_proposal(ledger):
    """begin on an unknown key starts it; a second begin before finish is an interruption."""
    assert ledger.begin(KEY, RUN, TOOL, HASH).state == "new"
    ledger.save_pre_state(KEY, {"offset": 7})
    interrupted = ledger.begin(KEY, RUN, TOOL, HASH)
    assert (interrupted.state, interrupted.attempts, interrupted.pre_state) == ("interrupted", 2, {"offset": 7})


def test_other_arguments_under_the_same_key_are_a_conflict(ledger):
    """An idempotency key is bound to one arguments hash in every transition."""
    ledger.propose(KEY, RUN, TOOL, HASH, requires_approval=True)
    with pytest.raises(LedgerConflict):
        ledger.approve(KEY, "b" * 64, by="mallory")
    with pytest.raises(LedgerConflict):
        ledger.begin(KEY, RUN, TOOL, "b" * 64)
    assert ledger.receipt(KEY)["status"] == "proposed"


def test_outcome_unknown_waits_for_a_person(ledger):
    """outcome_unknown is final for begin; only resolve moves it: retry re-arms, mark_done closes."""
    ledger.begin(KEY, RUN, TOOL, HASH)
    ledger.finish(KEY, "outcome_unknown", {"status": "error", "error_type": "outcome_unknown"})
    assert ledger.begin(KEY, RUN, TOOL, HASH).state == "recorded"
    assert ledger.resolve(KEY, "retry", by="bob")["status"] == "approved"
    assert ledger.resolve(KEY, "retry", by="bob")["status"] == "approved"  # same decision twice: unchanged
    rerun = ledger.begin(KEY, RUN, TOOL, HASH)
    assert (rerun.state, rerun.attempts) == ("new", 2)
    ledger.finish(KEY, "outcome_unknown", {"status": "error", "error_type": "outcome_unknown"})
    done = ledger.resolve(KEY, "mark_done", by="carol", comment="saw it in the CRM")
    assert (done["status"], done["decision"], done["result"]["status"]) == ("succeeded", "mark_done", "ok")
    assert "carol" in done["result"]["message"]
    with pytest.raises(LedgerStateError, match="not outcome_unknown"):
        ledger.resolve(KEY, "abandon", by="dave")


def test_abandon_records_a_failure_the_model_can_read(ledger):
    """abandon closes the call as failed with error_type 'abandoned'."""
    ledger.begin(KEY, RUN, TOOL, HASH)
    ledger.finish(KEY, "outcome_unknown", {"status": "error", "error_type": "outcome_unknown"})
    receipt = ledger.resolve(KEY, "abandon", by="erin")
    assert (receipt["status"], receipt["result"]["error_type"]) == ("failed", "abandoned")


def test_illegal_transitions_are_refused(ledger):
    """finish needs a started call; approve needs a proposed one; resolve needs outcome_unknown."""
    with pytest.raises(LedgerStateError):
        ledger.finish(KEY, "succeeded", {})
    with pytest.raises(LedgerStateError):
        ledger.approve(KEY, HASH, by="x")
    ledger.begin(KEY, RUN, TOOL, HASH)
    with pytest.raises(LedgerStateError):
        ledger.resolve(KEY, "mark_done", by="x")
    ledger.finish(KEY, "failed", {"status": "error"})
    with pytest.raises(LedgerStateError):
        ledger.finish(KEY, "succeeded", {})


def test_racing_attempts_claim_a_new_call_once(ledger_target):
    """Eight workers beginning the same new call at once: exactly one gets 'new'."""
    ledgers = [open_ledger(ledger_target) for _ in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        states = list(pool.map(lambda lg: lg.begin(KEY, RUN, TOOL, HASH).state, ledgers))
    assert sorted(states) == ["interrupted"] * 7 + ["new"]
    assert ledgers[0].receipt(KEY)["attempts"] == 8


def test_a_ledger_written_before_the_state_machine_is_migrated(tmp_path):
    """An old SQLite ledger keeps its receipts and accepts the new states after opening."""
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE tool_receipts (idempotency_key TEXT PRIMARY KEY, run_id TEXT NOT NULL, tool TEXT NOT NULL,"
            " arguments_hash TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('started', 'succeeded', 'failed')),"
            " attempts INTEGER NOT NULL, pre_state TEXT NOT NULL DEFAULT '{}', result TEXT,"
            " created_at REAL NOT NULL, updated_at REAL NOT NULL)"
        )
        db.execute("INSERT INTO tool_receipts VALUES ('old/call', 'old', 't', 'h', 'started', 1, '{}', NULL, 0, 0)")
    ledger = SqliteLedger(path)
    ledger.finish("old/call", "outcome_unknown", {"status": "error", "error_type": "outcome_unknown"})
    assert ledger.receipt("old/call")["status"] == "outcome_unknown"
