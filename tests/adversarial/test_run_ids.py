"""Workflow ids never map onto the filesystem: `..`, `.`, slashes, unicode and long ids each get a
private, digest-named workspace; a run sees only its own files, never the data directory, the ledger
or another run's workspace. Links planted in a workspace do not reach outside it either."""

from __future__ import annotations

import os

import pytest
from temporalio.testing import ActivityEnvironment

from activities.ledger import Ledger
from activities.tools.execute import ToolActivities
from activities.tools.workspaces import workspace_dir
from tests.conftest import make_worker, registry_with, run_workspace
from tests.scripted import ScriptedModel, call, final
from tests.tools.helpers import call_input
from workflows.agent_run import AgentRun
from workflows.contracts import DecideInput, Decision, RunRequest, RunResult, RunStatus

HOSTILE_IDS = ["..", ".", "../../etc", "a/../../b", "runs/other", "ünï/..", "x" * 1000]


def snoop(input: DecideInput) -> Decision:
    """List the workspace, then try to read the ledger and a neighbour's file, then stop."""
    done = sum(m.role == "tool" for m in input.messages)
    plan = [call("list_files"), call("read_file", path="ledger.sqlite"), call("read_file", path="../other/secret.txt")]
    return plan[done] if done < len(plan) else final("done")


@pytest.mark.parametrize("workflow_id", HOSTILE_IDS, ids=["dotdot", "dot", "traversal", "nested", "slash", "unicode",
                                                          "long"])
async def test_a_hostile_workflow_id_gets_a_private_workspace(dev_client, settings, workflow_id):
    settings.workspaces.mkdir(parents=True, exist_ok=True)
    (settings.workspaces / "other").mkdir()
    (settings.workspaces / "other" / "secret.txt").write_text("another run's file")
    model = ScriptedModel(snoop)
    async with make_worker(dev_client, settings, model):
        handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="look around"), id=workflow_id,
                                                 task_queue=settings.task_queue, result_type=RunResult)
        result = await handle.result()
    listing, ledger, neighbour = [m.content.split("\n")[0] for m in model.calls[-1].messages if m.role == "tool"]
    assert result.status == RunStatus.COMPLETED
    assert listing.startswith('{"data":{"files":[]}'), listing
    assert ledger.startswith('{"error_type":"not_found"'), ledger
    assert neighbour.startswith('{"error_type":"invalid_arguments"') and "another run's file" not in neighbour
    workspace = run_workspace(settings, handle)
    assert workspace.parent == settings.workspaces and len(workspace.name) == 32


async def test_links_planted_in_a_workspace_do_not_reach_outside(tmp_path):
    """A symlinked directory is not listed through; a hard link to a host file is not read or appended."""
    tools = ToolActivities(registry_with(), Ledger(tmp_path / "ledger.sqlite"), tmp_path / "workspaces")
    workspace = workspace_dir(tmp_path / "workspaces", "run-1")
    workspace.mkdir(parents=True)
    outside = tmp_path / "host"
    outside.mkdir()
    (outside / "secret.txt").write_text("host secret")
    os.symlink(outside, workspace / "door")
    os.link(outside / "secret.txt", workspace / "linked.txt")
    env = ActivityEnvironment()
    listed = await env.run(tools.execute, call_input("list_files", call_id="call-1-1"))
    through = await env.run(tools.execute, call_input("read_file", call_id="call-1-2", path="door/secret.txt"))
    linked = await env.run(tools.execute, call_input("read_file", call_id="call-1-3", path="linked.txt"))
    appended = await env.run(tools.execute, call_input("append_file", call_id="call-1-4", path="linked.txt", line="x"))
    assert "secret.txt" not in str(listed.data) and "door" not in str(listed.data)
    assert (through.status, through.error_type) == ("error", "invalid_arguments")
    assert (linked.status, linked.error_type) == ("error", "invalid_arguments") and "host secret" not in str(linked)
    assert appended.status == "error" and (outside / "secret.txt").read_text() == "host secret"
