"""Small builders shared by the tool-layer tests."""

from __future__ import annotations

from pathlib import Path

from activities.ledger import LedgerBackend, SqliteLedger
from activities.tools.execute import ToolActivities
from activities.tools.registry import Tool, ToolRegistry
from workflows.contracts import ExecuteToolInput, ToolCall, arguments_hash


def call_input(tool_name: str, call_id: str = "call-1-1", run_id: str = "run-1", **arguments) -> ExecuteToolInput:
    call = ToolCall(id=call_id, tool=tool_name, arguments=arguments, arguments_hash=arguments_hash(arguments),
                    risk_level=0)
    return ExecuteToolInput(run_id=run_id, tenant_id="t", tool_call=call, idempotency_key=f"{run_id}/{call_id}")


def tool_activities(tmp_path: Path, *tools: Tool, ledger: LedgerBackend | None = None, **kwargs) -> ToolActivities:
    return ToolActivities(ToolRegistry(tools), ledger or SqliteLedger(tmp_path / "ledger.sqlite"),
                          tmp_path / "workspaces", **kwargs)
