"""Every activity input and result recorded in tests/histories/ decodes into the type its stub names
(workflows/calls.py) and encodes back to the same JSON: payloads carry no class paths, so where a class
lives does not change them, and a field added since (with its default) is the only difference allowed.
test_replay.py proves the workflow replays; this proves the bytes each side reads and writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.json_format import ParseDict
from temporalio.api.common.v1 import Payload

from worker.converter import DATA_CONVERTER
from workflows import calls

HISTORIES = sorted(Path(__file__).parent.joinpath("histories").rglob("*.json"))
STUBS = {stub.name: stub for stub in calls.ALL}
# Fields recorded runs still carry but today's types no longer declare: the Wire base ignores them.
# DecideWithContextInput's priority lists went when the packer began to count every turn (issue 23).
RETIRED = {"model.decide_with_context": {"current_task", "volatile", "protected"}}


def _contains(recorded: Any, now: Any, retired: frozenset[str] | set[str] = frozenset()) -> bool:
    """`now` says everything `recorded` said; it may add keys (fields added since, with defaults)."""
    if isinstance(recorded, dict):
        return isinstance(now, dict) and all(k in now and _contains(v, now[k]) for k, v in recorded.items()
                                             if k not in retired)
    if isinstance(recorded, list):
        return isinstance(now, list) and len(now) == len(recorded) and all(map(_contains, recorded, now))
    return recorded == now


def _round_trip(payload_json: dict, type_: type) -> tuple[Any, Any]:
    payload = ParseDict(payload_json, Payload())
    value = DATA_CONVERTER.payload_converter.from_payloads([payload], [type_])[0]
    again = DATA_CONVERTER.payload_converter.to_payloads([value])[0]
    return json.loads(payload.data), json.loads(again.data)


def _activity_payloads(path: Path) -> list[tuple[str, str, dict]]:
    """(activity name, "input" or "result", payload) of every scheduled and completed activity."""
    events = json.loads(path.read_text())["events"]
    names: dict[str, str] = {}
    found = []
    for event in events:
        if scheduled := event.get("activityTaskScheduledEventAttributes"):
            name = scheduled["activityType"]["name"]
            names[event["eventId"]] = name
            for payload in scheduled.get("input", {}).get("payloads", []):
                found.append((name, "input", payload))
        elif completed := event.get("activityTaskCompletedEventAttributes"):
            name = names[completed["scheduledEventId"]]
            for payload in completed.get("result", {}).get("payloads", []):
                found.append((name, "result", payload))
    return found


@pytest.mark.parametrize("path", HISTORIES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_recorded_activity_payloads_round_trip_unchanged(path: Path) -> None:
    for name, side, payload in _activity_payloads(path):
        stub = STUBS.get(name)
        if stub is None:
            continue  # an activity the workflow no longer calls by a stub (none today)
        recorded, now = _round_trip(payload, stub.input if side == "input" else stub.result)
        assert _contains(recorded, now, RETIRED.get(name, set())), f"{name} {side} changed:\nrecorded {recorded}\nnow      {now}"


def test_every_recorded_activity_has_a_stub() -> None:
    recorded = [name for path in HISTORIES for name, _, _ in _activity_payloads(path)]
    assert len(recorded) > 500 and len(set(recorded)) >= 12, (len(recorded), set(recorded))
    assert set(recorded) <= set(STUBS), set(recorded) - set(STUBS)
