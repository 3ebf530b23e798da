"""The MCP connector: configured servers' tools listed into history, called through the tool ledger."""

from activities.mcp.activities import MCPActivities
from activities.mcp.config import MCPConfig, MCPConfigError, MCPServerConfig, load_mcp_config
from activities.mcp.connector import PREFIX, MCPConnector, MCPUnavailable, exposed_name

__all__ = ["PREFIX", "MCPActivities", "MCPConfig", "MCPConfigError", "MCPConnector", "MCPServerConfig",
           "MCPUnavailable", "exposed_name", "load_mcp_config"]
