"""Approvals of risky calls prove who gave them: signed by a listed approver's key, bound to the call.

On the real dev server, with a real worker, driven through the real `temporal` CLI and `python -m
worker.approve`. The risky tool is tests.governed_tools' risk-4 `transfer_funds`.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import WorkflowUpdateFailedError

from activities.ledger import open_ledger
from tests.conftest import chain_id, eventually, make_worker, run_workspace
from tests.processes import temporal
from tests.scripted import ScriptedModel, call, final
from tests.signing import key_of, signed, signed_all, write_approvers
from worker.settings import REPO_ROOT
from workflows.agent_run import AgentRun
from workflows.contracts import (
    ApproveAllInput,
    ApproveInput,
    Decision,
    ProposedToolCall,
    RejectInput,
    RunRequest,
    RunResult,
    RunStatus,
)

GOVERNED = "tests.governed_tools"
PAY = {"to": "bob", "amount_cents": 500}


async def start_transfer(client, settings, **request) -> tuple:
    run_id = f"signed-{uuid.uuid4()}"
    handle = await client.start_workflow(AgentRun.run, RunRequest(goal="pay bob", **request), id=run_id,
                                         task_queue=settings.task_queue, result_type=RunResult)

    async def waiting() -> bool:
        return bool((await handle.query(AgentRun.state)).pending_approvals)

    await eventually(waiting, what="the transfer to wait for approval")
    [pending] = (await handle.query(AgentRun.state)).pending_approvals
    return handle, pending


def effects(settings, handle) -> list[str]:
    log = run_workspace(settings, handle) / "effects.log"
    return log.read_text().splitlines() if log.exists() else []


async def update_cli(address: str, run_id: str, input: ApproveInput | dict, name: str = "approve"):
    """`temporal workflow update execute`, in a thread: the worker under test runs on this event loop."""
    payload = input if isinstance(input, dict) else input.model_dump(mode="json", exclude_none=True)
    return await asyncio.to_thread(temporal, address, "workflow", "update", "execute", "-w", run_id, "--name", name,
                                   "--input", json.dumps(payload), check=False)


async def run_cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return await asyncio.to_thread(subprocess.run, [sys.executable, "-m", *args], env=env, cwd=REPO_ROOT,
                                   capture_output=True, text=True, timeout=60)


def key_file(tmp_path, name: str):
    path = tmp_path / f"{name}.key"
    path.write_bytes(key_of(name).private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.NoEncryption()))
    return path


async def test_forged_replayed_and_expired_approvals_are_refused_then_a_signed_one_runs(
        dev_server, dev_client, settings, tmp_path):
    """Unsigned, wrong key, unknown approver, expired, or signed for another run, call or arguments: each is
    refused with its reason (the CLI exits 1); `python -m worker.approve` then approves, as verified alice."""
    address = dev_server.config.address
    model = ScriptedModel(call("transfer_funds", **PAY), final("paid"))
    async with make_worker(dev_client, settings, model, GOVERNED):
        handle, pending = await start_transfer(dev_client, settings)
        run_id, call_id = handle.id, pending.tool_call_id
        assert pending.signature_required and pending.risk_level == 4
        other_call = pending.model_copy(update={"tool_call_id": "call-1-2"})
        other_args = pending.model_copy(update={"arguments_hash": "0" * 64})
        forged = {
            "must be signed": {"tool_call_id": call_id, "approver": "alice"},
            "does not verify with 'alice'": signed(handle, pending, key=Ed25519PrivateKey.generate()),
            "'mallory' is not in the approvers file": signed(handle, pending, "mallory"),
            "expired at": signed(handle, pending, expires_at=datetime.now(UTC).replace(microsecond=0)
                                 - timedelta(minutes=1)),
            "does not verify": signed("another-run", pending),
        }
        replayed_onto_this = [
            signed(handle, other_call).model_copy(update={"tool_call_id": call_id}),  # signed for call-1-2
            signed(handle, other_args),  # signed for other arguments
            # signed for the proposed arguments, sent with edited ones
            signed(handle, pending).model_copy(update={"arguments": {"to": "mallory", "amount_cents": 500}}),
        ]
        for reason, input in [*forged.items(), *(("does not verify", i) for i in replayed_onto_this)]:
            refused = await update_cli(address, run_id, input)
            assert refused.returncode != 0, reason
            assert reason in refused.stderr + refused.stdout
        assert effects(settings, handle) == [] and (await handle.query(AgentRun.state)).pending_approvals

        env = {**os.environ, "AGENT_APPROVERS_FILE": str(settings.approvers_path), "PYTHONPATH": str(REPO_ROOT)}
        approved = await run_cli("worker.approve", run_id, call_id, "--key", str(key_file(tmp_path, "alice")),
                                 "--address", address, "--comment", "checked", env=env)
        assert approved.returncode == 0, approved.stderr
        assert f"approved {call_id} as verified approver 'alice'" in approved.stdout
        result = await handle.result()
        state = await handle.query(AgentRun.state)
    assert result.status == RunStatus.COMPLETED and effects(settings, handle) == ["transfer bob 500"]
    [record] = state.approvals
    assert (record.decision, record.by, record.verified, record.comment) == ("approved", "alice", True, "checked")
    assert open_ledger(settings.ledger_path).receipt(f"{chain_id(handle)}/{call_id}")["decided_by"] == "alice"


async def test_signed_json_works_with_temporal_update_execute(dev_server, dev_client, settings, tmp_path):
    """`python -m worker.approve --print` gives the signed input; the plain temporal CLI sends it."""
    address = dev_server.config.address
    # A second transfer keeps the run waiting, so the replayed JSON meets a live run.
    model = ScriptedModel(call("transfer_funds", **PAY), call("transfer_funds", **PAY), final("paid"))
    async with make_worker(dev_client, settings, model, GOVERNED):
        handle, pending = await start_transfer(dev_client, settings)
        printed = await run_cli("worker.approve", handle.id, pending.tool_call_id, "--key",
                                str(key_file(tmp_path, "alice")), "--approver", "alice", "--address", address, "--print")
        assert printed.returncode == 0, printed.stderr
        unknown = await run_cli("worker.approve", handle.id, "call-9-9", "--key", str(key_file(tmp_path, "alice")),
                                "--approver", "alice", "--address", address)
        assert unknown.returncode == 1 and "no pending approval 'call-9-9' (pending: call-1-1)" in unknown.stderr
        payload = json.loads(printed.stdout)
        assert payload["approver"] == "alice" and payload["signature"] and payload["expires_at"].endswith("Z")
        sent = await update_cli(address, handle.id, payload)
        assert sent.returncode == 0, sent.stderr
        assert "as verified approver 'alice'" in sent.stdout
        again = await update_cli(address, handle.id, payload)  # the same signed JSON cannot decide twice
        assert again.returncode != 0 and "already decided" in again.stderr + again.stdout
        async def second_waiting() -> bool:
            return [p.tool_call_id for p in (await handle.query(AgentRun.state)).pending_approvals] == ["call-2-1"]

        await eventually(second_waiting, what="the second transfer to wait")
        await handle.execute_update(AgentRun.reject, RejectInput(tool_call_id="call-2-1"))
        assert (await handle.result()).status == RunStatus.COMPLETED
    assert effects(settings, handle) == ["transfer bob 500"]


async def test_a_forged_approve_signal_is_ignored(dev_client, settings):
    """A signal cannot be refused: the unsigned one is dropped, and only the signed one after it counts."""
    model = ScriptedModel(call("transfer_funds", **PAY), final("paid"))
    async with make_worker(dev_client, settings, model, GOVERNED):
        handle, pending = await start_transfer(dev_client, settings)
        await handle.signal("approve", ApproveInput(tool_call_id=pending.tool_call_id, approver="alice"))
        await handle.signal("approve", signed(handle, pending, key=Ed25519PrivateKey.generate()))
        await handle.signal("approve", signed(handle, pending, comment="the real one"))
        result = await handle.result()
        [record] = (await handle.query(AgentRun.state)).approvals
    assert result.status == RunStatus.COMPLETED and effects(settings, handle) == ["transfer bob 500"]
    assert (record.by, record.verified, record.comment) == ("alice", True, "the real one")


async def test_an_approver_approves_only_what_the_file_permits(dev_server, dev_client, settings, tmp_path):
    """Tenant, tool and max_risk limits hold, and the run's own requester may not approve its risk-4 call."""
    address = dev_server.config.address
    approvers = write_approvers(tmp_path / "limited.yaml", {
        "carol": {"tenants": ["globex"]}, "dave": {"tools": ["write_file"]}, "erin": {"max_risk": 3}, "frank": {}})
    settings = settings.model_copy(update={"approvers_file": approvers})
    model = ScriptedModel(call("transfer_funds", **PAY), final("paid"))
    async with make_worker(dev_client, settings, model, GOVERNED):
        handle, pending = await start_transfer(dev_client, settings, tenant_id="acme", user_id="frank")
        refusals = {
            "carol": "may not approve calls of tenant 'acme'",
            "dave": "may not approve transfer_funds (call-1-1, risk 4) (tools: ['write_file'])",
            "erin": "their max_risk is 3",
            "frank": "requested this run and may not approve its risk-4 call",
        }
        for approver, reason in refusals.items():
            refused = await update_cli(address, handle.id, signed(handle, pending, approver))
            assert refused.returncode != 0 and reason in refused.stderr + refused.stdout, approver
        await handle.cancel()
    assert effects(settings, handle) == []


