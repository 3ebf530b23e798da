"""Heartbeat while an activity waits, so Temporal can tell a slow call from a dead worker and can
deliver cancellation (a Python activity only learns it was cancelled through a heartbeat)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import timedelta
from typing import TypeVar

from temporalio import activity

T = TypeVar("T")


def heartbeat(*details: object) -> None:
    """activity.heartbeat, except in a local activity (a model marked `local_activity`): those have no
    heartbeats; the workflow task that runs them is what Temporal watches."""
    if not activity.info().is_local:
        activity.heartbeat(*details)


async def with_heartbeats(work: Awaitable[T], *details: object) -> T:
    """Await `work`, heartbeating every second or at a third of the heartbeat timeout if shorter."""
    if activity.info().is_local:
        return await work
    timeout = activity.info().heartbeat_timeout or timedelta(seconds=15)
    interval = max(min(timeout.total_seconds() / 3, 1.0), 0.1)
    task = asyncio.ensure_future(work)
    try:
        while True:
            # Wait first: a call that ends within the interval sends no heartbeat at all (each one is
            # an RPC to the server); a longer one heartbeats every interval, which is what the
            # heartbeat timeout and cancellation need.
            done, _ = await asyncio.wait({task}, timeout=interval)
            if done:
                return task.result()
            activity.heartbeat(*details)
    finally:
        # Reached on cancellation too: stop the underlying call instead of leaking it.
        if not task.done():
            task.cancel()
