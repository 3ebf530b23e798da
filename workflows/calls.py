"""Every activity the workflow calls, in one place: its name, its input and result types, its options.

The workflow never names an activity by a string literal elsewhere: it calls a stub, so a reader finds
here what runs outside the workflow and under which timeouts and retries, and a type checker sees the
input and result of every call. The activities declare the same names (`@activity.defn(name=...)`);
tests/test_activity_stubs.py checks that each stub matches a registered activity's type hints.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Generic, TypeVar

from temporalio import workflow
from temporalio.workflow import ActivityCancellationType

from workflows.contracts import (
    ApproversPolicy,
    ApproveToolCallInput,
    ArchiveRecordsInput,
    ArchiveRecordsResult,
    BindStoresInput,
    DecideInput,
    DecideResult,
    DecideWithContextInput,
    DecideWithContextResult,
    ExecuteToolInput,
    LedgerReceipt,
    ListMcpToolsInput,
    ListToolsInput,
    ListToolsResult,
    LoadApproversInput,
    LoadModelsInput,
    ModelCatalogue,
    ProposeToolCallInput,
    ResolveUnknownInput,
    ResolveUnknownResult,
    RetrieveContextInput,
    RetrieveContextResult,
    SeedWorkspaceInput,
    SeedWorkspaceResult,
    StoreBinding,
    StoreToolsInput,
    StoreToolsResult,
    SummarizeContextInput,
    SummarizeContextResult,
    ToolResult,
)
from workflows.retry import (
    BOOKKEEPING_RETRY,
    MODEL_FINAL_ERRORS,
    MODEL_RETRY,
    RETRIEVAL_RETRY,
    with_non_retryable,
)

I = TypeVar("I")  # noqa: E741 (the input type, beside R for the result)
R = TypeVar("R")

CANCEL_WAITS = ActivityCancellationType.WAIT_CANCELLATION_COMPLETED
MODEL_TIMEOUT = timedelta(minutes=5)
MODEL_HEARTBEAT = timedelta(seconds=30)
# Every model-backed activity (decide, decide by reference, summarize) runs under the same options.
MODEL_CALL: Mapping[str, Any] = {
    "start_to_close_timeout": MODEL_TIMEOUT,
    "heartbeat_timeout": MODEL_HEARTBEAT,
    "retry_policy": with_non_retryable(MODEL_RETRY, MODEL_FINAL_ERRORS),
    "cancellation_type": CANCEL_WAITS,
}
# Reads and writes of the run's own records: quick, and retried until they succeed.
BOOKKEEPING: Mapping[str, Any] = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": BOOKKEEPING_RETRY}


@dataclass(frozen=True)
class ActivityStub(Generic[I, R]):
    """One activity as the workflow calls it. `options` are execute_activity's keyword arguments; a call
    may override some (a tool's own timeouts), never the name or the types."""

    name: str
    input: type[I]
    result: type[R]
    options: Mapping[str, Any] = field(default_factory=dict)

    def execute(self, input: I, *, summary: str, task_queue: str | None = None, **overrides: Any) -> Awaitable[R]:
        options = {**self.options, **overrides}
        if task_queue:
            options["task_queue"] = task_queue
        return workflow.execute_activity(self.name, input, result_type=self.result, summary=summary, **options)

    def execute_local(self, input: I, *, summary: str) -> Awaitable[R]:
        """Inside the workflow task. Local activities have no heartbeat timeout: a dead worker is noticed
        through the workflow task timeout, and the call runs again on the worker that takes over."""
        options = {key: value for key, value in self.options.items() if key != "heartbeat_timeout"}
        return workflow.execute_local_activity(self.name, input, result_type=self.result, summary=summary, **options)


# ---- run start --------------------------------------------------------------------------------------
BIND_STORES = ActivityStub("stores.bind", BindStoresInput, StoreBinding, BOOKKEEPING)
LOAD_MODELS = ActivityStub("models.catalogue", LoadModelsInput, ModelCatalogue, BOOKKEEPING)
LIST_TOOLS = ActivityStub("tools.list", ListToolsInput, ListToolsResult, BOOKKEEPING)
LIST_MCP_TOOLS = ActivityStub("mcp.list_tools", ListMcpToolsInput, ListToolsResult, {
    "start_to_close_timeout": timedelta(seconds=120), "heartbeat_timeout": timedelta(seconds=30),
    "retry_policy": BOOKKEEPING_RETRY})
STORE_TOOLS = ActivityStub("context.store_tools", StoreToolsInput, StoreToolsResult, BOOKKEEPING)
RETRIEVE_CONTEXT = ActivityStub("retrieval.context", RetrieveContextInput, RetrieveContextResult, {
    "start_to_close_timeout": timedelta(seconds=60), "retry_policy": RETRIEVAL_RETRY,
    "cancellation_type": CANCEL_WAITS})

# ---- the model half -----------------------------------------------------------------------------------
DECIDE = ActivityStub("model.decide", DecideInput, DecideResult, MODEL_CALL)
DECIDE_WITH_CONTEXT = ActivityStub("model.decide_with_context", DecideWithContextInput, DecideWithContextResult,
                                   MODEL_CALL)
SUMMARIZE = ActivityStub("context.summarize", SummarizeContextInput, SummarizeContextResult, MODEL_CALL)
ARCHIVE_RECORDS = ActivityStub("context.archive_records", ArchiveRecordsInput, ArchiveRecordsResult, BOOKKEEPING)

# ---- the tool half ------------------------------------------------------------------------------------
LOAD_APPROVERS = ActivityStub("approvals.load_approvers", LoadApproversInput, ApproversPolicy, BOOKKEEPING)
PROPOSE_CALL = ActivityStub("tools.propose", ProposeToolCallInput, LedgerReceipt, BOOKKEEPING)
APPROVE_CALL = ActivityStub("tools.approve_call", ApproveToolCallInput, LedgerReceipt, BOOKKEEPING)
# Timeouts, heartbeat and retries come from the tool's spec at each call.
EXECUTE_TOOL = ActivityStub("tools.execute", ExecuteToolInput, ToolResult, {"cancellation_type": CANCEL_WAITS})
RESOLVE_UNKNOWN = ActivityStub("tools.resolve_unknown", ResolveUnknownInput, ResolveUnknownResult, BOOKKEEPING)
SEED_WORKSPACE = ActivityStub("tools.seed_workspace", SeedWorkspaceInput, SeedWorkspaceResult, BOOKKEEPING)

ALL: tuple[ActivityStub[Any, Any], ...] = (
    BIND_STORES, LOAD_MODELS, LIST_TOOLS, LIST_MCP_TOOLS, STORE_TOOLS, RETRIEVE_CONTEXT, DECIDE, DECIDE_WITH_CONTEXT,
    SUMMARIZE, ARCHIVE_RECORDS, LOAD_APPROVERS, PROPOSE_CALL, APPROVE_CALL, EXECUTE_TOOL, RESOLVE_UNKNOWN,
    SEED_WORKSPACE,
)
