"""The tool calls of a finished run, read from its history: what the model proposed (with arguments)
and what ran (with the arguments that ran, and the result's status).

The event stream names each call, its verdict and its result status but not its arguments, and the
state query keeps no calls. History has both: each completed model call's decision (its
`tool_calls` become `call-<step>-<index>`, as workflows/tool_steps.py numbers them) and each
`tools.execute` input and result. Payloads are decoded with the client's data converter, so
encrypted histories read the same. A chain that continued as new is read run by run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from workflows.contracts import DecideResult, DecideWithContextResult, ExecuteToolInput, ToolResult

_DECIDE = "model.decide"
_DECIDE_WITH_CONTEXT = "model.decide_with_context"
_EXECUTE = "tools.execute"
_LOCAL_ACTIVITY_MARKER = "core_local_activity"  # sdk-core's marker for a local activity's result


@dataclass
class Proposed:
    step: int
    tool: str
    arguments: dict[str, Any]


@dataclass
class Ran:
    tool: str
    arguments: dict[str, Any]
    result_status: str | None = None


@dataclass
class HistoryCalls:
    proposed: dict[str, Proposed] = field(default_factory=dict)
    ran: dict[str, Ran] = field(default_factory=dict)
    runs: int = 0  # executions read (more than one after continue-as-new)


async def read_calls(client: Client, workflow_id: str, first_run_id: str | None) -> HistoryCalls:
    calls = HistoryCalls()
    step = 0
    run_id = first_run_id
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        calls.runs += 1
        scheduled: dict[int, tuple[str, list[Payload]]] = {}
        next_run: str | None = None
        for event in history.events:
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                attrs = event.activity_task_scheduled_event_attributes
                scheduled[event.event_id] = (attrs.activity_type.name, list(attrs.input.payloads))
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                done = event.activity_task_completed_event_attributes
                name, inputs = scheduled.get(done.scheduled_event_id, ("", []))
                step = await _take(client, calls, step, name, inputs, list(done.result.payloads))
            elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                marker = event.marker_recorded_event_attributes
                if marker.marker_name == _LOCAL_ACTIVITY_MARKER and "result" in marker.details:
                    name = _local_activity_type(list(marker.details["data"].payloads) if "data" in marker.details
                                                else [])
                    step = await _take(client, calls, step, name, [], list(marker.details["result"].payloads))
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
                next_run = event.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
        if not next_run:
            return calls
        run_id = next_run


async def _take(client: Client, calls: HistoryCalls, step: int, name: str, inputs: list[Payload],
                results: list[Payload]) -> int:
    """Record one completed activity; returns the step count after it."""
    converter = client.data_converter
    if name in (_DECIDE, _DECIDE_WITH_CONTEXT) and results:
        if name == _DECIDE:
            decided: DecideResult | None = (await converter.decode(results, [DecideResult]))[0]
        else:
            decided = (await converter.decode(results, [DecideWithContextResult]))[0].result
        if decided is None:
            return step  # the prompt did not fit: nothing was sent, no step was taken
        step += 1
        for index, proposal in enumerate(decided.decision.tool_calls, 1):
            calls.proposed[f"call-{step}-{index}"] = Proposed(step, proposal.tool, dict(proposal.arguments))
    elif name == _EXECUTE and inputs:
        executed: ExecuteToolInput = (await converter.decode(inputs, [ExecuteToolInput]))[0]
        status = (await converter.decode(results, [ToolResult]))[0].status if results else None
        call = executed.tool_call
        calls.ran[call.id] = Ran(call.tool, dict(call.arguments), status)
    return step


def _local_activity_type(data: list[Payload]) -> str:
    """The marker's `data` is sdk-core's own JSON (never through the codec): it names the activity."""
    try:
        return str(json.loads(data[0].data).get("activity_type", "")) if data else ""
    except (ValueError, AttributeError):
        return ""
