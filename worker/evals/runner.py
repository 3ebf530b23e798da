"""Run a suite's cases as real `AgentRun` workflows and gather what each run did.

Each case (and each repeat) is one run on the target worker's task queue. The runner follows the
run's event stream (docs/events.md), which also tells it when to act: at `approval_needed` it reads
the pending call from the state query and approves it if the case's `approve:` list matches it,
otherwise rejects it (risk 0-2 calls take an unsigned approval; a call that needs a signature is
signed with --approver-key if one is given, else rejected with the reason); at `question` it sends
the case's reply. When the run ends it reads the state (status, answer, usage, approvals audit),
the history (each proposed call's arguments, recorded.py) and the workspace's files. Rubric checks are
judged last, through the worker (judging.py).

Concurrency is bounded by a semaphore; a run that outlives its case's timeout is terminated and
recorded as `timed_out`.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.exceptions import TemporalError
from temporalio.service import RPCError

from activities.tools.workspaces import workspace_dir
from worker.evals.judging import judge_rubrics, through_worker
from worker.evals.outcome import ApprovalSeen, Outcome, RunnerDecision, ToolCallRecord
from worker.evals.recorded import NotARun, RecordedRun, read_run
from worker.evals.suite import Case, Suite
from workflows.approval_signatures import approval_message, sign, signed_call
from workflows.contracts import (
    EVENTS_TOPIC,
    ApproveInput,
    PendingApproval,
    RejectInput,
    RunEvent,
    RunResult,
    RunState,
    UserMessageInput,
)

APPROVER = "evals"
# A run whose allowed_tools names a tool this worker lacks fails at once with this reason: the case
# cannot run here (e.g. the HTTP tools are off), which is not the agent's failure.
_MISSING_TOOLS = "allowed_tools names tools this run cannot use"
_MAX_FILE_CHARS = 256 * 1024
_MAX_FILES = 500


@dataclass
class Target:
    """Where runs go and where their workspaces can be read."""

    client: Client
    task_queue: str
    workspaces: Path | None = None  # None: the worker's files are elsewhere; file checks then fail
    approver_key: Ed25519PrivateKey | None = None
    approver: str = APPROVER


Progress = Callable[[Outcome, int, int], None]


async def run_cases(suite: Suite, cases: list[Case], target: Target, repeat: int = 1, concurrency: int = 4,
                    progress: Progress | None = None) -> list[Outcome]:
    """Every case `repeat` times, at most `concurrency` at once; outcomes in case order."""
    gate = asyncio.Semaphore(max(1, concurrency))
    jobs = [(case, r) for case in cases for r in range(repeat)]
    done = 0

    async def one(case: Case, r: int) -> Outcome:
        nonlocal done
        async with gate:
            outcome = await run_case(suite, case, target, r)
        done += 1
        if progress is not None:
            progress(outcome, done, len(jobs))
        return outcome

    return list(await asyncio.gather(*(one(case, r) for case, r in jobs)))


async def run_case(suite: Suite, case: Case, target: Target, repeat: int = 0) -> Outcome:
    workflow_id = f"eval-{suite.name}-{case.id}-{repeat}-{uuid.uuid4().hex[:8]}"
    outcome = Outcome(case_id=case.id, repeat=repeat, workflow_id=workflow_id, status="error")
    started = time.monotonic()
    try:
        handle = await target.client.start_workflow("AgentRun", suite.request(case), id=workflow_id,
                                                    task_queue=target.task_queue, result_type=RunResult)
    except (RPCError, TemporalError) as e:
        outcome.error = f"could not start the run: {e}"
        return outcome
    follower = _Follower(handle, suite, case, target, outcome)
    try:
        async with asyncio.timeout(suite.timeout_s(case)):
            await follower.follow()
            outcome.latency_s = round(time.monotonic() - started, 3)
            await read_state(handle, outcome)
    except TimeoutError:
        outcome.latency_s = round(time.monotonic() - started, 3)
        last = f" (last problem: {follower.problem})" if follower.problem else ""
        outcome.status, outcome.error = "timed_out", f"no result within {suite.timeout_s(case):g} s; run terminated{last}"
        await _terminate(handle)
        await read_state(handle, outcome, quiet=True)
        outcome.status = "timed_out"
    except (RPCError, TemporalError) as e:
        outcome.error = f"lost the run: {e}"
    except asyncio.CancelledError:  # Ctrl-C: no run is left behind on a queue that may go away with us
        await asyncio.shield(_terminate(handle))
        raise
    try:
        recorded: RecordedRun | None = await read_run(target.client, workflow_id)
    except (RPCError, TemporalError, NotARun) as e:
        recorded = None
        outcome.error = outcome.error or f"could not read the run's history: {e}"
    outcome.tool_calls = follower.tool_calls(recorded)
    outcome.files = _workspace_files(target.workspaces, f"{workflow_id}/{handle.first_execution_run_id}")
    if outcome.status == "failed" and _MISSING_TOOLS in (outcome.reason or ""):
        outcome.skipped = f"the worker lacks a tool the case needs: {outcome.reason}"
    elif outcome.status not in ("error", "timed_out"):
        await judge_rubrics(case.checks, outcome, case.goal, through_worker(target.client, target.task_queue, workflow_id))
    return outcome


@dataclass
class _Follower:
    handle: WorkflowHandle
    suite: Suite
    case: Case
    target: Target
    outcome: Outcome
    seen: dict[str, RunEvent] = field(default_factory=dict)  # tool_proposed by call id
    started: set[str] = field(default_factory=set)
    finished: dict[str, str | None] = field(default_factory=dict)
    problem: str | None = None  # the last error the stream's poll met

    async def follow(self) -> None:
        """Until the run's result event, or the run closed without one. A failing workflow task (a
        worker that cannot load the workflow, a bug being fixed) refuses the stream's polls: that is
        retried from the last offset, as a person watching would, until the case's timeout."""
        stream = WorkflowStreamClient.create(self.target.client, self.handle.id)
        offset = 0
        while True:
            try:
                async for item in stream.subscribe([EVENTS_TOPIC], from_offset=offset, result_type=RunEvent):
                    done = await self._take(item.data)
                    offset = item.offset + 1  # after acting: an event whose action failed is read again
                    if done:
                        return
            except (RPCError, TemporalError) as e:
                self.problem = str(e)
            if (await self.handle.describe()).status != WorkflowExecutionStatus.RUNNING:
                return
            await asyncio.sleep(1)

    async def _take(self, event: RunEvent) -> bool:
        """Act on one event; True at the run's result."""
        if event.kind == "tool_proposed" and event.call_id:
            self.seen[event.call_id] = event
        elif event.kind == "tool_started" and event.call_id:
            self.started.add(event.call_id)
        elif event.kind == "tool_finished" and event.call_id:
            self.finished[event.call_id] = event.result_status
        elif event.kind == "approval_needed" and event.call_id:
            await self._decide(event.call_id)
        elif event.kind == "question":
            await self._reply(event.message or "")
        return event.kind == "result"

    async def _decide(self, call_id: str) -> None:
        state = await self.handle.query("state", result_type=RunState)
        pending = next((p for p in state.pending_approvals if p.tool_call_id == call_id), None)
        if pending is None:
            return  # decided already (the event was read again after a reconnect)
        rule = next((m for m in self.case.approve if m.matches(pending.tool, pending.arguments)), None)
        if rule is None:
            await self._reject(pending, "not a call this eval case expects to be approved")
            return
        try:
            await self.handle.execute_update("approve", self._approval(pending, state.approval_scope), result_type=str)
        except WorkflowUpdateFailedError as e:
            why = getattr(e.cause, "message", None) or str(e.cause or e)
            await self._reject(pending, f"the case expects it approved, but the approval was refused: {why}")
            return
        self.outcome.decisions.append(RunnerDecision(kind="approve", call_id=call_id, tool=pending.tool,
                                                     note=f"matches {rule.describe()}"))

    def _approval(self, pending: PendingApproval, scope: str) -> ApproveInput:
        comment = f"eval case {self.case.id}"
        key = self.target.approver_key
        if not pending.signature_required or key is None:
            return ApproveInput(tool_call_id=pending.tool_call_id, approver=self.target.approver, comment=comment)
        expires_at = (datetime.now(UTC) + timedelta(minutes=15)).replace(microsecond=0)
        message = approval_message(scope, self.target.approver, expires_at, [signed_call(pending)])
        return ApproveInput(tool_call_id=pending.tool_call_id, approver=self.target.approver, comment=comment,
                            expires_at=expires_at, signature=sign(key, message))

    async def _reject(self, pending: PendingApproval, why: str) -> None:
        await self.handle.execute_update("reject", RejectInput(tool_call_id=pending.tool_call_id,
                                                               approver=self.target.approver, comment=why))
        self.outcome.decisions.append(RunnerDecision(kind="reject", call_id=pending.tool_call_id,
                                                     tool=pending.tool, note=why))

    async def _reply(self, question: str) -> None:
        self.outcome.questions.append(question)
        text = self.suite.reply(self.case)
        await self.handle.signal("user_message", UserMessageInput(text=text, user=self.target.approver))
        self.outcome.decisions.append(RunnerDecision(kind="reply", note=text))

    def tool_calls(self, recorded: RecordedRun | None) -> list[ToolCallRecord]:
        return tool_call_records(recorded, self.outcome.approvals, self.seen, self.started, self.finished)


