"""The approvers file: clear errors for a bad one, nobody for a missing one, and a lower signing threshold."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from activities.approvers import ApproversFileError, load_approvers
from tests.conftest import eventually, make_worker
from tests.scripted import ScriptedModel, call, final
from tests.signing import signed, write_approvers
from worker.approver_keys import approver_named_by, ensure_local_approver, load_key
from worker.main import build_tool_layer
from workflows.agent_run import AgentRun
from workflows.contracts import ApproveInput, RunRequest, RunResult, RunStatus


def test_a_bad_approvers_file_stops_the_worker_with_the_key_and_reason(tmp_path, settings):
    """A key that is not 32 base64 bytes, or a threshold above 3, is named with its place in the file."""
    bad = tmp_path / "approvers.yaml"
    bad.write_text("signed_from_risk: 4\napprovers:\n  alice:\n    public_key: aGVsbG8=\n")
    with pytest.raises(ApproversFileError) as error:
        build_tool_layer(settings.model_copy(update={"approvers_file": bad}))
    assert "signed_from_risk: Input should be less than or equal to 3" in str(error.value)
    assert "approvers.alice.public_key: an Ed25519 public key is 32 bytes, this one is 5" in str(error.value)


def test_a_missing_approvers_file_lists_nobody(tmp_path):
    """No file: nobody can approve a risk 3-4 call (it can still be rejected, or expire)."""
    policy = load_approvers(tmp_path / "none.yaml")
    assert policy.approvers == [] and policy.signed_from_risk == 3 and "(missing)" in policy.source


async def test_signed_from_risk_makes_lower_risk_approvals_need_a_signature(ts_env, settings, tmp_path):
    """With signed_from_risk 2, a risk-2 write refuses an unsigned approval and runs on a signed one."""
    settings = settings.model_copy(update={"approvers_file": write_approvers(tmp_path / "a.yaml", signed_from_risk=2)})
    model = ScriptedModel(call("write_file", path="out.txt", content="x"), final("done"))
    async with make_worker(ts_env.client, settings, model):
        handle = await ts_env.client.start_workflow(AgentRun.run, RunRequest(goal="write"), id=f"sfr-{uuid.uuid4()}",
                                                    task_queue=settings.task_queue, result_type=RunResult)

        async def waiting() -> bool:
            return bool((await handle.query(AgentRun.state)).pending_approvals)

        await eventually(waiting, what="a pending approval")
        [pending] = (await handle.query(AgentRun.state)).pending_approvals
        with pytest.raises(WorkflowUpdateFailedError) as unsigned:
            await handle.execute_update(AgentRun.approve, ApproveInput(tool_call_id=pending.tool_call_id))
        assert "must be signed" in str(unsigned.value.cause)
        # Expiry in the run's clock: the time-skipping server's clock runs ahead of the wall clock.
        await handle.execute_update(AgentRun.approve, signed(handle, pending,
                                                             expires_at=pending.requested_at + timedelta(minutes=5)))
        assert (await handle.result()).status == RunStatus.COMPLETED


def test_the_dev_stack_approver_is_created_once_and_listed(tmp_path):
    """`up`'s local approver: a private key only its owner can read, whose public key the file lists."""
    key, approvers = tmp_path / "data" / "approver.key", tmp_path / "data" / "approvers.yaml"
    assert ensure_local_approver(key, approvers, "dev") is True
    assert key.stat().st_mode & 0o777 == 0o600
    assert approver_named_by(approvers, load_key(key)) == "dev"
    before = key.read_bytes()
    assert ensure_local_approver(key, approvers, "dev") is False and key.read_bytes() == before
    [listed] = load_approvers(approvers).approvers
    assert (listed.name, listed.max_risk, listed.tools) == ("dev", 4, ["*"])
