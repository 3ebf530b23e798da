"""Every checked-in history replays on the current AgentRun; an incompatible change is caught."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.histories import variants
from tests.nondeterministic_variant import AgentRunWithoutToolListing
from worker.codec import project_data_converter
from worker.main import WORKFLOWS
from worker.replay import history_workflow_id
from worker.sandbox import workflow_runner

# v1/: recorded before the model gateway (patched "model-gateway"); v2/: before ledger-guarded
# approvals and MCP listing (patched "ledger-approvals", "mcp-tools"); v3/: before the transcript went
# by reference (patched "context-by-ref"); v4/: before the tool catalogue went by reference (patched
# "tools-by-ref"); v5/: before runs bound their stores (patched "store-binding"; approved_write and
# continued_as_new, re-recorded at top level with the binding). Top level: current code.
HISTORIES = sorted((Path(__file__).parent / "histories").rglob("*.json"))


def replayer(workflows: list[type]) -> Replayer:
    return Replayer(
        workflows=workflows,
        data_converter=project_data_converter(),
        workflow_runner=workflow_runner(),
        workflow_failure_exception_types=[ValidationError],
    )


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(history_workflow_id(path.read_text(), f"replay-{path.stem}"), path.read_text())


def test_histories_are_checked_in():
    """The replay suite has histories to replay, including a continue-as-new chain."""
    names = {str(p.relative_to(p.parent.parent)) if p.parent.name in ("v1", "v2", "v3", "v4", "v5") else p.stem for p in HISTORIES}
    assert {"rejected_write-run1", "ask_human-run1", "continued_as_new-run1", "continued_as_new-run2",
            "signed_approval-run1"} <= names
    # One per guarded path (tests/histories/record.py): a command-order change on any of them fails replay.
    assert {"late_cancel", "outcome_resolution-run1", "model_fallback-run1", "compaction-run3",
            "approval_expired-run1", "edited_approval-run1", "approve_all-run1", "compaction_before_call-run3"} <= names
    assert {"v1/rejected_write.json", "v1/continued_as_new-run2.json", "v2/approved_write-run1.json",
            "v4/continued_as_new-run2.json", "v5/continued_as_new-run2.json"} <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[str(p.relative_to(p.parents[1])) for p in HISTORIES])
async def test_history_replays_on_current_code(path: Path):
    """Replaying a recorded run on today's workflow code raises no nondeterminism error."""
    result = await replayer(WORKFLOWS).replay_workflow(load(path), raise_on_replay_failure=True)
    assert result.replay_failure is None


async def test_incompatible_change_is_caught_by_replay():
    """Dropping the tools.list activity makes an old history fail to replay with a nondeterminism error."""
    path = next(p for p in HISTORIES if p.stem == "rejected_write")
    with pytest.raises(NondeterminismError):
        await replayer([AgentRunWithoutToolListing]).replay_workflow(load(path))


@pytest.mark.parametrize(("history", "variant"), [
    ("late_cancel", variants.IgnoresLateCancel), ("outcome_resolution-run1", variants.GuessesUnknownOutcomes),
    ("model_fallback-run1", variants.NeverFallsBack), ("compaction-run3", variants.NeverCompacts),
    ("compaction_before_call-run3", variants.NeverCompacts),
    ("approval_expired-run1", variants.WaitsAfterExpiry),
    ("edited_approval-run1", variants.SkipsEditedProposal),
    ("approve_all-run1", variants.AsksOneAtATime)], ids=lambda v: v if isinstance(v, str) else "")
async def test_each_path_history_catches_a_change_to_its_commands(history: str, variant: type):
    """Each path's history really goes down its path: a variant that changes only that path's commands
    cannot replay it (yet replays a run that never takes the path), so a re-recorded scenario that stops
    reaching its path fails here."""
    top = {p.stem: p for p in HISTORIES if p.parent.name == "histories"}
    with pytest.raises(NondeterminismError):
        await replayer([variant]).replay_workflow(load(top[history]))
    control = await replayer([variant]).replay_workflow(load(top["approved_write-run1"]),
                                                       raise_on_replay_failure=False)
    assert control.replay_failure is None


def test_replay_command_reports_ok_and_failure(tmp_path):
    """`python -m worker.replay` exits 0 on a good history and 1 on one the code cannot reproduce."""
    import subprocess
    import sys

    good = next(p for p in HISTORIES if p.stem == "ask_human")
    tampered = tmp_path / "tampered.json"
    tampered.write_text(good.read_text().replace('"tools.list"', '"tools.lost"'))
    ok = subprocess.run([sys.executable, "-m", "worker.replay", str(good)], capture_output=True, text=True)
    bad = subprocess.run([sys.executable, "-m", "worker.replay", str(tampered)], capture_output=True, text=True)
    assert ok.returncode == 0 and ok.stdout.startswith("ok")
    assert bad.returncode == 1 and "FAILED" in bad.stdout


def test_the_replay_command_imports_no_activity_code_or_provider_sdk():
    """Replaying needs the workflow only; importing the worker (provider SDKs, Qdrant, ONNX) made
    `python -m worker.replay` take 10-18 s to start on a busy machine."""
    import subprocess
    import sys

    probe = ("import sys, worker.replay\n"
             "heavy = sorted(m for m in ('worker.main', 'openai', 'anthropic', 'qdrant_client', 'onnxruntime', 'torch')"
             " if m in sys.modules)\n"
             "print(','.join(heavy))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
