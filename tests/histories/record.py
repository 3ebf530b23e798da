"""Re-record the checked-in histories: `python -m tests.histories.record`.

Runs each scenario on a fresh real dev server (temporal-dev.yaml, with a low continue-as-new
threshold so the long scenario continues as new) with the real workflow and tool activities and a
scripted model, then writes every run's history to tests/histories/<scenario>[-runN].json. Re-record
after an intentional, patched change to AgentRun; the replay tests then prove old histories still
replay. Scenario names record only those (`python -m tests.histories.record approve_all`): new
scenarios are recorded alone, so the histories already checked in stay as they were recorded.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.worker import Worker

from tests.conftest import dev_server_config, eventually, model_activities, registry_with
from tests.histories.models import CompactingModel, FallbackModel, TightWindowModel, interrupted_payment
from tests.scripted import GatedModel, ScriptedModel, ask, call, final
from tests.signing import signed, write_approvers
from worker.codec import project_data_converter
from worker.devserver import DevServer
from worker.main import build_tool_layer, build_worker
from worker.settings import Settings
from workflows.agent_run import AgentRun
from workflows.contracts import (
    ApproveAllInput,
    ApproveInput,
    Budgets,
    Decision,
    ProposedToolCall,
    RejectInput,
    ResolveOutcomeInput,
    RunRequest,
    RunResult,
    RunStatus,
    UserMessageInput,
)

HERE = Path(__file__).parent
CONTINUE_AS_NEW_AFTER_EVENTS = 40


async def _waiting(handle: WorkflowHandle) -> str:
    async def waiting() -> bool:
        return bool((await handle.query(AgentRun.state)).pending_approvals)

    await eventually(waiting, what="a pending approval")
    return (await handle.query(AgentRun.state)).pending_approvals[0].tool_call_id


async def approved(handle: WorkflowHandle) -> None:
    await handle.execute_update(AgentRun.approve, ApproveInput(tool_call_id=await _waiting(handle), approver="alice"))


async def signed_approval(handle: WorkflowHandle) -> None:
    """A risk-4 call: a forged approve signal (ignored), then a signed one (applied). Signal handlers check
    signatures again on replay, so this history proves they reach the same verdicts."""
    await _waiting(handle)
    [pending] = (await handle.query(AgentRun.state)).pending_approvals
    await handle.signal("approve", ApproveInput(tool_call_id=pending.tool_call_id, approver="alice"))
    await handle.signal("approve", signed(handle, pending, comment="checked"))


async def rejected(handle: WorkflowHandle) -> None:
    await handle.execute_update(AgentRun.reject, RejectInput(tool_call_id=await _waiting(handle), comment="no"))


async def answered(handle: WorkflowHandle) -> None:
    async def asked() -> bool:
        return (await handle.query(AgentRun.state)).status == RunStatus.WAITING_FOR_HUMAN

    await eventually(asked, what="the question")
    await handle.signal(AgentRun.user_message, UserMessageInput(text="use notes.md"))


async def answered_at_length(handle: WorkflowHandle) -> None:
    async def asked() -> bool:
        return (await handle.query(AgentRun.state)).status == RunStatus.WAITING_FOR_HUMAN

    await eventually(asked, what="the question")
    numbers = ", ".join(str(n) for n in range(1000, 1600))
    await handle.signal(AgentRun.user_message, UserMessageInput(text=f"Add these as well: {numbers}"))


async def nothing(handle: WorkflowHandle) -> None:
    return None


async def edited(handle: WorkflowHandle) -> None:
    """Approve the write with other arguments: what runs is what the person approved, under a new key."""
    await handle.execute_update(AgentRun.approve, ApproveInput(
        tool_call_id=await _waiting(handle), approver="alice",
        arguments={"path": "c.txt", "content": "edited"}))


async def approved_all(handle: WorkflowHandle) -> None:
    async def both() -> bool:
        return len((await handle.query(AgentRun.state)).pending_approvals) == 2

    await eventually(both, what="two pending approvals")
    await handle.execute_update(AgentRun.approve_all, ApproveAllInput(approver="alice"))


async def resolved(handle: WorkflowHandle) -> None:
    """The interrupted payment's outcome is unknown: a person says to retry it."""
    async def unresolved() -> bool:
        return bool((await handle.query(AgentRun.state)).pending_resolutions)

    await eventually(unresolved, what="a call with an unknown outcome")
    [pending] = (await handle.query(AgentRun.state)).pending_resolutions
    decision = ResolveOutcomeInput(tool_call_id=pending.tool_call_id, decision="retry", by="ops")
    await handle.execute_update(AgentRun.resolve_outcome, decision)


