"""A model reply as it is written: the provider's text, published from the model activity on the run's
event stream as `model_tokens` events (workflows/contracts/events.py), for runs that asked for it
(RunRequest.stream_tokens).

Each publish from an activity is a signal to the run's workflow, that is history events and a workflow
task, not the free in-memory append of the workflow's own events. So the text is gathered and sent at
most once every INTERVAL_S, as one signal whatever the model's speed, and cut into events of at most
MAX_CHARS characters, which bounds an event and the KEEP events that continue-as-new carries
(workflows/run_events.py). The stream is a view of the call, never part of it: a failure to publish is
logged, the rest of the text is dropped, and the call goes on.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import structlog
from temporalio import activity
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from workflows.contracts import EVENTS_TOPIC, EventKind, RunEvent

log = structlog.get_logger(__name__)

# At most two signals a second per running model call: a reader sees the reply grow smoothly, and a
# long reply adds a few history events a second, not one per token.
INTERVAL_S = 0.5
# One event's text: a fast model writes a few hundred characters in INTERVAL_S, so a batch is usually
# one event; a burst (a server that buffers) becomes several events of the same signal.
MAX_CHARS = 1000
# How long the end of a call waits for its last batch to reach the workflow before giving it up.
CLOSE_TIMEOUT_S = 5.0


class TokenBatcher:
    """The text gathered since the last batch, handed out in pieces of at most `max_chars`."""

    def __init__(self, max_chars: int = MAX_CHARS) -> None:
        if max_chars < 1:
            raise ValueError("max_chars must be at least 1")
        self.max_chars = max_chars
        self._parts: list[str] = []

    def add(self, text: str) -> None:
        self._parts.append(text)

    def clear(self) -> None:
        self._parts.clear()

    def take(self) -> list[str]:
        text = "".join(self._parts)
        self._parts.clear()
        return [text[i:i + self.max_chars] for i in range(0, len(text), self.max_chars)]


class TokenStream:
    """The token events of one model activity attempt. `text` takes each delta from the provider (it
    only appends, so it never blocks nor raises there); a task sends what was gathered every
    `interval_s`, one signal at a time."""

    def __init__(self, client: WorkflowStreamClient, *, model: str, step: int, attempt: int,
                 interval_s: float = INTERVAL_S, max_chars: int = MAX_CHARS) -> None:
        self.client = client
        self.topic = client.topic(EVENTS_TOPIC, type=RunEvent)
        self.model, self.step, self.attempt = model, step, attempt
        self.interval_s = interval_s
        self.batcher = TokenBatcher(max_chars)
        self.repair = 0
        self.failed = False
        self._task: asyncio.Task[None] | None = None

    def text(self, delta: str) -> None:
        if not self.failed:
            self.batcher.add(delta)

    def begin(self, repair: int) -> None:
        """A reply starts. After an invalid one (a repair) or in a retried attempt, the text followers
        have of this step is void: say so first, with a model_retry event."""
        self.repair = repair
        if repair > 0 or self.attempt > 1:
            self.batcher.clear()
            self._publish("model_retry")

    def start(self) -> None:
        self._task = asyncio.create_task(self._send_every_interval())

    async def close(self, flush: bool) -> None:
        """Stop sending; with `flush`, send the rest first (within CLOSE_TIMEOUT_S), so the reply's last
        words reach followers before the step's later events do."""
        if self._task is not None:
            self._task.cancel()
            # wait, not await: how the task ended is not ours to raise, and a cancel of this activity
            # that arrives meanwhile must not be swallowed with the task's own.
            await asyncio.wait({self._task})
        if flush and not self.failed:
            self._publish_batch()
            await self._send(timeout_s=CLOSE_TIMEOUT_S)

    async def _send_every_interval(self) -> None:
        while not self.failed:
            await asyncio.sleep(self.interval_s)
            self._publish_batch()
            await self._send()

    def _publish_batch(self) -> None:
        for piece in self.batcher.take():
            self._publish("model_tokens", text=piece)

    def _publish(self, kind: EventKind, text: str | None = None) -> None:
        if self.failed:
            return
        # The worker's clock: an activity has no workflow time. Followers order events by offset.
        self.topic.publish(RunEvent.make(kind, datetime.now(UTC), self.step, model=self.model, attempt=self.attempt,
                                         repair=self.repair, text=text))

    async def _send(self, timeout_s: float | None = None) -> None:
        """Signal what was published. The client already retried a failed RPC, so a failure here is
        lasting (the run ended, the server refuses): stop streaming this attempt."""
        if self.failed:
            return
        try:
            await asyncio.wait_for(self.client.flush(), timeout_s)
        except Exception as e:
            self.failed = True
            self.batcher.clear()
            log.warning("model.tokens_not_published", model=self.model, step=self.step, error=repr(e))


@asynccontextmanager
async def token_stream(step: int | None, model: str) -> AsyncIterator[TokenStream | None]:
    """The stream for this activity's reply, or None when the run did not ask for one (`step` None)
    or the stream cannot be reached from here; either way the model call is made the same."""
    if step is None:
        yield None
        return
    try:
        client = WorkflowStreamClient.from_within_activity()
        stream = TokenStream(client, model=model, step=step, attempt=activity.info().attempt)
    except Exception as e:  # no parent workflow or no client (a test environment): no stream
        log.warning("model.tokens_not_published", model=model, step=step, error=repr(e))
        yield None
        return
    stream.start()
    try:
        yield stream
    except BaseException:
        # The call failed or was cancelled: its partial text is void (a retry says model_retry), and
        # a cancelled activity must not wait on the server.
        await stream.close(flush=False)
        raise
    await stream.close(flush=True)
