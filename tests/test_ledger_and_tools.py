"""The exactly-once ledger and the demo tools, through the real tool activity."""

from __future__ import annotations

import pytest
from temporalio.testing import ActivityEnvironment

from activities.ledger import Ledger, LedgerConflict
from activities.tools.execute import ToolActivities
from activities.tools.registry import ToolRegistrationError, ToolRegistry, tool
from activities.tools.workspace_files import AppendFileArgs
from activities.tools.workspaces import workspace_dir
from tests.conftest import registry_with
from workflows.contracts import ExecuteToolInput, ToolCall, arguments_hash


def call_input(tool_name: str, call_id: str = "call-1-1", run_id: str = "run-1", **arguments) -> ExecuteToolInput:
    call = ToolCall(id=call_id, tool=tool_name, arguments=arguments, arguments_hash=arguments_hash(arguments), risk_level=0)
    return ExecuteToolInput(run_id=run_id, tenant_id="t", tool_call=call, idempotency_key=f"{run_id}/{call_id}")


@pytest.fixture
def tools(tmp_path) -> ToolActivities:
    return ToolActivities(registry_with(), Ledger(tmp_path / "ledger.sqlite"), tmp_path / "workspaces")


async def test_retry_returns_the_receipt_instead_of_acting_again(tools, tmp_path):
    """The same idempotency key appends once; the second execution is answered from the ledger."""
    env = ActivityEnvironment()
    first = await env.run(tools.execute, call_input("append_file", path="log.txt", line="paid"))
    second = await env.run(tools.execute, call_input("append_file", path="log.txt", line="paid"))
    assert first.status == second.status == "ok" and second.from_ledger and not first.from_ledger
    assert (workspace_dir(tmp_path / "workspaces", "run-1") / "log.txt").read_text() == "paid\n"


async def test_interrupted_keyed_tool_is_reconciled_not_repeated(tools, tmp_path):
    """A receipt left 'started' after the effect is resolved by the tool's reconcile, not by acting again."""
    key = "run-1/call-1-1"
    tools.ledger.begin(key, "run-1", "append_file", arguments_hash({"path": "log.txt", "line": "once"}))
    workspace = workspace_dir(tmp_path / "workspaces", "run-1")
    workspace.mkdir(parents=True)
    (workspace / "log.txt").write_text("once\n")
    tools.ledger.save_pre_state(key, {"offset": 0})
    result = await ActivityEnvironment().run(tools.execute, call_input("append_file", path="log.txt", line="once"))
    assert result.status == "ok" and (workspace / "log.txt").read_text() == "once\n"
    assert tools.ledger.receipt(key)["attempts"] == 2


def test_same_key_with_other_arguments_is_refused(tmp_path):
    """Reusing an idempotency key for different arguments is a conflict, never an action."""
    ledger = Ledger(tmp_path / "l.sqlite")
    ledger.begin("k", "r", "t", "hash-a")
    with pytest.raises(LedgerConflict):
        ledger.begin("k", "r", "t", "hash-b")


async def test_path_traversal_and_bad_arguments_are_normalized_errors(tools):
    """Escaping the workspace or sending wrong arguments returns an error result the model can read."""
    env = ActivityEnvironment()
    escaped = await env.run(tools.execute, call_input("write_file", path="../../etc/x", content="x"))
    assert (escaped.status, escaped.error_type) == ("error", "invalid_arguments")
    assert "outside the run's workspace" in escaped.message
    invalid = await env.run(tools.execute, call_input("calculator", call_id="c2", expr="1"))
    assert invalid.error_type == "invalid_arguments" and "expression" in invalid.message
    unknown = await env.run(tools.execute, call_input("nope", call_id="c3"))
    assert unknown.error_type == "unknown_tool"


async def test_calculator_is_exact_and_refuses_code(tools):
    """The calculator evaluates arithmetic only; anything else is an invalid-arguments error."""
    env = ActivityEnvironment()
    ok = await env.run(tools.execute, call_input("calculator", call_id="a", expression="1234*5678"))
    assert ok.data == {"expression": "1234*5678", "value": 7006652}
    code = await env.run(tools.execute, call_input("calculator", call_id="b", expression="__import__('os')"))
    assert code.error_type == "invalid_arguments"
    huge = await env.run(tools.execute, call_input("calculator", call_id="c", expression="9**999999"))
    assert huge.error_type == "invalid_arguments"


def test_registry_refuses_duplicates_and_malformed_tools():
    """A duplicate name or a keyed tool without reconcile fails at registration, with the tool's name."""
    with pytest.raises(ToolRegistrationError, match="registered twice"):
        ToolRegistry.from_modules(["activities.tools.calculator", "activities.tools.calculator"])

    def handler(ctx, args: AppendFileArgs) -> None:
        return None

    keyed = tool(name="keyed_no_reconcile", description="d", risk_level=2, idempotency="keyed")(handler)
    with pytest.raises(ToolRegistrationError, match="keyed_no_reconcile"):
        ToolRegistry([keyed])


def test_specs_are_sorted_for_a_stable_prompt():
    """The catalogue order does not depend on registration order."""
    names = [s.name for s in registry_with().specs()]
    assert names == sorted(names) and "calculator" in names and "write_file" in names
