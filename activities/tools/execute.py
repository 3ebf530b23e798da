"""The tool activities: list the registry, and execute one call exactly once through the ledger.

Tools come from the registry, or from `dynamic_tools` (a lookup by name, e.g. the MCP connector's
`mcp__<server>__<tool>` names), so every call, built-in or remote, passes the same ledger.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.context.blobs import BlobStore
from activities.context.references import reference_if_large
from activities.context.transcript import put_message
from activities.heartbeat import with_heartbeats
from activities.ledger import Begin, FinalStatus, LeaseLost, LedgerBackend, LedgerConflict
from activities.stores import refuse_other_stores
from activities.tools.attempts import AttemptRunner
from activities.tools.registry import Tool, ToolContext, ToolError, ToolRegistry
from activities.tools.workspace_files import resolve_in_workspace
from activities.tools.workspace_store import LocalWorkspaces, WorkspaceStore
from workflows.contracts import (
    ExecuteToolInput,
    ListToolsInput,
    ListToolsResult,
    SeedWorkspaceInput,
    SeedWorkspaceResult,
    ToolResult,
    arguments_hash,
)
from workflows.contracts.prompt import tool_message

log = structlog.get_logger(__name__)
_WORKER = uuid.uuid4().hex[:12]  # this process, in lease owners: "<worker>:<attempt>"


def _error(error_type: str, message: str, retryable: bool = False) -> ToolResult:
    return ToolResult(status="error", error_type=error_type, message=message, retryable=retryable)


class ToolActivities:
    def __init__(self, registry: ToolRegistry, ledger: LedgerBackend, workspaces: Path | WorkspaceStore,
                 dynamic_tools: Callable[[str], Tool | None] | None = None,
                 tenant_tools: dict[str, list[str]] | None = None, blobs: BlobStore | None = None,
                 lease_s: float = 15.0, store_id: str | None = None) -> None:
        self.registry = registry
        self.tenant_tools = tenant_tools or {}
        self.ledger = ledger
        self.workspaces = workspaces if isinstance(workspaces, WorkspaceStore) else LocalWorkspaces(workspaces)
        self.dynamic_tools = dynamic_tools
        self.blobs = blobs
        self.attempts = AttemptRunner(ledger, lease_s)
        self.store_id = store_id  # this worker's stores (activities/stores.py); None: not checked

    @activity.defn(name="tools.list")
    async def list_tools(self, input: ListToolsInput = ListToolsInput()) -> ListToolsResult:
        tenant = input.tenant_id
        return ListToolsResult(tools=self.registry.specs(), tenant_allowed_tools=self.tenant_tools.get(tenant))

    @activity.defn(name="tools.seed_workspace")
    def seed_workspace(self, input: SeedWorkspaceInput) -> SeedWorkspaceResult:
        """Write the run's starting files. Run again (a retry), it writes the same bytes again."""
        if self.store_id is not None:
            refuse_other_stores(input.store_id, self.store_id)
        with self.workspaces.checkout(input.run_id) as workspace:
            for relative, text in sorted(input.files.items()):
                try:
                    target = resolve_in_workspace(workspace, relative)
                except ToolError as e:
                    raise ApplicationError(str(e), type="InvalidSeedFile", non_retryable=True) from None
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
        return SeedWorkspaceResult(written=sorted(input.files))

    @activity.defn(name="tools.execute")
    async def execute(self, input: ExecuteToolInput) -> ToolResult:
        result = await self._execute(input)
        if self.blobs is None:
            return result
        # Store the message the model will read of this result, so the next model call names it by
        # digest and history carries the output once (in this result), not twice.
        message = tool_message(input.tool_call.id, input.tool_call.tool, result)
        digest = await asyncio.to_thread(put_message, self.blobs, message)
        return result.model_copy(update={"message_ref": digest})

    async def _execute(self, input: ExecuteToolInput) -> ToolResult:
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

        if self.store_id is not None:
            refuse_other_stores(input.store_id, self.store_id)  # before the ledger: another ledger's key
        key = input.idempotency_key
        owner = f"{_WORKER}:{uuid.uuid4().hex[:8]}"
        try:
            begin = await with_heartbeats(self._claim(key, input.run_id, t.name, call.arguments_hash, owner),
                                          {"tool": t.name, "waiting_for": "the ledger"})
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

        def context(workspace: Path) -> ToolContext:
            return ToolContext(
                run_id=input.run_id,
                tool_call_id=call.id,
                idempotency_key=key,
                workspace=workspace,
                tenant_id=input.tenant_id,
                user_id=input.user_id,
                save_pre_state=lambda state: self.ledger.save_pre_state(key, state),
            )

        if begin.state == "interrupted":
            recovered = await asyncio.to_thread(self._recover, t, input.run_id, context, args, begin.pre_state)
            if recovered is not None:
                bound.warning("tool.recovered_after_interruption", status=recovered.status)
                return await asyncio.to_thread(self._record, key, recovered, owner)
            bound.warning("tool.rerun_after_interruption")

        bound.info("tool.start")
        attempt = self.attempts.run(key, owner, lambda: self._attempt(t, input.run_id, context, args, owner, bound))
        return await with_heartbeats(attempt, {"tool": t.name})

    async def _claim(self, key: str, run_id: str, tool: str, arguments_hash: str, owner: str) -> Begin:
        """Claim the key, waiting while an earlier attempt (a hung or cancelled one) still holds it."""
        delay, logged = 0.1, False
        while True:
            begin = await asyncio.to_thread(self.ledger.begin, key, run_id, tool, arguments_hash, owner,
                                            self.attempts.lease_s)
            if begin.state != "busy":
                return begin
            if not logged:
                log.warning("tool.waiting_for_earlier_attempt", key=key, tool=tool)
                logged = True
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    def _attempt(self, t: Tool, chain: str, context: Callable[[Path], ToolContext], args: Any, owner: str,
                 bound: Any) -> ToolResult:
        """The handler and its receipt, on the attempt's own thread: it records even if its activity
        has already timed out, so the attempt waiting behind it finds the receipt. The workspace is
        checked out around the handler and written back (shared stores) before the receipt."""
        key = context(Path()).idempotency_key
        try:
            with self.workspaces.checkout(chain) as workspace:
                data = t.handler(context(workspace), args)
        except ToolError as e:
            bound.info("tool.failed", error_type=e.error_type, message=str(e))
            return self._record(key, _error(e.error_type, str(e)), owner)
        except Exception as e:
            # Unexpected: leave the receipt 'started' so the retry reconciles before acting again.
            bound.exception("tool.crashed")
            self.ledger.release(key, owner)
            raise ApplicationError(f"tool {t.name} crashed: {e!r}", type="ToolCrashed") from e
        bound.info("tool.succeeded")
        return self._record(key, ToolResult(status="ok", data=_jsonable(data)), owner)

    def _recover(self, t: Tool, chain: str, context: Callable[[Path], ToolContext], args: Any,
                 pre_state: dict) -> ToolResult | None:
        if t.idempotency == "idempotent":
            return None  # safe to run again
        if t.idempotency == "keyed" and t.reconcile is not None:
            with self.workspaces.checkout(chain) as workspace:
                data = t.reconcile(context(workspace), args, pre_state)
            return None if data is None else ToolResult(status="ok", data=_jsonable(data))
        return _error(
            "outcome_unknown",
            f"tool {t.name} was interrupted and is not idempotent: it may or may not have acted; "
            "a person must decide whether to retry",
        )

    def _record(self, key: str, result: ToolResult, owner: str = "") -> ToolResult:
        if self.blobs is not None:
            # A large output is stored once and travels as digest + preview, in the ledger and in
            # history alike, so a 5 MB result never hits Temporal's payload limit.
            result, ref = reference_if_large(self.blobs, result)
            if ref is not None:
                log.info("tool.output_referenced", key=key, digest=ref.digest, size=ref.size)
        # outcome_unknown is a state of its own: never retried, until a person resolves it.
        status: FinalStatus
        if result.error_type == "outcome_unknown":
            status = "outcome_unknown"
        else:
            status = "succeeded" if result.status == "ok" else "failed"
        try:
            self.ledger.finish(key, status, result.model_dump(mode="json", exclude={"from_ledger"}), owner)
        except LeaseLost:
            log.error("tool.fenced", key=key, owner=owner, status=status)  # another attempt owns the receipt
        return result


def _validation_message(e: ValidationError) -> str:
    parts = [f"{'.'.join(map(str, err['loc'])) or 'arguments'}: {err['msg']}" for err in e.errors()]
    return "invalid arguments: " + "; ".join(parts)


def _jsonable(data: Any) -> Any:
    if hasattr(data, "model_dump"):
        return data.model_dump(mode="json")
    return data
