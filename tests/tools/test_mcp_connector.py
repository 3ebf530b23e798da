"""The MCP connector against a real MCP server the tests start, over stdio and streamable HTTP."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.testing import ActivityEnvironment

from activities.mcp import MCPActivities, MCPConfigError, MCPConnector, load_mcp_config
from tests.conftest import eventually
from tests.tools.helpers import call_input, tool_activities
from worker.devserver import free_port, port_open

SERVER = str(Path(__file__).with_name("mcp_server.py"))


def write_config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "mcp.yaml"
    path.write_text(body)
    return path


@pytest.fixture
def notes(tmp_path) -> Path:
    return tmp_path / "notes.txt"


@pytest.fixture
def stdio_config(tmp_path, notes):
    return load_mcp_config(write_config(tmp_path, f"""
servers:
  - name: notes
    transport: stdio
    command: {sys.executable}
    args: [{SERVER}, stdio]
    env: {{NOTES_FILE: {notes}}}
    timeout_s: 30
    tools:
      add: {{risk_level: 0, idempotency: idempotent}}
"""))


@pytest.fixture
def http_server(notes):
    port = free_port()
    process = subprocess.Popen([sys.executable, SERVER, "http", str(port)], env={"NOTES_FILE": str(notes)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield f"http://127.0.0.1:{port}/mcp", port
    process.kill()
    process.wait()


async def test_stdio_tools_are_listed_with_risk_from_config(stdio_config):
    """Tools are prefixed by server; risk and idempotency come from config, not the server's read-only claim."""
    result = await ActivityEnvironment().run(MCPActivities(MCPConnector(stdio_config)).list_tools)
    specs = {s.name: s for s in result.tools}
    assert sorted(specs) == ["mcp__notes__add", "mcp__notes__append_note", "mcp__notes__charge",
                            "mcp__notes__fail_always"]
    assert (specs["mcp__notes__add"].risk_level, specs["mcp__notes__add"].idempotency) == (0, "idempotent")
    note = specs["mcp__notes__append_note"]
    assert (note.risk_level, note.idempotency) == (3, "not_idempotent")
    assert set(specs["mcp__notes__add"].parameters["properties"]) == {"a", "b"}


async def test_calls_go_through_the_ledger_exactly_once(stdio_config, tmp_path, notes):
    """A side-effecting MCP call retried under the same key runs once; the retry reads the receipt."""
    tools = tool_activities(tmp_path, dynamic_tools=MCPConnector(stdio_config).tool_for)
    env = ActivityEnvironment()
    first = await env.run(tools.execute, call_input("mcp__notes__append_note", text="paid"))
    again = await env.run(tools.execute, call_input("mcp__notes__append_note", text="paid"))
    assert first.status == "ok" and first.data["content"] == ["noted"] and again.from_ledger
    assert notes.read_text().splitlines() == ["paid"]


async def test_errors_are_normalized_results(stdio_config, tmp_path):
    """A failing MCP tool, a renamed tool's original spelling, and an unknown name all come back as results."""
    tools = tool_activities(tmp_path, dynamic_tools=MCPConnector(stdio_config).tool_for)
    env = ActivityEnvironment()
    failed = await env.run(tools.execute, call_input("mcp__notes__fail_always"))
    assert (failed.status, failed.error_type) == ("error", "mcp_tool_error") and "boom" in failed.message
    unknown = await env.run(tools.execute, call_input("mcp__notes__nope", call_id="c2"))
    assert unknown.error_type == "unknown_tool"
    other_server = await env.run(tools.execute, call_input("mcp__other__add", call_id="c3", a=1, b=2))
    assert other_server.error_type == "unknown_tool"


async def test_a_lost_answer_from_a_side_effecting_tool_is_outcome_unknown(tmp_path, notes):
    """A not-idempotent MCP call that never answers is outcome_unknown in the ledger, and is not re-sent."""
    config = load_mcp_config(write_config(tmp_path, f"""
servers:
  - name: pay
    transport: stdio
    command: {sys.executable}
    args: [{SERVER}, stdio]
    env: {{NOTES_FILE: {notes}}}
    timeout_s: 5
"""))
    tools = tool_activities(tmp_path, dynamic_tools=MCPConnector(config).tool_for)
    env = ActivityEnvironment()
    first = await env.run(tools.execute, call_input("mcp__pay__charge", amount=42))
    assert (first.status, first.error_type) == ("error", "outcome_unknown")
    again = await env.run(tools.execute, call_input("mcp__pay__charge", amount=42))
    assert again.from_ledger and again.error_type == "outcome_unknown"
    assert notes.read_text().splitlines() == ["charged 42"]
    assert tools.ledger.receipt("run-1/call-1-1")["status"] == "outcome_unknown"


async def test_streamable_http_server(tmp_path, http_server):
    """The same server over streamable HTTP is listed and called; allowed_tools hides the rest."""
    url, port = http_server

    async def up() -> bool:
        return port_open("127.0.0.1", port)

    await eventually(up, timeout_s=30, what="the MCP HTTP server")
    config = load_mcp_config(write_config(tmp_path, f"""
servers:
  - name: remote
    transport: streamable_http
    url: {url}
    allowed_tools: [add]
    default_risk_level: 1
    default_idempotency: idempotent
"""))
    connector = MCPConnector(config)
    specs = await connector.list_tools()
    assert [(s.name, s.risk_level) for s in specs] == [("mcp__remote__add", 1)]
    tools = tool_activities(tmp_path, dynamic_tools=connector.tool_for)
    env = ActivityEnvironment()
    added = await env.run(tools.execute, call_input("mcp__remote__add", a=2, b=3))
    assert added.status == "ok" and added.data["content"] == ["5"]
    hidden = await env.run(tools.execute, call_input("mcp__remote__append_note", call_id="c2", text="x"))
    assert hidden.error_type == "unknown_tool"


@pytest.mark.parametrize(("body", "message"), [
    ("servers:\n  - name: a\n    transport: stdio\n", "needs `command`"),
    ("servers:\n  - {name: a, transport: stdio, command: x}\n  - {name: a, transport: stdio, command: y}\n", "unique"),
    ("servers:\n  - {name: a, transport: carrier_pigeon, command: x}\n", "servers.0.transport"),
    ("servers:\n  - {name: a, transport: stdio, command: x, risk: 9}\n", "servers.0.risk"),
    ("servers: [\n", "MCP servers file"),
])
def test_a_bad_servers_file_fails_with_the_key(tmp_path, body, message):
    """Each malformed servers file is refused with the file's path and the offending key."""
    path = write_config(tmp_path, body)
    with pytest.raises(MCPConfigError, match="mcp.yaml") as error:
        load_mcp_config(path)
    assert message in str(error.value)
