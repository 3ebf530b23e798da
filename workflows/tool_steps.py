"""The tool half of a step: policy, approval (a durable wait), exactly-once execution; and asking
a person. Handed the run's state (workflows/run.py); it writes the transcript, the approvals, tool
usage and status.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import calls, summaries
from workflows.calls import ActivityStub
from workflows.contracts import (
    ApprovalRecord,
    ApproversPolicy,
    ApproveToolCallInput,
    ExecuteToolInput,
    LedgerReceipt,
    ListMcpToolsInput,
    ListToolsInput,
    LoadApproversInput,
    PendingApproval,
    PendingResolution,
    ProposedToolCall,
    ProposeToolCallInput,
    ResolveUnknownInput,
    RunStatus,
    SeedWorkspaceInput,
    ToolCall,
    ToolResult,
    ToolSpec,
    arguments_hash,
)
from workflows.contracts.events import arguments_preview, result_preview
from workflows.contracts.prompt import message_digest, tool_message
from workflows.errors import cause_of, raise_if_cancelled
from workflows.policy import ALWAYS_ASK_FROM_RISK, argument_problem, judge
from workflows.retry import tool_retry_policy
from workflows.run import Run

I = TypeVar("I", ProposeToolCallInput, ApproveToolCallInput)  # noqa: E741 (a ledger input)


@dataclass
class _Plan:
    call_id: str
    tool: str
    outcome: ToolResult | None = None  # set when the call will not run (denied, rejected, expired)
    spec: ToolSpec | None = None
    call: ToolCall | None = None
    ask: bool = False
    reason: str = ""
    key: str = ""

    def runnable(self) -> tuple[ToolCall, ToolSpec]:
        """The call and its spec: set on every plan the policy let through."""
        assert self.call is not None and self.spec is not None, self.call_id
        return self.call, self.spec


class ToolSteps:
    def __init__(self, run: Run) -> None:
        self.run = run
        self.saved = run.saved  # never replaced: continue-as-new starts a new Run

    async def handle_tool_calls(self, proposals: list[ProposedToolCall]) -> None:
        """Judge every call of the step, ask for all needed approvals at once (so a person sees them
        together and can approve_all), then run the approved calls in the order the model gave."""
        plans: list[_Plan] = []
        for index, proposed in enumerate(proposals, 1):
            call_id = f"call-{self.saved.step}-{index}"
            if (answered := self._from_world(call_id, proposed)) is not None:
                plans.append(_Plan(call_id, proposed.tool, answered))
                continue
            spec = next((t for t in self.saved.tools if t.name == proposed.tool), None)
            verdict = judge(spec, proposed.tool, self.run.request, self.saved.tenant_allowed_tools)
            self.run.last_action = f"{proposed.tool} proposed ({call_id}): {verdict.action}"
            self.run.emit("tool_proposed", tool=proposed.tool, call_id=call_id, verdict=verdict.action,
                          message=verdict.reason, arguments=arguments_preview(proposed.arguments))
            if verdict.action == "deny" or spec is None:
                plans.append(_Plan(call_id, proposed.tool, ToolResult(status="denied", error_type="policy",
                                                                      message=verdict.reason)))
                continue
            if (problem := argument_problem(spec, proposed.arguments)) and workflow.patched("arguments-before-approval"):
                # A person is never shown, and asked to approve, a call the tool would refuse anyway
                # (e.g. an injected `"pre_approved": true`).
                plans.append(_Plan(call_id, proposed.tool, ToolResult(status="error", error_type="invalid_arguments",
                                                                      message=problem)))
                continue
            call = ToolCall(id=call_id, tool=spec.name, arguments=proposed.arguments,
                            arguments_hash=arguments_hash(proposed.arguments), risk_level=spec.risk_level)
            plans.append(_Plan(call_id, proposed.tool, spec=spec, call=call, ask=verdict.action == "ask",
                               reason=verdict.reason, key=f"{self.run.chain_id}/{call.id}"))
        asking = [p for p in plans if p.ask]
        if asking and self.saved.approvers is None and workflow.patched("signed-approvals"):
            # Read once, before the run's first approval, and kept in history (and checkpoints): the
            # validators check signatures against it without I/O. A key added or revoked later reaches
            # new runs, not this one.
            self.saved.approvers = await self._load_approvers()
        decisions = await asyncio.gather(*(
            self._approval(call, p.key, p.reason, self._signature_required(spec))
            for p in asking for call, spec in [p.runnable()]))
        for plan, decided in zip(asking, decisions):
            if isinstance(decided, ToolResult):
                plan.outcome = decided
            else:
                plan.call, plan.key = decided
        for plan in plans:
            result = plan.outcome or await self._run_call(*plan.runnable(), plan.key)
            message = tool_message(plan.call_id, plan.tool, result)
            if result.message_ref is not None and result.message_ref == message_digest(message):
                # The activity stored exactly this message: the next model call names it by digest.
                message.stored = result.message_ref
            self.saved.transcript.append(message)

    def _from_world(self, call_id: str, proposed: ProposedToolCall) -> ToolResult | None:
        """A forked or captured run's answer to a call from its recorded world: the recorded result of an
        equal call (tool and argument hash) instead of acting again; in a dry run, a refusal of any other."""
        world = self.run.request.world
        if world is None:
            return None
        recorded = world.result_for(proposed.tool, arguments_hash(proposed.arguments))
        if recorded is not None:
            self.run.last_action = f"{proposed.tool} ({call_id}): the recorded result"
            self.run.emit("tool_proposed", tool=proposed.tool, call_id=call_id, verdict="recorded",
                          message=f"answered from the recorded world of {world.source or 'the original run'}")
            self.run.emit("tool_finished", tool=proposed.tool, call_id=call_id, result_status=recorded.status,
                          message="recorded result")
            # The original's stored message named its own call id: this run's message is its own.
            return recorded.model_copy(update={"message_ref": None})
        if world.dry_run:
            self.run.emit("tool_proposed", tool=proposed.tool, call_id=call_id, verdict="deny",
                          message="dry run: only calls recorded in the original run are answered")
            return ToolResult(status="denied", error_type="dry_run",
                              message="this run is a dry run: a call the original run did not make is not run")
        return None

    async def _run_call(self, call: ToolCall, spec: ToolSpec, key: str) -> ToolResult:
        self.run.raise_if_cancel_requested()  # a cancelled run starts no further side effects
        result = await self._execute(call, spec, key)
        if result.error_type == "outcome_unknown" and workflow.patched("outcome-resolution"):
            result = await self._resolve_unknown(call, spec, key, result)
        return result

    def _signature_required(self, spec: ToolSpec) -> bool:
        """Risk 3-4 calls and tools that declare approval 'always' need a signed approval; so do calls at
        or above the approvers file's `signed_from_risk` (at most 3). Runs without a loaded file: none."""
        if self.saved.approvers is None:
            return False
        threshold = min(self.saved.approvers.signed_from_risk, ALWAYS_ASK_FROM_RISK)
        return spec.risk_level >= threshold or spec.approval == "always"

    async def _load_approvers(self) -> ApproversPolicy:
        return await self.run.activity(calls.LOAD_APPROVERS, LoadApproversInput(),
                                       summary="load the approvers file before the run's first approval")

    async def _approval(
        self, call: ToolCall, key: str, reason: str, signature_required: bool = False
    ) -> tuple[ToolCall, str] | ToolResult:
        """Wait for a person's decision: the (possibly edited) call and its key, or a denial.

        The ledger holds the call as `proposed` while it waits and `approved` after, and refuses to
        run a proposed call that was never approved, so no path around this wait executes it.
        """
        guarded = workflow.patched("ledger-approvals")
        if guarded:
            await self._ledger(calls.PROPOSE_CALL, ProposeToolCallInput(
                run_id=self.run.chain_id, tool_call=call, idempotency_key=key, requires_approval=True))
        self.run.raise_if_cancel_requested()  # never start a day-long wait for a cancelled run
        now = workflow.now()
        timeout = timedelta(seconds=self.run.request.approval_timeout_s)
        self.run.approvals.pending[call.id] = PendingApproval(
            tool_call_id=call.id,
            tool=call.tool,
            arguments=call.arguments,
            arguments_hash=call.arguments_hash,
            risk_level=call.risk_level,
            reason=reason,
            requested_at=now,
            expires_at=now + timeout,
            signature_required=signature_required,
        )
        self.run.last_action = f"waiting for approval of {call.tool} ({call.id})"
        self.run.emit("approval_needed", tool=call.tool, call_id=call.id, risk_level=call.risk_level, message=reason)
        self.run.set_status(RunStatus.WAITING_FOR_HUMAN)
        try:
            await workflow.wait_condition(lambda: call.id in self.run.approvals.decided, timeout=timeout,
                                          timeout_summary=summaries.approval_timer(
                                              call.tool, call.id, self.run.request.approval_timeout_s))
        except TimeoutError:
            self.run.approvals.decide(call.id, "expired", "system:approval_timer", workflow.now())
        record = self.run.approvals.close(call.id)
        proven = " (signature verified)" if record.verified else ""
        via = f", {record.proof}" if record.proof else ""
        self.run.last_action = f"{call.tool} ({call.id}) {record.decision} by {record.by}{proven}{via}"
        self.run.emit("approval_decided", tool=call.tool, call_id=call.id, decision=record.decision, by=record.by,
                      verified=record.verified, proof=record.proof, message=record.comment)
        if record.decision == "expired":
            message = f"nobody approved this call within {self.run.request.approval_timeout_s:g} s, so it was not run"
            return ToolResult(status="denied", error_type="approval_expired", message=message)
        if record.decision != "approved":
            comment = f": {record.comment}" if record.comment else ""
            return ToolResult(status="denied", error_type="rejected", message=f"{record.by} rejected this call{comment}")
        if record.edited_arguments is not None:
            # What runs is what the person approved: new arguments, new hash, and a new key so the
            # ledger never confuses it with the call the model proposed.
            edited = record.edited_arguments
            call = call.model_copy(update={"arguments": edited, "arguments_hash": arguments_hash(edited)})
            key = f"{key}~{call.arguments_hash[:12]}"
            if guarded:
                await self._ledger(calls.PROPOSE_CALL, ProposeToolCallInput(
                    run_id=self.run.chain_id, tool_call=call, idempotency_key=key, requires_approval=True))
        if guarded:
            await self._ledger(calls.APPROVE_CALL, ApproveToolCallInput(
                idempotency_key=key, arguments_hash=call.arguments_hash, approver=record.by))
        return call, key

    async def _ledger(self, stub: ActivityStub[I, LedgerReceipt], input: I) -> LedgerReceipt:
        summary = summaries.ledger_step(input)
        return await self.run.activity(stub, input, summary=summary)

    async def _execute(self, call: ToolCall, spec: ToolSpec, key: str) -> ToolResult:
        self.run.set_status(RunStatus.RUNNING_TOOL)
        self.run.emit("tool_started", tool=call.tool, call_id=call.id)
        try:
            result = await self.run.activity(
                calls.EXECUTE_TOOL,
                ExecuteToolInput(
                    run_id=self.run.chain_id,
                    tenant_id=self.run.request.tenant_id,
                    user_id=self.run.request.user_id,
                    tool_call=call,
                    idempotency_key=key,
                    store_id=self.saved.stores.store_id if self.saved.stores else None,
                ),
                summary=summaries.tool_call(call.tool, call.arguments, call.id),
                start_to_close_timeout=timedelta(seconds=spec.timeout_s),
                heartbeat_timeout=timedelta(seconds=spec.heartbeat_timeout_s) if spec.heartbeat_timeout_s else None,
                retry_policy=tool_retry_policy(spec.idempotency),
            )
        except ActivityError as e:
            raise_if_cancelled(e)
            result = ToolResult(status="error", error_type="tool_failed", message=cause_of(e))
        self.saved.usage.tool_calls += 1
        self.run.last_action = f"{call.tool} ({call.id}) {result.status}"
        self.run.emit("tool_finished", tool=call.tool, call_id=call.id, result_status=result.status,
                      message=result.message, preview=result_preview(result.data))
        return result

    async def _resolve_unknown(self, call: ToolCall, spec: ToolSpec, key: str, result: ToolResult) -> ToolResult:
        """A non-idempotent call may or may not have acted: never guess; a person decides."""
        while result.error_type == "outcome_unknown":
            self.run.approvals.unresolved[call.id] = PendingResolution(
                tool_call_id=call.id, tool=call.tool, arguments=call.arguments, message=result.message)
            self.run.last_action = f"{call.tool} ({call.id}) outcome unknown: waiting for a person"
            self.run.emit("outcome_unknown", tool=call.tool, call_id=call.id, message=result.message)
            self.run.set_status(RunStatus.WAITING_FOR_HUMAN)
            await workflow.wait_condition(lambda: call.id in self.run.approvals.resolutions)
            decision = self.run.approvals.resolutions.pop(call.id)
            self.run.approvals.unresolved.pop(call.id)
            self.run.approvals.history.append(ApprovalRecord(
                tool_call_id=call.id, tool=call.tool, decision=decision.decision, by=decision.by,
                at=workflow.now(), comment=decision.comment, arguments_hash=call.arguments_hash,
                reason="outcome_unknown"))
            resolved = await self.run.activity(
                calls.RESOLVE_UNKNOWN,
                ResolveUnknownInput(run_id=self.run.chain_id, idempotency_key=key,
                                    decision=decision.decision, by=decision.by, comment=decision.comment,
                                    data=decision.data),
                summary=summaries.ledger(f"resolve ({decision.decision})", call.tool, call.id, decision.by),
            )
            if not resolved.rerun:
                return resolved.tool_result or ToolResult(status="error", error_type="abandoned", message="abandoned")
            result = await self._execute(call, spec, key)
        return result

    async def ask_human(self, question: str) -> None:
        self.run.question = question
        self.run.emit("question", message=question)
        self.run.last_action = "asked a person"
        self.run.set_status(RunStatus.WAITING_FOR_HUMAN)
        timeout = timedelta(seconds=self.run.request.approval_timeout_s)
        try:
            await workflow.wait_condition(lambda: bool(self.saved.pending_user_messages), timeout=timeout,
                                          timeout_summary=summaries.question_timer(self.run.request.approval_timeout_s))
        except TimeoutError:
            self.saved.pending_user_messages.append(f"(no answer within {self.run.request.approval_timeout_s:g} s; continue without one)")
        self.run.question = None

    async def seed_workspace(self, files: dict[str, str]) -> None:
        """The request's starting files, in the workspace before the model first looks."""
        await self.run.activity(
            calls.SEED_WORKSPACE,
            SeedWorkspaceInput(run_id=self.run.chain_id, files=files,
                               store_id=self.saved.stores.store_id if self.saved.stores else None),
            summary=f"put {len(files)} starting file(s) in the run's workspace")

    async def load_tools(self) -> list[ToolSpec]:
        listed = await self.run.activity(calls.LIST_TOOLS, ListToolsInput(tenant_id=self.run.request.tenant_id),
                                         summary=f"list the tools of tenant {self.run.request.tenant_id}")
        tools = list(listed.tools)
        self.saved.tenant_allowed_tools = listed.tenant_allowed_tools
        if workflow.patched("mcp-tools"):
            # The MCP servers' tool lists are read once, here, and kept in history: a worker restart
            # or a server that changes its tools never changes what a running run sees.
            mcp = await self.run.activity(calls.LIST_MCP_TOOLS, ListMcpToolsInput(),
                                          summary="list the MCP servers' tools")
            tools += mcp.tools
        if self.saved.tenant_allowed_tools is not None:
            tools = [t for t in tools if t.name in self.saved.tenant_allowed_tools]
        allowed = self.run.request.allowed_tools
        if allowed is None:
            return tools
        known = {t.name for t in tools}
        if unknown := sorted(set(allowed) - known):
            self.run.fail(f"allowed_tools names tools this run cannot use {unknown}; available: {sorted(known)}")
        return [t for t in tools if t.name in allowed]
