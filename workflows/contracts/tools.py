"""Tools: their specs, a call as the ledger keys it, and a call's result as the model reads it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from workflows.contracts.base import Wire


class ToolSpec(Wire):
    """What the workflow and the model know of a tool; the handler stays in the worker."""

    name: str
    description: str
    risk_level: int = Field(ge=0, le=4, description="0 read .. 4 irreversible")
    parameters: dict[str, Any]
    idempotency: Literal["idempotent", "keyed", "not_idempotent"]
    timeout_s: float = 60.0
    heartbeat_timeout_s: float | None = None
    approval: Literal["by_risk", "always"] = Field(
        default="by_risk", description="always: every call waits for a person, whatever the run's threshold"
    )
    result_schema: dict[str, Any] | None = None


class ListToolsInput(Wire):
    tenant_id: str = "default"


class ListMcpToolsInput(Wire):
    """`mcp.list_tools` lists every configured MCP server's tools; nothing to choose yet."""


class ListToolsResult(Wire):
    tools: list[ToolSpec]
    tenant_allowed_tools: list[str] | None = Field(default=None, description="the tenant's allow-list, if any")


class ToolCall(Wire):
    id: str
    tool: str
    arguments: dict[str, Any]
    arguments_hash: str
    risk_level: int


class ExecuteToolInput(Wire):
    run_id: str = Field(description="the run chain: workflow id and first run id; stable across retries,"
                        " continue-as-new and reset, new when a workflow id is reused")
    tenant_id: str
    user_id: str = "anonymous"
    tool_call: ToolCall
    idempotency_key: str
    store_id: str | None = Field(default=None, description="the run's bound stores; a worker with other stores"
                                 " refuses the call (StoreMismatch) instead of acting on the wrong ledger")


class SeedWorkspaceInput(Wire):
    """RunRequest.files, written into the run chain's workspace before the first step."""

    run_id: str = Field(description="the run chain, as ExecuteToolInput.run_id")
    files: dict[str, str]
    store_id: str | None = None


class SeedWorkspaceResult(Wire):
    written: list[str] = Field(default_factory=list)


class ToolResult(Wire):
    """Normalized outcome the model sees; never an exception for business failures."""

    status: Literal["ok", "error", "denied"]
    error_type: str | None = None
    retryable: bool = False
    message: str = ""
    data: Any = None
    from_ledger: bool = False
    # The digest of the tool message built from this result (workflows/contracts/prompt.py tool_message),
    # stored in the blob store by tools.execute; the workflow checks it before relying on it.
    message_ref: str | None = None
