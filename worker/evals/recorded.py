"""What a run did, read back from its history: its request, each step's decision, each tool's answer.

Every decision and every tool result of a real run is already in its Temporal history (the model and
tool activities' inputs and results). This reads them across the run's whole chain (continue-as-new
hands over to new runs of the same workflow id; each names the run it continues), decoding payloads
with the project's converter (encrypted payloads included). Runs recorded before the context engine
(`model.decide`) and after it (`model.decide_with_context`) read alike, and so do model calls made as
local activities (a marker holds their result instead of an activity event).

The one reader of run histories for the evals: the runner and online scoring take each proposed
call's arguments from it (the event stream does not carry them), capture and fork the whole record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import Payloads
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from workflows.contracts import (
    DecideResult,
    DecideWithContextResult,
    Decision,
    ExecuteToolInput,
    RecordedResult,
    RecordedWorld,
    RunRequest,
    ToolResult,
)

DECIDERS = {"model.decide": DecideResult, "model.decide_with_context": DecideWithContextResult}
LOCAL_ACTIVITY_MARKER = "core_local_activity"


class NotARun(ValueError):
    """The workflow is not an AgentRun, or its history cannot be read as one."""


@dataclass
class Proposed:
    """A call the model proposed: `call-<step>-<index>`, as workflows/tool_steps.py numbers them."""

    step: int
    tool: str
    arguments: dict[str, Any]


@dataclass
class RecordedCall:
    """A call that ran (`tools.execute`), with the arguments that ran and its result."""

    id: str
    step: int
    tool: str
    arguments: dict[str, Any]
    arguments_hash: str
    result: ToolResult


@dataclass
class RecordedRun:
    workflow_id: str
    run_ids: list[str]  # the chain, first run first
    request: RunRequest
    decisions: list[Decision] = field(default_factory=list)  # one per step, in order
    calls: list[RecordedCall] = field(default_factory=list)
    status: str = ""
    answer: str | None = None

    def proposed(self) -> dict[str, Proposed]:
        return {f"call-{step}-{index}": Proposed(step, call.tool, dict(call.arguments))
                for step, decision in enumerate(self.decisions, 1)
                for index, call in enumerate(decision.tool_calls, 1)}

    def ran(self) -> dict[str, RecordedCall]:
        return {call.id: call for call in self.calls}

    def world(self, steps: int | None = None, dry_run: bool = False) -> RecordedWorld:
        """The recorded world: the first `steps` decisions (none by default) and every tool answer."""
        results = [RecordedResult(tool=c.tool, arguments_hash=c.arguments_hash, result=c.result) for c in self.calls]
        return RecordedWorld(source=f"{self.workflow_id}/{self.run_ids[0]}", decisions=self.decisions[:steps or 0],
                             results=results, dry_run=dry_run)


async def _decode(client: Client, payloads: Payloads, hint: type) -> Any:
    [value] = await client.data_converter.decode(payloads.payloads, [hint])
    return value


async def _chain(client: Client, workflow_id: str, run_id: str | None) -> list[tuple[str, list[HistoryEvent]]]:
    """Each run of the chain that ends with `run_id` (default: the latest), first run first."""
    found: list[tuple[str, list[HistoryEvent]]] = []
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        first = history.events[0].workflow_execution_started_event_attributes
        if first.workflow_type.name != "AgentRun":
            raise NotARun(f"{workflow_id} is a {first.workflow_type.name!r} workflow, not an AgentRun")
        found.append((history.run_id, list(history.events)))
        run_id = first.continued_execution_run_id or None
        if run_id is None:
            return found[::-1]


async def read_run(client: Client, workflow_id: str, run_id: str | None = None) -> RecordedRun:
    chain = await _chain(client, workflow_id, run_id)
    first_events = chain[0][1]
    request = await _decode(client, first_events[0].workflow_execution_started_event_attributes.input, RunRequest)
    recorded = RecordedRun(workflow_id, [r for r, _ in chain], request.model_copy(update={"carry": None}))
    # A fork's first steps were the recorded decisions it was given, made without a model call.
    recorded.decisions = list(request.world.decisions) if request.world is not None else []
    for _, events in chain:
        await _read_events(client, events, recorded)
    return recorded


async def _read_events(client: Client, events: list[HistoryEvent], recorded: RecordedRun) -> None:
    scheduled: dict[int, tuple[str, Payloads]] = {}
    for event in events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = (attrs.activity_type.name, attrs.input)
        elif event.HasField("activity_task_completed_event_attributes"):
            done = event.activity_task_completed_event_attributes
            name, given = scheduled.get(done.scheduled_event_id, ("", Payloads()))
            await _completed(client, recorded, name, given, done.result)
        elif event.HasField("marker_recorded_event_attributes"):
            marker = event.marker_recorded_event_attributes
            if marker.marker_name == LOCAL_ACTIVITY_MARKER and "result" in marker.details:
                data = marker.details["data"] if "data" in marker.details else Payloads()
                await _completed(client, recorded, _local_activity_type(data), Payloads(), marker.details["result"])
        elif event.HasField("workflow_execution_completed_event_attributes"):
            outcome = await _decode(client, event.workflow_execution_completed_event_attributes.result, dict)
            recorded.status, recorded.answer = str(outcome.get("status", "")), outcome.get("answer")


async def _completed(client: Client, recorded: RecordedRun, name: str, given: Payloads, result: Payloads) -> None:
    """One completed model or tool activity: a step's decision, or a call that ran."""
    if name in DECIDERS and result.payloads:
        value = await _decode(client, result, DECIDERS[name])
        decided = value if isinstance(value, DecideResult) else value.result
        if decided is not None:  # None: the prompt did not fit and no call was made
            recorded.decisions.append(decided.decision)
    elif name == "tools.execute" and given.payloads:
        call = (await _decode(client, given, ExecuteToolInput)).tool_call
        answer = await _decode(client, result, ToolResult)
        recorded.calls.append(RecordedCall(call.id, len(recorded.decisions), call.tool, dict(call.arguments),
                                           call.arguments_hash, answer))


def _local_activity_type(data: Payloads) -> str:
    """The marker's `data` is sdk-core's own JSON (never through the codec): it names the activity."""
    try:
        return str(json.loads(data.payloads[0].data).get("activity_type", "")) if data.payloads else ""
    except (ValueError, AttributeError):
        return ""
