"""What each model request must show, read from the run's Temporal history, not from the engine.

Walking the history in order gives the run's transcript as it grew: each decision the model returned
(`model.decide_with_context`, as an activity or a local activity), each tool result
(`tools.execute`), and each compaction (`context.summarize`: turns [start, end) became one summary).
Every state it passed through is a snapshot. A request is right when it matches one snapshot
exactly: each decision and tool result of it once, in order, each summary once, and nothing the
snapshot does not hold (a turn from later, or one a compaction replaced).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle

from workflows.contracts import ExecuteToolInput, ToolResult
from workflows.contracts.context import DecideWithContextResult, SummarizeContextResult

SUMMARY_MARK = "Summary of earlier turns"


@dataclass(frozen=True)
class Entry:
    kind: str  # decision | tool | summary
    text: str  # what the prompt must hold for it: the decision's JSON, the tool result's header


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


async def chain_of(client: Client, workflow_id: str) -> list[WorkflowHandle]:
    """Every run of a run chain (continue-as-new), oldest first."""
    runs = [r async for r in client.list_workflows(f'WorkflowId="{workflow_id}"')]
    return [client.get_workflow_handle(workflow_id, run_id=r.run_id) for r in sorted(runs, key=lambda r: r.start_time)]


async def snapshots(client: Client, *handles: WorkflowHandle) -> list[list[Entry]]:
    """Every state of the run chain's transcript, in the order its histories reached them."""
    entries: list[Entry] = []
    states: list[list[Entry]] = [[]]
    for handle in handles:
        await _walk(client, handle, entries, states)
    return states


async def _walk(client: Client, handle: WorkflowHandle, entries: list[Entry], states: list[list[Entry]]) -> None:
    history = await handle.fetch_history()
    scheduled: dict[int, tuple[str, Any]] = {}
    converter = client.data_converter

    async def decoded(payloads, kind) -> Any:
        return (await converter.decode(list(payloads), [kind]))[0]

    async def completed(activity: str, result_payloads, input_payloads) -> None:
        if activity == "model.decide_with_context":
            result = await decoded(result_payloads, DecideWithContextResult)
            if result.result is not None:
                entries.append(Entry("decision", _canonical(result.result.decision.model_dump(exclude_none=True))))
        elif activity == "tools.execute":
            call = (await decoded(input_payloads, ExecuteToolInput)).tool_call
            await decoded(result_payloads, ToolResult)
            entries.append(Entry("tool", f"Result of tool {call.tool} ({call.id})"))
        elif activity == "context.summarize":
            done = await decoded(result_payloads, SummarizeContextResult)
            entries[done.start:done.end] = [Entry("summary", SUMMARY_MARK)]
        else:
            return
        states.append(list(entries))

    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attributes = event.activity_task_scheduled_event_attributes
            scheduled[event.event_id] = (attributes.activity_type.name, attributes.input.payloads)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attributes = event.activity_task_completed_event_attributes
            activity, inputs = scheduled[attributes.scheduled_event_id]
            await completed(activity, attributes.result.payloads, inputs)
        elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            details = event.marker_recorded_event_attributes.details
            if "data" in details and "result" in details:  # a local activity's marker
                data = json.loads(details["data"].payloads[0].data)
                await completed(data.get("activity_type") or data.get("activityType", ""),
                                details["result"].payloads, [])


async def model_results(client: Client, *handles: WorkflowHandle) -> list[DecideWithContextResult]:
    """Every `model.decide_with_context` result of the run chain (activity or local activity), in order."""
    found: list[DecideWithContextResult] = []
    for handle in handles:
        history = await handle.fetch_history()
        kinds: dict[int, str] = {}
        for event in history.events:
            payloads = None
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                kinds[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
            elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                attributes = event.activity_task_completed_event_attributes
                if kinds[attributes.scheduled_event_id] == "model.decide_with_context":
                    payloads = attributes.result.payloads
            elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                details = event.marker_recorded_event_attributes.details
                if "result" in details and "model.decide_with_context" in details["data"].payloads[0].data.decode():
                    payloads = details["result"].payloads
            if payloads:
                found.append((await client.data_converter.decode(list(payloads), [DecideWithContextResult]))[0])
    return found


def _occurrences(text: str, needle: str) -> list[int]:
    found, start = [], 0
    while (at := text.find(needle, start)) >= 0:
        found.append(at)
        start = at + 1
    return found


def matches(prompt: str, state: list[Entry], every: set[Entry]) -> bool:
    """`prompt` holds each entry of `state` once and in order, each summary once, and nothing else."""
    position = -1
    for entry in state:
        if entry.kind == "summary":
            continue
        found = _occurrences(prompt, entry.text)
        if len(found) != 1 or found[0] < position:
            return False
        position = found[0]
    summaries = sum(1 for entry in state if entry.kind == "summary")
    if len(_occurrences(prompt, SUMMARY_MARK)) != summaries:
        return False
    return not any(_occurrences(prompt, entry.text) for entry in every - set(state) if entry.kind != "summary")


def prompt_of(body: dict[str, Any]) -> str:
    """The transcript part of a request, whatever its protocol: every message after the goal."""
    if "system" in body:  # Anthropic: system blocks apart, turns merged by role
        texts = [m["content"] if isinstance(m["content"], str) else "".join(p.get("text", "") for p in m["content"])
                 for m in body["messages"]]
        first = texts[0].split("\n\n", 1)  # the goal, then whatever user turns followed it
        return "\n\n".join([first[1] if len(first) > 1 else "", *texts[1:]])
    return "\n".join(m["content"] for m in body["messages"][2:])


def unmatched(requests: list[dict[str, Any]], states: list[list[Entry]]) -> list[int]:
    """The indexes of the requests that match no state of the run's transcript, and of those that match
    only a state older than an earlier request's (a prompt that went back in time)."""
    every = {entry for state in states for entry in state}
    bad, earliest = [], 0
    for i, body in enumerate(requests):
        prompt = prompt_of(body)
        fits = [k for k, state in enumerate(states) if k >= earliest and matches(prompt, state, every)]
        if not fits:
            bad.append(i)
        else:
            earliest = fits[0]
    return bad
