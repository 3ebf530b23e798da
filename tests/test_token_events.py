"""A run started with stream_tokens shows its model replies being written, on its event stream: a real
`python -m worker` whose model streams (stream: true in its models file), the real dev server, and a
model server that sends each reply in small SSE chunks."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from temporalio.client import Client
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from activities.token_stream import MAX_CHARS
from tests.conftest import wire_model, write_models_file
from tests.processes import WorkerProcess
from tests.wire_server import ModelWireServer, tool_result_seen
from workflows.agent_run import AgentRun
from workflows.contracts import EVENTS_TOPIC, RunEvent, RunRequest, RunResult, RunStatus

INVALID = "Sure! Let me add those numbers for you."
CALL = json.dumps({"action": "call_tool", "tool": "calculator", "arguments": {"expression": "2+2"}})
ANSWER = json.dumps({"action": "final_answer", "answer": "2 and 2 make 4, as the calculator says."})


class Replies:
    """The streamed run's model: an invalid first reply (so the activity repairs), then the calculator
    call, then the answer; the quiet run's: the answer at once. Records what it sent, per goal."""

    def __init__(self) -> None:
        self.sent: dict[str, list[str]] = {"streamed": [], "quiet": []}
        self.lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> str:
        prompt = "".join(m["content"] for m in body["messages"])
        run = "streamed" if "Goal: streamed" in prompt else "quiet"
        if run == "quiet" or tool_result_seen(body, "calculator"):
            reply = ANSWER
        else:
            reply = CALL if "That reply was invalid" in prompt else INVALID
        with self.lock:
            self.sent[run].append(reply)
        return reply


async def _follow(client: Client, run_id: str) -> list[RunEvent]:
    stream = WorkflowStreamClient.create(client, run_id)
    events: list[RunEvent] = []
    async for item in stream.subscribe([EVENTS_TOPIC], result_type=RunEvent):
        events.append(item.data)
        if item.data.kind == "result":
            return events
    return events


async def _run(client: Client, queue: str, request: RunRequest) -> tuple[RunResult, list[RunEvent]]:
    handle = await client.start_workflow(AgentRun.run, request, id=f"tokens-{uuid.uuid4()}", task_queue=queue,
                                         result_type=RunResult)
    events = await _follow(client, handle.id)
    return await handle.result(), events


def _text_after_last_retry(events: list[RunEvent], step: int) -> str:
    """What a follower shows as the step's reply: its model_tokens text since its last model_retry."""
    text = ""
    for e in events:
        if e.step == step and e.kind == "model_retry":
            text = ""
        elif e.step == step and e.kind == "model_tokens":
            text += e.text or ""
    return text


async def test_a_streamed_run_shows_each_reply_as_the_model_sent_it(dev_client, dev_server, tmp_path) -> None:
    """The step's model_tokens text equals the reply the server streamed, the invalid reply is voided by
    a model_retry before its repair, and a run that did not opt in has no token events."""
    queue = f"tq-{uuid.uuid4()}"
    replies = Replies()
    with ModelWireServer(replies) as server:
        models = write_models_file(tmp_path / "m.yaml", wire_model("streaming", server, stream=True))
        worker = WorkerProcess(dev_server.config.address, queue, tmp_path / "data", server.base_url,
                               env={"AGENT_MODELS_FILE": str(models)})
        with worker:
            streamed, events = await _run(dev_client, queue, RunRequest(goal="streamed: add 2 and 2",
                                                                        stream_tokens=True))
            quiet, quiet_events = await _run(dev_client, queue, RunRequest(goal="quietly add 2 and 2"))

    assert streamed.status == quiet.status == RunStatus.COMPLETED, (streamed, quiet)
    assert replies.sent["streamed"] == [INVALID, CALL, ANSWER] and replies.sent["quiet"] == [ANSWER]
    tokens = [e for e in events if e.kind == "model_tokens"]
    retries = [e for e in events if e.kind == "model_retry"]
    # Step 1: the invalid reply (what of it was sent before the repair began: unsent text is dropped), then
    # model_retry for the repair, then the call; step 2: the answer.
    assert INVALID.startswith("".join(e.text or "" for e in tokens if e.step == 1 and e.repair == 0))
    assert [(e.step, e.attempt, e.repair) for e in retries] == [(1, 1, 1)]
    assert _text_after_last_retry(events, 1) == CALL and _text_after_last_retry(events, 2) == ANSWER
    assert {e.model for e in tokens} == {"streaming"} and all(len(e.text or "") <= MAX_CHARS for e in tokens)
    # A step's text arrives after the step starts and before what the workflow made of the reply.
    kinds = [(e.step, e.kind) for e in events]
    for step, after in [(1, "tool_proposed"), (2, "step_finished")]:
        last_token = max(i for i, k in enumerate(kinds) if k == (step, "model_tokens"))
        assert kinds.index((step, "step_started")) < last_token < kinds.index((step, after)), kinds
    assert not [e for e in quiet_events if e.kind in ("model_tokens", "model_retry")]