def cancelled_late(model: GatedModel) -> Callable[[WorkflowHandle], Awaitable[None]]:
    """Cancel the run while its model call runs, then let the call complete after the cancel."""

    async def drive(handle: WorkflowHandle) -> None:
        await model.entered.wait()
        await handle.cancel()

        async def cancel_requested() -> bool:
            history = await handle.fetch_history()
            return any(e.HasField("activity_task_cancel_requested_event_attributes") for e in history.events)

        await eventually(cancel_requested, what="the workflow to ask the model activity to cancel")
        model.gate.set()

    return drive


def two_writes() -> Decision:
    return Decision(kind="tool_calls", tool_calls=[
        ProposedToolCall(tool="write_file", arguments={"path": "d.txt", "content": "1"}),
        ProposedToolCall(tool="write_file", arguments={"path": "e.txt", "content": "2"})])


def summed(terms: int) -> str:
    return "+".join(["1"] * terms)


Scenario = tuple[RunRequest, ScriptedModel, Callable[[WorkflowHandle], Awaitable[None]]]


def scenarios(data_dir: Path) -> dict[str, Scenario]:
    """`data_dir`/<name> is each scenario's data directory (its ledger, workspaces, blobs)."""
    gated = GatedModel(call("write_file", path="a.txt", content="x"))
    return {
        "approved_write": (
            RunRequest(goal="compute then write"),
            ScriptedModel(call("calculator", expression="6*7"), call("write_file", path="a.txt", content="42"), final("done")),
            approved,
        ),
        "rejected_write": (
            RunRequest(goal="write"),
            ScriptedModel(call("write_file", path="b.txt", content="x"), final("not written")),
            rejected,
        ),
        "ask_human": (RunRequest(goal="edit"), ScriptedModel(ask("which file?"), final("ok")), answered),
        "signed_approval": (
            RunRequest(goal="pay bob"),
            ScriptedModel(call("transfer_funds", to="bob", amount_cents=500), final("paid")),
            signed_approval,
        ),
        "budget_exceeded": (
            RunRequest(goal="loop", budgets=Budgets(max_steps=3)),
            ScriptedModel(call("calculator", expression="1+1")),
            nothing,
        ),
        "continued_as_new": (
            RunRequest(goal="long", budgets=Budgets(max_steps=12)),
            ScriptedModel(*[call("calculator", expression=f"{i}*{i}") for i in range(1, 10)], final("done")),
            nothing,
        ),
        # Paths a command-order change must not slip past: each scenario drives one of them.
        "late_cancel": (RunRequest(goal="write"), gated, cancelled_late(gated)),  # late-cancel
        "outcome_resolution": (  # outcome-resolution: tools.resolve_unknown, then the retried call
            RunRequest(goal="pay bob"),
            ScriptedModel(interrupted_payment(data_dir / "outcome_resolution" / "ledger.sqlite",
                                              to="bob", amount_cents=250), final("paid")),
            resolved,
        ),
        "model_fallback": (  # the first model fails, the route's next one answers: a fallback event
            RunRequest(goal="compute"),
            FallbackModel(call("calculator", expression="2+2"), final("4")),
            nothing,
        ),
        "compaction": (  # a small window: context.summarize once the prompt passes 80 % of it
            RunRequest(goal="add up", allowed_tools=["calculator"], max_output_tokens=64),
            CompactingModel(*[call("calculator", expression=summed(n)) for n in range(150, 156)],
                            final("done")),
            nothing,
        ),
        "compaction_before_call": (  # a long reply does not fit: the older turns are compacted before the call
            RunRequest(goal="add up", allowed_tools=["calculator"], max_output_tokens=64),
            TightWindowModel(*[call("calculator", expression=summed(n)) for n in range(150, 153)],
                             ask("which numbers next?"), call("calculator", expression="1+1"), final("done")),
            answered_at_length,
        ),
        "approval_expired": (  # the approval timer fires, the call is denied, the run goes on
            RunRequest(goal="write", approval_timeout_s=2),
            ScriptedModel(call("write_file", path="f.txt", content="x"), final("not written")),
            nothing,
        ),
        "edited_approval": (  # a second tools.propose under the edited call's key
            RunRequest(goal="write"),
            ScriptedModel(call("write_file", path="b.txt", content="x"), final("written")),
            edited,
        ),
        "approve_all": (  # two approvals in one step, decided together
            RunRequest(goal="write two"),
            ScriptedModel(two_writes(), final("both written")),
            approved_all,
        ),
    }


