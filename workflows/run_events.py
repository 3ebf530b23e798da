"""The run's event stream: what happened, in order, for anyone who follows the run live.

Built on Temporal's Workflow Streams (temporalio.contrib.workflow_streams), not on polling the state
query: publishing from the workflow only appends to the stream's in-memory log (no command, no
history event; replay rebuilds it), and a follower long-polls with an update from the offset it last
saw, so it gets every later event exactly once, across worker restarts and continue-as-new. A run
that nobody follows costs nothing in history.

Continue-as-new carries the newest KEEP events and the publishers' dedup state (RunCheckpoint.stream);
a follower further behind than that resumes at the oldest event kept.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from temporalio import workflow
from temporalio.contrib.workflow_streams import WorkflowStream, WorkflowStreamState

from workflows.contracts import EVENTS_TOPIC, EventKind, RunEvent

# Events carried through continue-as-new: enough for a follower that was a few steps behind, and a
# bound on the checkpoint whatever the run's length (an event is a few hundred bytes).
KEEP = 100
_STATE = TypeAdapter(WorkflowStreamState)


def prior_state(carried: dict[str, Any] | None) -> WorkflowStreamState | None:
    """The stream a continued run resumes (None for a new run, or one continued before streams)."""
    return None if carried is None else _STATE.validate_python(carried)


class RunEvents:
    def __init__(self, stream: WorkflowStream) -> None:
        self.stream = stream
        self.topic = stream.topic(EVENTS_TOPIC, type=RunEvent)

    def emit(self, kind: EventKind, step: int, **fields: Any) -> None:
        self.topic.publish(RunEvent.make(kind, workflow.now(), step, **fields))

    def release_followers(self) -> None:
        """Let waiting followers' polls return now: before continue-as-new (the run waits for every
        handler to finish, and a long poll would never let it) and before the run ends."""
        self.stream.detach_pollers()

    def checkpoint(self) -> dict[str, Any]:
        state = self.stream.get_state()
        end = state.base_offset + len(state.log)
        if end - state.base_offset > KEEP:
            self.stream.truncate(end - KEEP)
            state = self.stream.get_state()
        return _STATE.dump_python(state, mode="json")
