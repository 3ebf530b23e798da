"""The tool activities: list the registry, and execute one call exactly once through the ledger.

Tools come from the registry, or from `dynamic_tools` (a lookup by name, e.g. the MCP connector's
`mcp__<server>__<tool>` names), so every call, built-in or remote, passes the same ledger.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context.blobs import BlobStore
from activities.context.references import reference_if_large
from activities.heartbeat import with_heartbeats
from activities.ledger import LedgerBackend, LedgerConflict
from activities.tools.registry import Tool, ToolContext, ToolError, ToolRegistry
from workflows.contracts import ExecuteToolInput, ListToolsInput, ListToolsResult, ToolResult, arguments_hash

log = structlog.get_logger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def _error(error_type: str, message: str, retryable: bool = False) -> ToolResult:
    return ToolResult(status="error", error_type=error_type, message=message, retryable=retryable)


class ToolActivities:
    def __init__(self, registry: ToolRegistry, ledger: LedgerBackend, workspaces: Path,
                 dynamic_tools: Callable[[str], Tool | None] | None = None,
                 tenant_tools: dict[str, list[str]] | None = None, blobs: BlobStore | None = None) -> None:
        self.registry = registry
        self.tenant_tools = tenant_tools or {}
        self.ledger = ledger
        self.workspaces = workspaces
        self.dynamic_tools = dynamic_tools
        self.blobs = blobs

    def workspace_for(self, run_id: str) -> Path:
        return self.workspaces / _UNSAFE.sub("_", run_id)

    @activity.defn(name="tools.list")
    async def list_tools(self, input: ListToolsInput | None = None) -> ListToolsResult:
        tenant = (input or ListToolsInput()).tenant_id
        return ListToolsResult(tools=self.registry.specs(), tenant_allowed_tools=self.tenant_tools.get(tenant))

    @activity.defn(name="tools.execute")
    async def execute(self, input: ExecuteToolInput) -> ToolResult:
        call = input.tool_call
        t = self.registry.get(call.tool)
        if t is None and self.dynamic_tools is not None:
            t = self.dynamic_tools(call.tool)
        if t is None:
            return _error("unknown_tool", f"no tool named {call.tool!r} is registered on this worker")
        try:
            args = t.args_model.model_validate(call.arguments)
        except ValidationError as e:
            return _error("invalid_arguments", _validation_message(e))
        if arguments_hash(call.arguments) != call.arguments_hash:
            return _error("arguments_hash_mismatch", "arguments do not match the hash that was approved")

        key = input.idempotency_key
        try:
            begin = self.ledger.begin(key, input.run_id, t.name, call.arguments_hash)
        except LedgerConflict as e:
            return _error("idempotency_conflict", str(e))
        bound = log.bind(run_id=input.run_id, tool=t.name, key=key, attempt=begin.attempts)
        if begin.state == "recorded":
            bound.info("tool.receipt_returned", status=begin.status)
            return ToolResult.model_validate({**(begin.result or {}), "from_ledger": True})
        if begin.state == "not_approved":
            # Defence in depth: the workflow proposed this call as needing approval and never approved it.
            bound.warning("tool.not_approved")
            return ToolResult(status="denied", error_type="not_approved",
                              message=f"call {call.id} of {t.name} needs an approval that was not recorded")

        workspace = self.workspace_for(input.run_id)
        workspace.mkdir(parents=True, exist_ok=True)
        ctx = ToolContext(
            run_id=input.run_id,
            tool_call_id=call.id,
            idempotency_key=key,
            workspace=workspace,
            tenant_id=input.tenant_id,
            user_id=input.user_id,
            save_pre_state=lambda state: self.ledger.save_pre_state(key, state),
        )
        if begin.state == "interrupted":
            recovered = self._recover(t, ctx, args, begin.pre_state)
            if recovered is not None:
                bound.warning("tool.recovered_after_interruption", status=recovered.status)
                return self._record(key, recovered)
            bound.warning("tool.rerun_after_interruption")

        bound.info("tool.start")
        try:
            data = await with_heartbeats(asyncio.to_thread(t.handler, ctx, args), {"tool": t.name})
        except ToolError as e:
            bound.info("tool.failed", error_type=e.error_type, message=str(e))
            return self._record(key, _error(e.error_type, str(e)))
        except Exception as e:
            # Unexpected: leave the receipt 'started' so the retry reconciles before acting again.
            bound.exception("tool.crashed")
            raise ApplicationError(f"tool {t.name} crashed: {e!r}", type="ToolCrashed") from e
        bound.info("tool.succeeded")
        return self._record(key, ToolResult(status="ok", data=_jsonable(data)))

    def _recover(self, t: Tool, ctx: ToolContext, args: Any, pre_state: dict) -> ToolResult | None:
        if t.idempotency == "idempotent":
            return None  # safe to run again
        if t.idempotency == "keyed" and t.reconcile is not None:
            data = t.reconcile(ctx, args, pre_state)
            return None if data is None else ToolResult(status="ok", data=_jsonable(data))
        return _error(
            "outcome_unknown",
            f"tool {t.name} was interrupted and is not idempotent: it may or may not have acted; "
            "a person must decide whether to retry",
        )

    def _record(self, key: str, result: ToolResult) -> ToolResult:
        if self.blobs is not None:
            # A large output is stored once and travels as digest + preview, in the ledger and in
            # history alike, so a 5 MB result never hits Temporal's payload limit.
            result, ref = reference_if_large(self.blobs, result)
            if ref is not None:
                log.info("tool.output_referenced", key=key, digest=ref.digest, size=ref.size)
        # outcome_unknown is a state of its own: never retried, until a person resolves it.
        if result.error_type == "outcome_unknown":
            status = "outcome_unknown"
        else:
            status = "succeeded" if result.status == "ok" else "failed"
        self.ledger.finish(key, status, result.model_dump(mode="json", exclude={"from_ledger"}))
        return result


def _validation_message(e: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, err['loc'])) or 'arguments'}: {err['msg']}" for err in e.errors()]
    return "invalid arguments: " + "; ".join(parts)


def _jsonable(data: Any) -> Any:
    if hasattr(data, "model_dump"):
        return data.model_dump(mode="json")
    return data