def tool_call_records(recorded: RecordedRun | None, approvals: list[ApprovalSeen], seen: dict[str, RunEvent] | None = None,
                      started: set[str] | None = None, finished: dict[str, str | None] | None = None,
                      ) -> list[ToolCallRecord]:
    """Every proposed call, in order: arguments from history, verdict and status from the events (when
    followed live), the person's decision from the audit trail."""
    seen, started, finished = seen or {}, started or set(), finished or {}
    decided = {a.tool_call_id: a.decision for a in approvals}
    proposals = recorded.proposed() if recorded else {}
    runs = recorded.ran() if recorded else {}
    ids = sorted(set(proposals) | set(seen) | set(runs), key=_call_order)
    records = []
    for call_id in ids:
        proposed, event, ran = proposals.get(call_id), seen.get(call_id), runs.get(call_id)
        tool = (proposed.tool if proposed else None) or (event.tool if event else None) or (ran.tool if ran else "")
        arguments = proposed.arguments if proposed else (ran.arguments if ran else None)
        records.append(ToolCallRecord(
            id=call_id, step=_call_order(call_id)[0], tool=tool or "", arguments=arguments,
            verdict=event.verdict if event else None, approval=decided.get(call_id),
            ran=ran is not None or call_id in started,
            result_status=finished.get(call_id) or (ran.result.status if ran else None),
            ran_arguments=ran.arguments if ran and ran.arguments != arguments else None))
    return records


