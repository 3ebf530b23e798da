"""What a step adds to history: a tool's output once (in its tool result, not again in the next model
call's input) and the pinned block (system prompt, policy, goal) once per run, not once per step."""

from __future__ import annotations

import base64
import json
import uuid

from tests.conftest import make_worker, run_workspace
from tests.scripted import ScriptedModel, call, final
from workflows.agent_run import AgentRun
from workflows.contracts import DecideInput, Decision, RunRequest, RunResult, RunStatus

MARKER = "distinctive-tool-output-"
GOAL = "read out.txt three times, then stop (goal text 7f3a)"


def payload_texts(history) -> list[str]:
    """Every payload's data in the run's history, decoded."""
    texts: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "data" in node and "metadata" in node and isinstance(node["data"], str):
                texts.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(history.to_json()))
    return texts


async def test_tool_output_and_pinned_block_are_in_history_once(dev_client, settings):
    def next_step(input: DecideInput) -> Decision:
        done = sum(m.role == "tool" for m in input.messages)
        assert input.messages[1].content == f"Goal: {GOAL}"  # the model still sees the pinned block
        return call("read_file", path="out.txt") if done < 3 else final("done")

    async with make_worker(dev_client, settings, ScriptedModel(next_step)):
        handle = await dev_client.start_workflow(
            AgentRun.run, RunRequest(goal=GOAL), id=f"once-{uuid.uuid4()}", task_queue=settings.task_queue,
            result_type=RunResult, start_signal="pause")
        run_workspace(settings, handle).mkdir(parents=True)
        (run_workspace(settings, handle) / "out.txt").write_text(MARKER + "x" * 2000)
        await handle.signal(AgentRun.resume)
        result = await handle.result()
        history = await handle.fetch_history()
    assert result.status == RunStatus.COMPLETED and result.usage.tool_calls == 3
    texts = payload_texts(history)
    # three tool results; the model calls after them name each output by digest
    assert sum(t.count(MARKER) for t in texts) == 3
    # the run's input, and the first model call only (later calls name the stored block)
    assert sum(t.count("goal text 7f3a") for t in texts) == 2
