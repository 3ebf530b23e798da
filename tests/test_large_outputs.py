"""A 5 MB tool output travels by reference through a real dev server, and can be read back whole."""

from __future__ import annotations

import subprocess
import sys
import uuid

from tests.big_tools import SIZE
from tests.conftest import make_worker
from tests.scripted import ScriptedModel, call, final
from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, RunStatus


async def test_five_megabyte_output_round_trips_by_reference(dev_client, settings):
    """The run completes (no PayloadsTooLarge); the model sees a digest and preview; the CLI reads it all."""
    model = ScriptedModel(call("dump_log"), final("read it"))
    async with make_worker(dev_client, settings, model, "tests.big_tools"):
        handle = await dev_client.start_workflow(AgentRun.run, RunRequest(goal="read the log"), id=f"big-{uuid.uuid4()}",
                                                 task_queue=settings.task_queue, result_type=RunResult)
        result = await handle.result()
        history_bytes = len((await handle.fetch_history()).to_json())
    assert result.status == RunStatus.COMPLETED
    tool_message = model.calls[1].messages[-1].content
    assert '"$ref":"sha256:' in tool_message and f'"size":{SIZE}' in tool_message
    assert history_bytes < 200_000
    digest = tool_message.split('"$ref":"')[1].split('"')[0]
    read = subprocess.run([sys.executable, "-m", "worker.read", digest, "--data-dir", str(settings.data_dir)],
                          capture_output=True, text=True)
    assert read.returncode == 0, read.stderr
    assert len(read.stdout.rstrip("\n")) == SIZE and set(read.stdout.rstrip("\n")) == {"x"}
