"""SIGKILL a process around a not-idempotent side effect; count the effect; then a person resolves it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.ledger import open_ledger
from activities.ledger.activities import LedgerActivities
from activities.tools.execute import ToolActivities
from activities.tools.registry import ToolRegistry
from activities.tools.workspaces import workspace_dir
from tests.conftest import eventually
from tests.tools.crash_child import charge_call, charge_card
from worker.settings import REPO_ROOT
from workflows.contracts.ledger import ResolveUnknownInput

KEY = "run-1/call-1-1"


async def crash(gate: str, ledger_target: str, workspaces: Path) -> None:
    """Run the child until it reaches `gate`, then SIGKILL it: no cleanup, as in a crash."""
    marker = workspace_dir(workspaces, "run-1") / ("effect-applied" if gate == "after_effect" else "finished")
    child = subprocess.Popen([sys.executable, "-m", "tests.tools.crash_child", ledger_target, str(workspaces), gate],
                             cwd=REPO_ROOT)

    async def reached() -> bool:
        if child.poll() is not None:
            raise AssertionError(f"crash child exited early with {child.returncode}")
        return marker.exists()

    try:
        await eventually(reached, timeout_s=60, what=f"the child to reach {gate}")
    finally:
        child.kill()
        child.wait()


def charges(workspaces: Path) -> list[str]:
    return (workspace_dir(workspaces, "run-1") / "charges.txt").read_text().splitlines()


@pytest.fixture
def workspaces(tmp_path) -> Path:
    return tmp_path / "workspaces"


async def test_killed_after_the_effect_is_outcome_unknown_and_never_repeated(ledger_target, workspaces):
    """Killed between the charge and completion: the retry reports outcome_unknown and does not charge again."""
    await crash("after_effect", ledger_target, workspaces)
    tools = ToolActivities(ToolRegistry([charge_card]), open_ledger(ledger_target), workspaces)
    env = ActivityEnvironment()
    retry = await env.run(tools.execute, charge_call())
    assert (retry.status, retry.error_type) == ("error", "outcome_unknown")
    again = await env.run(tools.execute, charge_call())
    assert again.from_ledger and again.error_type == "outcome_unknown"
    assert charges(workspaces) == ["42"]
    assert tools.ledger.receipt(KEY)["status"] == "outcome_unknown"


async def test_killed_after_completion_returns_the_receipt(ledger_target, workspaces):
    """Killed after the receipt was recorded: the retry returns it; the card was charged once."""
    await crash("after_finish", ledger_target, workspaces)
    tools = ToolActivities(ToolRegistry([charge_card]), open_ledger(ledger_target), workspaces)
    retry = await ActivityEnvironment().run(tools.execute, charge_call())
    assert retry.status == "ok" and retry.from_ledger and retry.data == {"charged": 42}
    assert charges(workspaces) == ["42"]


async def test_a_person_resolves_outcome_unknown(ledger_target, workspaces):
    """retry re-runs the call under the same key once; mark_done and abandon give the model a result."""
    await crash("after_effect", ledger_target, workspaces)
    ledger = open_ledger(ledger_target)
    tools, decisions = ToolActivities(ToolRegistry([charge_card]), ledger, workspaces), LedgerActivities(ledger)
    env = ActivityEnvironment()
    assert (await env.run(tools.execute, charge_call())).error_type == "outcome_unknown"

    def decide(decision: str, **extra) -> ResolveUnknownInput:
        return ResolveUnknownInput(run_id="run-1", idempotency_key=KEY, decision=decision, by="alice", **extra)

    retried = await env.run(decisions.resolve_unknown, decide("retry", comment="not in the processor's log"))
    assert retried.rerun and retried.tool_result is None and retried.receipt.status == "approved"
    rerun = await env.run(tools.execute, charge_call())
    assert rerun.status == "ok" and not rerun.from_ledger and charges(workspaces) == ["42", "42"]
    with pytest.raises(ApplicationError, match="nothing to decide"):
        await env.run(decisions.resolve_unknown, decide("mark_done"))
    assert [e["to_status"] for e in ledger.events(KEY)] == [
        "started", "started", "outcome_unknown", "approved", "started", "succeeded"]


async def test_mark_done_and_abandon_close_the_call(tmp_path):
    """mark_done records the person's result as success; abandon records a failure; both stop re-runs."""
    ledger = open_ledger(tmp_path / "l.sqlite")
    decisions, env = LedgerActivities(ledger), ActivityEnvironment()
    for key, decision in (("r/a", "mark_done"), ("r/b", "abandon")):
        ledger.begin(key, "r", "charge_card", "h")
        ledger.finish(key, "outcome_unknown", {"status": "error", "error_type": "outcome_unknown"})
        result = await env.run(decisions.resolve_unknown, ResolveUnknownInput(
            run_id="r", idempotency_key=key, decision=decision, by="bob", data={"receipt": "ch_1"}
            if decision == "mark_done" else None))
        assert not result.rerun and ledger.begin(key, "r", "charge_card", "h").state == "recorded"
        if decision == "mark_done":
            assert (result.tool_result.status, result.tool_result.data) == ("ok", {"receipt": "ch_1"})
        else:
            assert (result.tool_result.status, result.tool_result.error_type) == ("error", "abandoned")
