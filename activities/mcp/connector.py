"""Talk to configured MCP servers with the `mcp` SDK: list their tools as ToolSpecs, call one tool.

Each list or call opens its own session (a stdio server is started for it), so the worker keeps no
connection state a crash could lose, and nothing is cached: the SDK's response cache is turned off,
because a list served from a cache is exactly the hidden nondeterminism the workflow avoids by
recording the list in its history (`mcp.list_tools`, once per run).
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from mcp import Client, MCPError
from mcp.client.stdio import StdioServerParameters
from mcp.types import TextContent
from pydantic import BaseModel, ConfigDict

from activities.mcp.config import MCPConfig, MCPServerConfig, sanitize
from activities.tools.registry import Tool, ToolContext, ToolError
from workflows.contracts import ToolSpec

log = structlog.get_logger(__name__)
PREFIX = "mcp__"


class MCPArguments(BaseModel):
    """Arguments pass through as given; the MCP server validates them against its own schema."""

    model_config = ConfigDict(extra="allow")


def exposed_name(server: str, tool: str) -> str:
    return f"{PREFIX}{server}__{sanitize(tool)}"[:64]


class MCPConnector:
    def __init__(self, config: MCPConfig) -> None:
        self.config = config

    def _client(self, server: MCPServerConfig) -> Client:
        target: Any
        if server.transport == "stdio":
            target = StdioServerParameters(command=server.command or "", args=server.args, env=server.env or None,
                                           cwd=server.cwd)
        else:
            target = server.url
        return Client(target, read_timeout_seconds=server.timeout_s, cache=None)

    async def _server_tools(self, client: Client) -> list[Any]:
        tools, cursor = [], None
        while True:
            page = await client.list_tools(cursor=cursor, cache_mode="refresh")
            tools.extend(page.tools)
            if not (cursor := page.next_cursor):
                return tools

    async def list_server(self, server: MCPServerConfig) -> list[ToolSpec]:
        async with asyncio.timeout(server.timeout_s):
            async with self._client(server) as client:
                listed = await self._server_tools(client)
        specs: dict[str, ToolSpec] = {}
        for t in sorted(listed, key=lambda t: t.name):
            if server.allowed_tools is not None and t.name not in server.allowed_tools:
                continue
            name = exposed_name(server.name, t.name)
            if name in specs:
                log.warning("mcp.tool_name_collision", server=server.name, tool=t.name, exposed=name)
                continue
            risk, idempotency = server.policy(t.name)
            specs[name] = ToolSpec(
                name=name,
                description=f"[MCP server {server.name}] {(t.description or t.name).strip()}"[:1024],
                risk_level=risk,
                parameters=t.input_schema,
                idempotency=idempotency,  # type: ignore[arg-type]
                timeout_s=server.timeout_s,
            )
        return list(specs.values())

    async def list_tools(self) -> list[ToolSpec]:
        """Every configured server's tools, sorted by exposed name; a server that fails fails the list."""
        specs: list[ToolSpec] = []
        for server in self.config.servers:
            try:
                specs.extend(await self.list_server(server))
            except Exception as e:
                raise MCPUnavailable(f"MCP server {server.name!r} could not list its tools: {e!r}") from e
        return sorted(specs, key=lambda s: s.name)

    def _resolve(self, name: str) -> tuple[MCPServerConfig, str] | None:
        if not name.startswith(PREFIX):
            return None
        server_name, sep, tool = name[len(PREFIX):].partition("__")
        server = self.config.server(server_name)
        return (server, tool) if sep and server is not None else None

    async def call(self, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
        """Call one exposed tool; every failure becomes a ToolError whose type says whether it may have acted."""
        resolved = self._resolve(name)
        if resolved is None:
            raise ToolError(f"no configured MCP server exposes {name!r}", "unknown_tool")
        server, tool = resolved
        _, idempotency = server.policy(tool)
        original, result, sent = None, None, False
        try:
            async with asyncio.timeout(server.timeout_s), self._client(server) as client:
                # Map the exposed name back to the server's spelling, and re-check allowed_tools.
                original = next((t.name for t in await self._server_tools(client)
                                 if exposed_name(server.name, t.name) == name
                                 and (server.allowed_tools is None or t.name in server.allowed_tools)), None)
                if original is not None:
                    sent = True
                    result = await client.call_tool(original, arguments)
        except Exception as e:  # the SDK's task groups wrap errors in ExceptionGroups
            leaf = _leaf(e)
            if isinstance(leaf, MCPError):
                raise ToolError(f"MCP server {server.name!r} refused the call: {leaf}", "mcp_tool_error") from e
            if sent and idempotency == "not_idempotent":
                raise ToolError(f"MCP call {name} may or may not have run ({leaf!r}); a person must decide "
                                "whether to retry", "outcome_unknown") from e
            raise ToolError(f"MCP server {server.name!r} is unavailable: {leaf!r}", "mcp_unavailable") from e
        if original is None or result is None:
            raise ToolError(f"MCP server {server.name!r} does not offer {name!r} (any more)", "unknown_tool")
        texts = [c.text for c in result.content if isinstance(c, TextContent)]
        if result.is_error:
            raise ToolError("; ".join(texts) or f"MCP tool {original} failed", "mcp_tool_error")
        return {"content": texts, "structured": result.structured_content}

    def tool_for(self, name: str) -> Tool | None:
        """A Tool for `tools.execute`, so MCP calls pass the ledger like every other tool."""
        resolved = self._resolve(name)
        if resolved is None:
            return None
        server, tool = resolved
        risk, idempotency = server.policy(tool)

        def handler(ctx: ToolContext, args: MCPArguments) -> dict:
            # tools.execute runs handlers in a worker thread, which has no event loop of its own.
            return asyncio.run(self.call(name, args.model_dump()))

        return Tool(name=name, description=f"MCP tool {tool} of {server.name}", args_model=MCPArguments,
                    risk_level=risk, idempotency=idempotency, handler=handler,  # type: ignore[arg-type]
                    timeout_s=server.timeout_s)


def _leaf(error: BaseException) -> BaseException:
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


class MCPUnavailable(Exception):
    """A configured MCP server could not be reached or listed (retryable: it may come back)."""
