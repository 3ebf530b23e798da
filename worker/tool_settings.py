"""Settings of the tools that need them, read from the environment when the registry loads them.

`run_command` (AGENT_COMMAND_*) and the HTTP tools (AGENT_HTTP_*) are built from a SandboxConfig and
an HttpPolicy. The worker reads those here and hands them to the tool modules through the registry's
builders, so the modules never read the environment, and a module that is not listed is never read
nor probed: a bad AGENT_COMMAND_* only stops a worker that serves `run_command`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping

from pydantic import ValidationError

from activities.config_errors import problems
from activities.tools.command import build_command_tool
from activities.tools.http_fetch import HttpPolicy, build_http_tools
from activities.tools.registry import Tool, ToolRegistrationError, ToolRegistry
from activities.tools.sandbox import SandboxConfig, SandboxConfigError

_SANDBOX_ENV = {
    "allowed_executables": "AGENT_COMMAND_ALLOWLIST",
    "isolation": "AGENT_COMMAND_ISOLATION",
    "risk_level": "AGENT_COMMAND_RISK_LEVEL",
    "cpu_s": "AGENT_COMMAND_CPU_S",
    "memory_mb": "AGENT_COMMAND_MEMORY_MB",
    "file_size_mb": "AGENT_COMMAND_FILE_SIZE_MB",
    "max_processes": "AGENT_COMMAND_MAX_PROCESSES",
    "wall_time_s": "AGENT_COMMAND_WALL_TIME_S",
    "uid_base": "AGENT_COMMAND_UID_BASE",
}
_HTTP_ENV = {"allowed_hosts": "AGENT_HTTP_ALLOWLIST", "max_bytes": "AGENT_HTTP_MAX_BYTES",
             "timeout_s": "AGENT_HTTP_TIMEOUT_S", "max_redirects": "AGENT_HTTP_MAX_REDIRECTS",
             "write_risk_level": "AGENT_HTTP_WRITE_RISK_LEVEL", "allowed_networks": "AGENT_HTTP_ALLOW_NETWORKS",
             "read_mode": "AGENT_HTTP_READ_MODE", "tenant_read_modes": "AGENT_HTTP_TENANT_READ_MODES",
             "get_approval": "AGENT_HTTP_GET_APPROVAL"}
_HTTP_LISTS = {"allowed_hosts", "allowed_networks"}


def sandbox_config_from_env(environ: Mapping[str, str] | None = None) -> SandboxConfig:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field, var in _SANDBOX_ENV.items():
        if raw := env.get(var, "").strip():
            values[field] = [x.strip() for x in raw.split(",") if x.strip()] if field == "allowed_executables" else raw
    try:
        return SandboxConfig.model_validate(values)
    except ValidationError as e:
        found = "; ".join(f"{_SANDBOX_ENV.get(str(err['loc'][0]), err['loc'][0])}: {err['msg']}" for err in e.errors())
        raise SandboxConfigError(f"invalid command sandbox settings: {found}") from e


def http_policy_from_env(environ: Mapping[str, str] | None = None) -> HttpPolicy:
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for field, var in _HTTP_ENV.items():
        if raw := env.get(var, "").strip():
            items = [h.strip() for h in raw.split(",") if h.strip()]
            if field == "tenant_read_modes":
                values[field] = dict(item.partition("=")[::2] for item in items)
            else:
                values[field] = items if field in _HTTP_LISTS else raw
    try:
        return HttpPolicy.model_validate(values)
    except ValidationError as e:
        raise ToolRegistrationError(f"invalid HTTP tool settings: {problems(e, _HTTP_ENV)}") from e


def tool_builders(environ: Mapping[str, str] | None = None) -> dict[str, Callable[[], Iterable[Tool]]]:
    """Module name -> how to build its tools; each reads its settings only when the registry calls it."""
    env = os.environ if environ is None else environ
    return {
        "activities.tools.command": lambda: [build_command_tool(sandbox_config_from_env(env))],
        "activities.tools.http_fetch": lambda: build_http_tools(http_policy_from_env(env)),
    }


def load_tool_registry(modules: Iterable[str], entry_point_group: str | None = None,
                       environ: Mapping[str, str] | None = None) -> ToolRegistry:
    """The registry of `modules` (AGENT_TOOL_MODULES), with the settings-built modules built by the worker."""
    return ToolRegistry.from_modules(modules, entry_point_group=entry_point_group, builders=tool_builders(environ))
