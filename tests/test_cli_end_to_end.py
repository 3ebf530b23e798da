"""The real dev server, a real `python -m worker`, driven by the real `temporal` CLI."""

from __future__ import annotations

import json
import uuid

from tests.conftest import eventually
from tests.processes import WorkerProcess, temporal, temporal_json
from tests.wire_server import ModelWireServer, tool_then_answer


async def test_start_query_list_approve_describe_with_the_cli(dev_server, tmp_path):
    """A user's whole approval loop through the CLI: start, state, list, approve, result."""
    address = dev_server.config.address
    queue, run_id = f"tq-{uuid.uuid4()}", f"cli-{uuid.uuid4()}"
    responder = tool_then_answer("write_file", {"path": "hello.txt", "content": "hi"}, "hello.txt written")
    with ModelWireServer(responder) as model, WorkerProcess(address, queue, tmp_path / "data", model.base_url):
        temporal(address, "workflow", "start", "--type", "AgentRun", "--task-queue", queue, "-w", run_id,
                 "--input", json.dumps({"goal": "write hi to hello.txt", "tenant_id": "acme"}))

        def state() -> dict:
            return temporal_json(address, "workflow", "query", "-w", run_id, "--name", "state")["queryResult"][0]

        async def waiting() -> bool:
            return state()["status"] == "waiting_for_human"

        await eventually(waiting, timeout_s=60, what="the run to wait for approval")
        [pending] = state()["pending_approvals"]
        assert pending["tool"] == "write_file" and pending["risk_level"] == 2

        async def listed() -> bool:
            rows = temporal_json(address, "workflow", "list", "-q", 'AgentStatus="waiting_for_human" AND AgentTenant="acme"')
            return any(r["execution"]["workflowId"] == run_id for r in rows)

        await eventually(listed, what="the run to be listed by AgentStatus")

        refused = temporal(address, "workflow", "update", "execute", "-w", run_id, "--name", "approve",
                           "--input", '{"tool_call_id": "call-7-7"}', check=False)
        assert refused.returncode != 0
        assert "no pending approval for tool call 'call-7-7'" in refused.stderr + refused.stdout

        approved = temporal(address, "workflow", "update", "execute", "-w", run_id, "--name", "approve",
                            "--input", json.dumps({"tool_call_id": pending["tool_call_id"], "approver": "alice"}))
        assert f"approved {pending['tool_call_id']}" in approved.stdout

        result = temporal_json(address, "workflow", "result", "-w", run_id)
        described = temporal_json(address, "workflow", "describe", "-w", run_id)
    assert result["status"] == "COMPLETED", result
    assert result["result"]["status"] == "completed" and result["result"]["answer"] == "hello.txt written"
    assert described["workflowExecutionInfo"]["status"] == "WORKFLOW_EXECUTION_STATUS_COMPLETED"
    [written] = list((tmp_path / "data" / "workspaces").rglob("hello.txt"))
    assert written.read_text() == "hi"