async def test_approve_all_of_risky_calls_must_be_signed_over_the_whole_set(dev_client, settings):
    """Unsigned approve_all is refused; a signature over a different set is refused; over the set, both run."""
    both = Decision(kind="tool_calls", tool_calls=[
        ProposedToolCall(tool="transfer_funds", arguments=PAY),
        ProposedToolCall(tool="transfer_funds", arguments={"to": "carl", "amount_cents": 7}),
    ])
    model = ScriptedModel(both, final("paid"))
    async with make_worker(dev_client, settings, model, GOVERNED):
        run_id = f"signed-{uuid.uuid4()}"
        handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="pay two"), id=run_id,
                                                 task_queue=settings.task_queue, result_type=RunResult)

        async def two_waiting() -> bool:
            return len((await handle.query(AgentRun.state)).pending_approvals) == 2

        await eventually(two_waiting, what="two pending approvals")
        pending = (await handle.query(AgentRun.state)).pending_approvals
        for input, reason in [(ApproveAllInput(approver="alice"), "must be signed"),
                              (signed_all(handle, pending[:1]), "the pending calls changed")]:
            try:
                await handle.execute_update(AgentRun.approve_all, input)
                raise AssertionError(f"approve_all was not refused ({reason})")
            except Exception as e:  # WorkflowUpdateFailedError, with the validator's message as cause
                assert reason in str(getattr(e, "cause", e)), e
        approved = await handle.execute_update(AgentRun.approve_all, signed_all(handle, pending))
        assert (await handle.result()).status == RunStatus.COMPLETED
        audit = (await handle.query(AgentRun.state)).approvals
    assert approved == ["call-1-1", "call-1-2"]
    assert [(a.by, a.verified) for a in audit] == [("alice", True), ("alice", True)]
    assert sorted(effects(settings, handle)) == ["transfer bob 500", "transfer carl 7"]


