"""Check the worker's configuration before it connects to anything, and say what is wrong in one line.

A bad models file, tool module, tenant policy, MCP or approvers file, or setting is found here, named
with its file (or environment variable) and reason, before the worker dials Temporal: with Temporal
down too, the person sees the mistake they can fix, not a connection error, and never a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NoReturn

from activities.approvers import load_approvers
from activities.gateway.catalogue import load_models_file
from activities.mcp import load_mcp_config
from activities.tools.tenant_policy import load_tenant_policy
from worker.settings import Settings, SettingsError, load_settings
from worker.tool_settings import load_tool_registry

TOOL_ENTRY_POINTS = "agent_engine.tools"  # installed packages register tool modules here


class ConfigurationError(ValueError):
    """What is wrong with the worker's configuration, as one line."""


def _host_port(address: str) -> None:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"AGENT_METRICS_ADDRESS: {address!r} is not host:port")


def checks(settings: Settings) -> list[tuple[str, Callable[[], object]]]:
    """Each part of the configuration and how to load it; messages of the loaders name their file."""
    found: list[tuple[str, Callable[[], object]]] = [
        ("models file", lambda: load_models_file(settings.models_file, os.environ)),
        ("tool modules", lambda: load_tool_registry(settings.tool_modules, entry_point_group=TOOL_ENTRY_POINTS)),
        ("approvers file", lambda: load_approvers(settings.approvers_path)),
    ]
    if tenant_policy := settings.tenant_policy:
        found.append(("tenant policy", lambda: load_tenant_policy(tenant_policy)))
    if mcp_config := settings.mcp_config:
        found.append(("MCP servers file", lambda: load_mcp_config(mcp_config)))
    if metrics_address := settings.metrics_address:
        found.append(("AGENT_METRICS_ADDRESS", lambda: _host_port(metrics_address)))
    return found


def check(settings: Settings) -> None:
    """Raise ConfigurationError naming every part that does not load (one line, `; `-separated)."""
    problems = []
    for what, load in checks(settings):
        try:
            load()
        except Exception as e:  # noqa: BLE001 - a tool module may raise anything at import; report it, not a traceback
            text = " ".join(str(e).split()) or type(e).__name__
            problems.append(text if isinstance(e, ValueError) else f"{what}: {type(e).__name__}: {text}")
    if problems:
        raise ConfigurationError("; ".join(problems))


def checked_settings() -> Settings:
    """The settings, validated with everything they name; on a problem, one line on stderr and exit 2."""
    try:
        settings = load_settings()
        check(settings)
    except (SettingsError, ConfigurationError) as e:
        fail(f"configuration error: {e}")
    return settings


def fail(message: str) -> NoReturn:
    """One line on stderr, exit 2. Without finalizing the interpreter: once the SDK's runtime exists its
    threads can abort a finalizing process (exit -6, a core dump line), which would bury the message."""
    print(f"worker: {message}", file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(2)
