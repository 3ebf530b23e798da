"""A run can start with files in its workspace (RunRequest.files): the model reads them with the file
tools, as an eval case or a captured run needs. Paths are confined to the workspace, even through a
planted symlink, and a request too large or with escaping paths is refused before anything starts."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from pydantic import ValidationError
from temporalio.exceptions import ApplicationError

from activities.ledger import Ledger
from activities.tools.execute import ToolActivities
from tests.conftest import registry_with
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer, _text
from workflows.agent_run import AgentRun
from workflows.contracts import MAX_SEED_FILES, RunRequest, RunResult, RunStatus, SeedWorkspaceInput


def read_then_quote(body: dict[str, Any]) -> str:
    """Read notes/code.txt; once its content is in the prompt, answer with the code it holds."""
    for message in body.get("messages", []):
        if "Result of tool read_file" in (text := _text(message.get("content"))):
            code = re.search(r"code is (\d+)", text)
            return json.dumps({"action": "final_answer", "answer": f"the code is {code.group(1) if code else '?'}"})
    return json.dumps({"action": "call_tool", "tool": "read_file", "arguments": {"path": "notes/code.txt"}})


async def test_a_run_reads_the_files_it_started_with(dev_server, dev_client, tmp_path):
    queue = f"tq-{uuid.uuid4()}"
    with ModelWireServer(read_then_quote) as model, WorkerProcess(dev_server.config.address, queue, tmp_path / "data",
                                                                  model.base_url):
        request = RunRequest(goal="What code is written in notes/code.txt?",
                             files={"notes/code.txt": "the code is 4217\n", "readme.md": "# hi\n"})
        result = await dev_client.execute_workflow(AgentRun.run, request, id=f"seed-{uuid.uuid4()}", task_queue=queue,
                                                   result_type=RunResult)
    assert result.status == RunStatus.COMPLETED and result.answer == "the code is 4217"
    [workspace] = [d for d in (tmp_path / "data" / "workspaces").iterdir() if (d / "readme.md").exists()]
    assert (workspace / "notes/code.txt").read_text() == "the code is 4217\n"
    assert (workspace / "readme.md").read_text() == "# hi\n"


@pytest.mark.parametrize("files", [
    {"../outside.txt": "x"}, {"/etc/passwd": "x"}, {"a/../../b": "x"}, {"": "x"}, {"nul\0byte": "x"},
    {f"f{i}": "" for i in range(MAX_SEED_FILES + 1)}, {"big": "x" * (300 * 1024)},
])
def test_escaping_or_oversized_files_are_refused_in_the_request(files):
    with pytest.raises(ValidationError):
        RunRequest(goal="g", files=files)


def test_a_planted_symlink_cannot_carry_a_seed_file_out(tmp_path):
    """Were a workspace to hold a link to elsewhere (a shared store someone wrote into), seeding through it
    is refused for good, not retried, and nothing lands outside."""
    outside = tmp_path / "outside"
    outside.mkdir()
    tools = ToolActivities(registry_with(), Ledger(tmp_path / "ledger.sqlite"), tmp_path / "workspaces")
    with tools.workspaces.checkout("run-1/first") as workspace:
        (workspace / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ApplicationError) as refused:
        tools.seed_workspace(SeedWorkspaceInput(run_id="run-1/first", files={"link/evil.txt": "x"}))
    assert refused.value.non_retryable and "outside the run's workspace" in str(refused.value)
    assert list(outside.iterdir()) == []
