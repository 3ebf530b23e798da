"""Activities that move a call through the ledger's states on the workflow's behalf.

`tools.execute` moves a call from started to its outcome; these record what happens before (proposed,
approved) and after (a person's decision on outcome_unknown). Each is idempotent: a retried activity
finds its transition already made and returns the same receipt.
"""

from __future__ import annotations

import asyncio

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.ledger.base import LedgerBackend, LedgerConflict, LedgerStateError
from workflows.contracts import ToolResult
from workflows.contracts.ledger import (
    ApproveToolCallInput,
    LedgerReceipt,
    ProposeToolCallInput,
    ResolveUnknownInput,
    ResolveUnknownResult,
)

log = structlog.get_logger(__name__)


def _receipt(row: dict) -> LedgerReceipt:
    return LedgerReceipt.model_validate({k: row[k] for k in LedgerReceipt.model_fields})


def _refused(e: Exception) -> ApplicationError:
    # A wrong transition or a conflicting hash will not fix itself on retry.
    return ApplicationError(str(e), type=type(e).__name__, non_retryable=True)


class LedgerActivities:
    def __init__(self, ledger: LedgerBackend) -> None:
        self.ledger = ledger

    @activity.defn(name="tools.propose")
    async def propose(self, input: ProposeToolCallInput) -> LedgerReceipt:
        call = input.tool_call
        try:
            row = await asyncio.to_thread(self.ledger.propose, input.idempotency_key, input.run_id, call.tool,
                                          call.arguments_hash, input.requires_approval)
        except LedgerConflict as e:
            raise _refused(e) from e
        return _receipt(row)

    @activity.defn(name="tools.approve_call")
    async def approve_call(self, input: ApproveToolCallInput) -> LedgerReceipt:
        try:
            row = await asyncio.to_thread(self.ledger.approve, input.idempotency_key, input.arguments_hash,
                                          input.approver)
        except (LedgerConflict, LedgerStateError) as e:
            raise _refused(e) from e
        log.info("ledger.approved", key=input.idempotency_key, by=input.approver)
        return _receipt(row)

    @activity.defn(name="tools.resolve_unknown")
    async def resolve_unknown(self, input: ResolveUnknownInput) -> ResolveUnknownResult:
        data = None if input.data is None else {"status": "ok", "data": input.data,
                                                 "message": f"marked done by {input.by}"}
        try:
            row = await asyncio.to_thread(self.ledger.resolve, input.idempotency_key, input.decision, input.by,
                                          input.comment, data)
        except LedgerStateError as e:
            raise _refused(e) from e
        log.info("ledger.outcome_resolved", run_id=input.run_id, key=input.idempotency_key,
                 decision=input.decision, by=input.by)
        rerun = input.decision == "retry"
        tool_result = None if rerun else ToolResult.model_validate(row["result"])
        return ResolveUnknownResult(receipt=_receipt(row), tool_result=tool_result, rerun=rerun)
