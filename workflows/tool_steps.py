"""The tool half of a step: policy, approval (a durable wait), exactly-once execution; and asking
a person. A mixin of AgentRun; it uses the run's state and its _set_status.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows.context import TOOL_RESULT_HINT
from workflows.contracts import (
    ExecuteToolInput,
    ListToolsResult,
    Message,
    PendingApproval,
    ProposedToolCall,
    RunStatus,
    ToolCall,
    ToolResult,
    ToolSpec,
    arguments_hash,
    canonical_json,
)
from workflows.errors import cause_of, raise_if_cancelled
from workflows.model_steps import CANCEL_WAITS
from workflows.policy import judge
from workflows.retry import BOOKKEEPING_RETRY, tool_retry_policy


class ToolSteps:
    async def _handle_tool_call(self, call_id: str, proposed: ProposedToolCall) -> None:
        spec = next((t for t in self.tools if t.name == proposed.tool), None)
        verdict = judge(spec, proposed.tool, self.request)
        self.last_action = f"{proposed.tool} proposed ({call_id}): {verdict.action}"
        if verdict.action == "deny" or spec is None:
            result = ToolResult(status="denied", error_type="policy", message=verdict.reason)
        else:
            call = ToolCall(
                id=call_id,
                tool=spec.name,
                arguments=proposed.arguments,
                arguments_hash=arguments_hash(proposed.arguments),
                risk_level=spec.risk_level,
            )
            denial = await self._approval(call, verdict.reason) if verdict.action == "ask" else None
            result = denial or await self._execute(call, spec)
        self.transcript.append(
            Message(
                role="tool",
                name=proposed.tool,
                tool_call_id=call_id,
                content=canonical_json(result.model_dump(exclude_none=True, exclude={"from_ledger"}))
                + "\n"
                + TOOL_RESULT_HINT,
            )
        )

    async def _approval(self, call: ToolCall, reason: str) -> ToolResult | None:
        """Wait for a person's decision; None means approved. Expiry is a durable timer."""
        now = workflow.now()
        timeout = timedelta(seconds=self.request.approval_timeout_s)
        self.approvals.pending[call.id] = PendingApproval(
            tool_call_id=call.id,
            tool=call.tool,
            arguments=call.arguments,
            arguments_hash=call.arguments_hash,
            risk_level=call.risk_level,
            reason=reason,
            requested_at=now,
            expires_at=now + timeout,
        )
        self.last_action = f"waiting for approval of {call.tool} ({call.id})"
        self._set_status(RunStatus.WAITING_FOR_HUMAN)
        try:
            await workflow.wait_condition(lambda: call.id in self.approvals.decided, timeout=timeout)
        except asyncio.TimeoutError:
            self.approvals.decide(call.id, "expired", "system:approval_timer", workflow.now())
        record = self.approvals.close(call.id)
        self.last_action = f"{call.tool} ({call.id}) {record.decision} by {record.by}"
        if record.decision == "approved":
            return None
        if record.decision == "expired":
            message = f"nobody approved this call within {self.request.approval_timeout_s:g} s, so it was not run"
            return ToolResult(status="denied", error_type="approval_expired", message=message)
        comment = f": {record.comment}" if record.comment else ""
        return ToolResult(status="denied", error_type="rejected", message=f"{record.by} rejected this call{comment}")

    async def _execute(self, call: ToolCall, spec: ToolSpec) -> ToolResult:
        self._set_status(RunStatus.RUNNING_TOOL)
        run_id = workflow.info().workflow_id
        try:
            result = await workflow.execute_activity(
                "tools.execute",
                ExecuteToolInput(
                    run_id=run_id,
                    tenant_id=self.request.tenant_id,
                    user_id=self.request.user_id,
                    tool_call=call,
                    idempotency_key=f"{run_id}/{call.id}",
                ),
                result_type=ToolResult,
                start_to_close_timeout=timedelta(seconds=spec.timeout_s),
                heartbeat_timeout=timedelta(seconds=spec.heartbeat_timeout_s) if spec.heartbeat_timeout_s else None,
                retry_policy=tool_retry_policy(spec.idempotency),
                cancellation_type=CANCEL_WAITS,
            )
        except ActivityError as e:
            raise_if_cancelled(e)
            result = ToolResult(status="error", error_type="tool_failed", message=cause_of(e))
        self.usage.tool_calls += 1
        self.last_action = f"{call.tool} ({call.id}) {result.status}"
        return result

    async def _ask_human(self, question: str) -> None:
        self.question = question
        self.last_action = "asked a person"
        self._set_status(RunStatus.WAITING_FOR_HUMAN)
        timeout = timedelta(seconds=self.request.approval_timeout_s)
        try:
            await workflow.wait_condition(lambda: bool(self.inbox), timeout=timeout)
        except asyncio.TimeoutError:
            self.inbox.append(f"(no answer within {self.request.approval_timeout_s:g} s; continue without one)")
        self.question = None

    async def _load_tools(self) -> list[ToolSpec]:
        listed = await workflow.execute_activity(
            "tools.list",
            result_type=ListToolsResult,
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=BOOKKEEPING_RETRY,
        )
        allowed = self.request.allowed_tools
        if allowed is None:
            return listed.tools
        known = {t.name for t in listed.tools}
        if unknown := sorted(set(allowed) - known):
            self._fail(f"allowed_tools names unknown tools {unknown}; registered: {sorted(known)}")
        return [t for t in listed.tools if t.name in allowed]