def _call_order(call_id: str) -> tuple[int, int]:
    parts = call_id.split("-")
    try:
        return int(parts[1]), int(parts[2])
    except (IndexError, ValueError):
        return 0, 0


async def read_state(handle: WorkflowHandle, outcome: Outcome, quiet: bool = False) -> None:
    try:
        # Bounded: with no live worker a query waits, and a timed-out case has waited enough.
        state = await handle.query("state", result_type=RunState, rpc_timeout=timedelta(seconds=15))
    except (RPCError, TemporalError) as e:
        if not quiet:
            outcome.error = f"could not read the run's state: {e}"
        return
    outcome.status = state.status.value
    outcome.goal = state.goal
    result = state.result
    outcome.answer = result.answer if result else None
    outcome.reason = result.reason if result else state.last_action
    outcome.steps = state.step
    outcome.prompt_tokens, outcome.completion_tokens = state.usage.prompt_tokens, state.usage.completion_tokens
    outcome.cost_usd = state.usage.cost_usd
    outcome.models = sorted(state.usage.by_model)
    outcome.approvals = [ApprovalSeen(tool_call_id=a.tool_call_id, tool=a.tool, decision=a.decision, by=a.by,
                                      comment=a.comment) for a in state.approvals]


async def _terminate(handle: WorkflowHandle) -> None:
    try:
        await handle.terminate(reason="eval case timed out")
    except (RPCError, TemporalError):
        pass  # it ended meanwhile


def _workspace_files(root: Path | None, chain_id: str) -> dict[str, str] | None:
    """The run's workspace as path -> text, leaving out the tools' own `.outputs` and temporary files."""
    if root is None or not root.is_dir():
        return None  # not where this process can read it (another host, a shared store)
    folder = workspace_dir(root, chain_id)
    if not folder.is_dir():
        return {}  # nothing was ever written
    files: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder)
        if not path.is_file() or path.is_symlink() or any(part.startswith(".") for part in relative.parts):
            continue
        if len(files) >= _MAX_FILES:
            break
        with path.open("rb") as f:
            files[relative.as_posix()] = f.read(_MAX_FILE_CHARS).decode(errors="replace")
    return files