async def test_a_signed_edit_runs_the_arguments_the_approver_signed(dev_client, settings):
    """The signature covers the edited arguments: the edited transfer runs, recorded as verified alice's edit."""
    edited = {"to": "bob", "amount_cents": 50}
    model = ScriptedModel(call("transfer_funds", **PAY), final("paid"))
    async with make_worker(dev_client, settings, model, GOVERNED):
        handle, pending = await start_transfer(dev_client, settings)
        reply = await handle.execute_update(AgentRun.approve, signed(handle, pending, arguments=edited))
        assert reply == f"approved {pending.tool_call_id} with edited arguments as verified approver 'alice'"
        await handle.result()
        [record] = (await handle.query(AgentRun.state)).approvals
    assert effects(settings, handle) == ["transfer bob 50"]
    assert (record.edited_arguments, record.by, record.verified) == (edited, "alice", True)


async def test_a_signature_from_a_closed_run_cannot_approve_a_new_run_under_the_same_id(dev_client, settings):
    """Approvals sit in history, readable by anyone who reaches the namespace. A second run under a
    reused workflow id proposes the same payment: the first run's signed approval is refused there,
    because a signature binds the run chain (state.approval_scope), not only the workflow id."""
    run_id = f"reused-{uuid.uuid4()}"
    model = ScriptedModel(lambda i: final("paid") if any(m.role == "tool" for m in i.messages)
                          else call("transfer_funds", **PAY))
    async with make_worker(dev_client, settings, model, GOVERNED):
        first = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="pay bob"), id=run_id,
                                                task_queue=settings.task_queue, result_type=RunResult)
        await eventually(lambda: _pending(first), what="the first payment to wait")
        [pending] = (await first.query(AgentRun.state)).pending_approvals
        captured = signed(first, pending)
        await first.execute_update(AgentRun.approve, captured)
        assert (await first.result()).status == RunStatus.COMPLETED
        second = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="pay bob"), id=run_id,
                                                 task_queue=settings.task_queue, result_type=RunResult)
        await eventually(lambda: _pending(second), what="the second payment to wait")
        state = await second.query(AgentRun.state)
        try:
            await second.execute_update(AgentRun.approve, captured)
            raise AssertionError("a signature from the closed run approved the new one")
        except WorkflowUpdateFailedError as e:
            assert "does not verify" in str(e.cause)
        await second.execute_update(AgentRun.approve, signed(second, state.pending_approvals[0]))
        assert (await second.result()).status == RunStatus.COMPLETED
    assert state.approval_scope == f"{run_id}/{second.first_execution_run_id}"
    assert effects(settings, first) == ["transfer bob 500"] and effects(settings, second) == ["transfer bob 500"]


async def _pending(handle) -> bool:
    return bool((await handle.query(AgentRun.state)).pending_approvals)
