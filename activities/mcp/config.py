"""The MCP servers file (`AGENT_MCP_CONFIG`, YAML): which servers, how to reach them, and the risk of
each tool. Risk and idempotency come only from this file, never from what a server says about its own
tools (a server's annotations are claims by a party the policy does not trust)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from activities.config_errors import problems

_SERVER_NAME = re.compile(r"^[a-z][a-z0-9_]{0,23}$")
_UNSAFE = re.compile(r"[^a-z0-9_]")


def sanitize(tool: str) -> str:
    """A server's tool name as it appears in exposed names (lower case, [a-z0-9_])."""
    return _UNSAFE.sub("_", tool.lower())


class MCPConfigError(ValueError):
    """A bad MCP servers file: raised at worker start with the file and the offending key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MCPToolPolicy(_Strict):
    risk_level: int | None = Field(default=None, ge=0, le=4)
    # No 'keyed': a remote tool offers no reconcile(), so the ledger cannot recognise its effect.
    idempotency: Literal["idempotent", "not_idempotent"] | None = None


class MCPServerConfig(_Strict):
    name: str = Field(description="lower-case id; tools appear as mcp__<name>__<tool>")
    transport: Literal["stdio", "streamable_http"]
    command: str | None = Field(default=None, description="stdio: the executable that starts the server")
    args: list[str] = Field(default_factory=list)
    env: dict[str, str] = Field(default_factory=dict, description="stdio: variables given to the server, "
                                "on top of the SDK's minimal default environment (not the worker's)")
    cwd: str | None = None
    url: str | None = Field(default=None, description="streamable_http: the server's endpoint, e.g. http://host/mcp")
    default_risk_level: int = Field(default=3, ge=0, le=4, description="for tools not listed under `tools`")
    default_idempotency: Literal["idempotent", "not_idempotent"] = "not_idempotent"
    tools: dict[str, MCPToolPolicy] = Field(default_factory=dict, description="per-tool policy, by the server's name")
    allowed_tools: list[str] | None = Field(default=None, description="expose only these (None: all)")
    timeout_s: float = Field(default=60, gt=0)

    @model_validator(mode="after")
    def _check(self) -> MCPServerConfig:
        if not _SERVER_NAME.match(self.name):
            raise ValueError(f"name {self.name!r} must match {_SERVER_NAME.pattern}")
        if self.transport == "stdio" and not self.command:
            raise ValueError("a stdio server needs `command`")
        if self.transport == "streamable_http" and not (self.url or "").startswith(("http://", "https://")):
            raise ValueError("a streamable_http server needs an http(s) `url`")
        return self

    def policy(self, tool: str) -> tuple[int, str]:
        """(risk level, idempotency) of a tool, by its own or its sanitized name."""
        entry = self.tools.get(tool) or next(
            (p for key, p in self.tools.items() if sanitize(key) == sanitize(tool)), MCPToolPolicy())
        return (self.default_risk_level if entry.risk_level is None else entry.risk_level,
                entry.idempotency or self.default_idempotency)


class MCPConfig(_Strict):
    servers: list[MCPServerConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> MCPConfig:
        names = [s.name for s in self.servers]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"server names must be unique; repeated: {dupes}")
        return self

    def server(self, name: str) -> MCPServerConfig | None:
        return next((s for s in self.servers if s.name == name), None)


def load_mcp_config(path: str | Path) -> MCPConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise MCPConfigError(f"MCP servers file {path}: {e}") from e
    try:
        return MCPConfig.model_validate(raw)
    except ValidationError as e:
        raise MCPConfigError(f"MCP servers file {path}: {problems(e)}") from e
