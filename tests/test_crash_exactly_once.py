"""SIGKILL the worker around a side-effecting tool; the effect must still happen exactly once."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from temporalio.client import Client

from activities.ledger import Ledger
from activities.tools.workspaces import workspace_dir
from tests.conftest import chain_id, eventually, state_if_answered
from tests.crash_tools import EFFECT_MARKER, RELEASE_BEFORE, RELEASE_FILE
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer, tool_then_answer
from worker.devserver import free_port
from workflows.agent_run import AgentRun
from workflows.contracts import ResolveOutcomeInput, RunRequest, RunResult, RunStatus

LINE = "paid invoice 42"


async def crash_run(client: Client, address: str, tmp_path: Path, kill_when: str,
                    tool: str = "gated_append", metrics: dict | None = None) -> tuple[RunResult, Path, dict]:
    """`metrics`, when given, gets the second worker's Prometheus page while the run waits for a person."""
    queue, run_id = f"tq-{uuid.uuid4()}", f"crash-{uuid.uuid4()}"
    data = tmp_path / "data"
    ledger = Ledger(data / "ledger.sqlite")
    responder = tool_then_answer(tool, {"path": "ledger.txt", "line": LINE}, "appended")
    with ModelWireServer(responder) as model:
        worker_args = (address, queue, data, model.base_url)
        first = WorkerProcess(*worker_args, tool_modules="activities.tools.workspace_files,tests.crash_tools").start()
        try:
            # Started paused, so the test can prepare the run's workspace before its first step.
            handle = await client.start_workflow(
                "AgentRun", RunRequest(goal="record the payment"), id=run_id, task_queue=queue, result_type=RunResult,
                start_signal="pause",
            )
            workspace, key = run_workspace_in(data, handle), f"{chain_id(handle)}/call-1-1"
            workspace.mkdir(parents=True)
            if kill_when == "after_completion":
                (workspace / RELEASE_FILE).touch()
            await handle.signal("resume")
            if kill_when == "before_effect":
                await eventually(_exists(workspace / f"waiting-{RELEASE_BEFORE}"), timeout_s=60, what="the tool to start")
            elif kill_when == "during_tool":
                await eventually(_exists(workspace / EFFECT_MARKER), timeout_s=60, what="the side effect")
            else:
                await eventually(_succeeded(ledger, key), timeout_s=60, what="the ledger receipt")
            first.kill()
            (workspace / RELEASE_BEFORE).touch()  # the retry may act now
        finally:
            first.stop()
        port = free_port()
        with WorkerProcess(*worker_args, tool_modules="activities.tools.workspace_files,tests.crash_tools",
                           env={"AGENT_METRICS_ADDRESS": f"127.0.0.1:{port}"} if metrics is not None else None):
            if tool == "gated_payment":
                await eventually(_unresolved(handle), timeout_s=60, what="the run to wait with outcome_unknown")
                if metrics is not None:
                    await eventually(_scraped(port, metrics, "agent_outcome_unknown"), what="the outcome_unknown metric")
                assert (workspace / "ledger.txt").read_text().splitlines() == [LINE]
                await handle.execute_update(AgentRun.resolve_outcome, ResolveOutcomeInput(
                    tool_call_id="call-1-1", decision="mark_done", by="ops"))
            result = await handle.result()
    return result, workspace / "ledger.txt", ledger.receipt(key)


def _scraped(port: int, into: dict, name: str):
    async def check() -> bool:
        try:
            async with httpx.AsyncClient() as http:
                into["text"] = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        except httpx.HTTPError:
            return False
        return name in into["text"]

    return check


def run_workspace_in(data: Path, handle) -> Path:
    return workspace_dir(data / "workspaces", chain_id(handle))


def _unresolved(handle):
    async def check() -> bool:
        state = await state_if_answered(handle)
        return state is not None and state.status == RunStatus.WAITING_FOR_HUMAN and len(state.pending_resolutions) == 1

    return check


def _exists(path: Path):
    async def check() -> bool:
        return path.exists()

    return check


def _succeeded(ledger: Ledger, key: str):
    async def check() -> bool:
        receipt = ledger.receipt(key)
        return receipt is not None and receipt["status"] == "succeeded"

    return check


async def test_kill_while_the_tool_runs_applies_the_effect_once(dev_client, dev_server, tmp_path):
    """Killed after the effect but before completion: the retry reconciles instead of appending again."""
    result, target, receipt = await crash_run(dev_client, dev_server.config.address, tmp_path, "during_tool")
    assert result.status == RunStatus.COMPLETED
    assert target.read_text().splitlines() == [LINE]
    assert receipt["status"] == "succeeded" and receipt["attempts"] == 2


async def test_kill_right_after_the_tool_completes_applies_the_effect_once(dev_client, dev_server, tmp_path):
    """Killed once the receipt is recorded: a retry returns the receipt; the effect is not repeated."""
    result, target, receipt = await crash_run(dev_client, dev_server.config.address, tmp_path, "after_completion")
    assert result.status == RunStatus.COMPLETED
    assert target.read_text().splitlines() == [LINE]
    assert receipt["status"] == "succeeded" and receipt["attempts"] == 1


async def test_kill_before_the_effect_applies_it_once_on_retry(dev_client, dev_server, tmp_path):
    """Killed before acting: the retry finds no saved pre-state, acts once, and the run completes."""
    result, target, receipt = await crash_run(dev_client, dev_server.config.address, tmp_path, "before_effect",
                                              tool="gated_before_append")
    assert result.status == RunStatus.COMPLETED
    assert target.read_text().splitlines() == [LINE]
    assert receipt["status"] == "succeeded" and receipt["attempts"] == 2


async def test_non_idempotent_tool_killed_after_acting_waits_for_a_person(dev_client, dev_server, tmp_path):
    """A not-idempotent call cut off after its effect is never repeated: the run waits with
    outcome_unknown until a person marks it done, and the effect stays single."""
    result, target, receipt = await crash_run(dev_client, dev_server.config.address, tmp_path, "during_tool",
                                              tool="gated_payment")
    assert result.status == RunStatus.COMPLETED
    assert target.read_text().splitlines() == [LINE]
    assert receipt["status"] == "succeeded" and receipt["decision"] == "mark_done"


async def test_an_outcome_unknown_is_counted_once_by_the_worker_that_saw_it(dev_client, dev_server, tmp_path):
    """The agent_outcome_unknown metric: one for the one interrupted not-idempotent call, by its tool."""
    metrics: dict = {}
    result, target, _ = await crash_run(dev_client, dev_server.config.address, tmp_path, "during_tool",
                                        tool="gated_payment", metrics=metrics)
    assert result.status == RunStatus.COMPLETED and target.read_text().splitlines() == [LINE]
    counted = [line for line in metrics["text"].splitlines() if line.startswith("agent_outcome_unknown{")]
    assert len(counted) == 1 and 'tool="gated_payment"' in counted[0] and counted[0].endswith(" 1"), counted
