"""`mcp.list_tools`: the MCP tools of every configured server, as ToolSpecs the workflow records once per
run (next to `tools.list`). Calls go through `tools.execute`, which recognises `mcp__` names."""

from __future__ import annotations

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.heartbeat import with_heartbeats
from activities.mcp.connector import MCPConnector, MCPUnavailable
from workflows.contracts import ListMcpToolsInput, ListToolsResult

log = structlog.get_logger(__name__)


class MCPActivities:
    def __init__(self, connector: MCPConnector) -> None:
        self.connector = connector

    @activity.defn(name="mcp.list_tools")
    async def list_tools(self, input: ListMcpToolsInput = ListMcpToolsInput()) -> ListToolsResult:
        try:
            specs = await with_heartbeats(self.connector.list_tools(), "mcp.list_tools")
        except MCPUnavailable as e:
            # Retryable: a server that is down now may be up on the next attempt.
            raise ApplicationError(str(e), type="MCPUnavailable") from e
        log.info("mcp.tools_listed", count=len(specs), servers=[s.name for s in self.connector.config.servers])
        return ListToolsResult(tools=specs)