EXTRA_TOOLS = {"signed_approval": ("tests.governed_tools",), "outcome_resolution": ("tests.governed_tools",)}


async def record(out_dir: Path = HERE, names: list[str] | None = None) -> list[Path]:
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        config = dev_server_config(Path(tmp), **{"limit.historyCount.suggestContinueAsNew": CONTINUE_AS_NEW_AFTER_EVENTS})
        server = DevServer(config, log_path=Path(tmp) / "server.log").start()
        try:
            client = await Client.connect(config.address, data_converter=project_data_converter())
            for name, (request, model, drive) in scenarios(Path(tmp)).items():
                if names and name not in names:
                    continue
                (Path(tmp) / name).mkdir()
                settings = Settings(task_queue=f"record-{uuid.uuid4()}", data_dir=Path(tmp) / name,
                                    approvers_file=write_approvers(Path(tmp) / name / "approvers.yaml"))
                async with _worker(client, settings, model, *EXTRA_TOOLS.get(name, ())):
                    handle = await client.start_workflow(AgentRun.run, request, id=f"history-{name}",
                                                         task_queue=settings.task_queue, result_type=RunResult)
                    await drive(handle)
                    try:
                        await handle.result()
                    except WorkflowFailureError:
                        if name != "late_cancel":  # the one scenario that ends cancelled
                            raise
                    written += await _save_runs(client, handle.id, name, out_dir)
        finally:
            server.stop()
    return written


def _worker(client: Client, settings: Settings, model: ScriptedModel, *tool_modules: str) -> Worker:
    """tests.conftest.make_worker, plus any activities the scenario's model brings (context.summarize)."""
    activities = model_activities(model, settings)  # first: it gives the model its blob store
    activities += getattr(model, "extra_activities", list)()
    tools = build_tool_layer(settings, registry_with(*tool_modules)).activities()
    return build_worker(client, settings, [*activities, *tools])


async def _save_runs(client: Client, workflow_id: str, name: str, out_dir: Path) -> list[Path]:
    """Save every run of the chain (continue-as-new starts a new run under the same id)."""
    runs = [e async for e in client.list_workflows(f'WorkflowId="{workflow_id}"')]
    runs.sort(key=lambda e: e.start_time)
    paths = []
    for index, execution in enumerate(runs, 1):
        history = await client.get_workflow_handle(workflow_id, run_id=execution.run_id).fetch_history()
        path = out_dir / (f"{name}.json" if len(runs) == 1 else f"{name}-run{index}.json")
        path.write_text(history.to_json())
        paths.append(path)
    return paths


if __name__ == "__main__":
    # Scenario names limit the recording to them: `python -m tests.histories.record signed_approval`.
    for path in asyncio.run(record(names=sys.argv[1:])):
        print(f"wrote {path.relative_to(HERE.parent.parent)}")
