"""One subscription to a run's event stream per API replica, shared by every client that follows the run.

A Workflow Streams subscriber long-polls with an update, and every accepted update is written to the
run's history. Were each SSE client to poll for itself, a run watched by fifty browsers would grow its
history fifty times as fast and wake its workflow fifty times per batch. So a replica polls once per
run and hands each client the events after the id it asked for, from the feed's memory: a client that
reconnects with Last-Event-ID is served from the same log, exactly once and in order.

A feed lives while someone follows the run; it keeps the run's events from the oldest the stream still
holds (a run's events are a few hundred bytes each) and ends after the `result` event.
"""

from __future__ import annotations

import asyncio
import bisect
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from temporalio.client import Client
from temporalio.contrib.workflow_streams import WorkflowStreamClient

from workflows.contracts import EVENTS_TOPIC, RunEvent


class RunFeed:
    def __init__(self, client: Client, run_id: str) -> None:
        self.offsets: list[int] = []
        self.events: list[RunEvent] = []
        self.ended = False
        self.error: BaseException | None = None
        self.followers = 0
        self._changed = asyncio.Condition()
        self._task = asyncio.create_task(self._pump(client, run_id))

    async def _pump(self, client: Client, run_id: str) -> None:
        try:
            stream = WorkflowStreamClient.create(client, run_id)
            async for item in stream.subscribe([EVENTS_TOPIC], from_offset=0, result_type=RunEvent):
                async with self._changed:
                    self.offsets.append(item.offset)
                    self.events.append(item.data)
                    self._changed.notify_all()
                if item.data.kind == "result":
                    break
        except Exception as e:  # the followers' streams end with it; their clients reconnect to a new feed
            self.error = e
        finally:
            async with self._changed:
                self.ended = True
                self._changed.notify_all()

    async def after(self, start: int, idle_s: float | None = None) -> AsyncIterator[tuple[int, RunEvent] | None]:
        """Every event at offset `start` or later, as they come; ends after the run's last event. With
        `idle_s`, None comes after each `idle_s` without an event (the caller checks what it must)."""
        at = 0
        while True:
            async with self._changed:
                try:
                    async with asyncio.timeout(idle_s):
                        await self._changed.wait_for(lambda: len(self.events) > at or self.ended)
                except TimeoutError:
                    batch = None
                else:
                    # Offsets only grow: where `start` falls among those known, the first time it is known.
                    at = max(at, bisect.bisect_left(self.offsets, start))
                    batch = list(zip(self.offsets[at:], self.events[at:], strict=True))
            if batch is None:
                yield None
                continue
            for item in batch:
                yield item
            at += len(batch)
            if not batch and self.ended:
                return

    def close(self) -> None:
        self._task.cancel()


class Feeds:
    """The replica's feeds, one per run followed now."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._feeds: dict[str, RunFeed] = {}
        self.subscriptions = 0  # stream subscriptions opened: one per run followed, not one per client

    @asynccontextmanager
    async def follow(self, run_id: str) -> AsyncIterator[RunFeed]:
        feed = self._feeds.get(run_id)
        if feed is None or feed.error is not None:
            feed = self._feeds[run_id] = RunFeed(self.client, run_id)
            self.subscriptions += 1
        feed.followers += 1
        try:
            yield feed
        finally:
            feed.followers -= 1
            if feed.followers == 0 and self._feeds.get(run_id) is feed:
                del self._feeds[run_id]
                feed.close()
