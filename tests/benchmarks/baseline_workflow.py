"""The baseline for the step benchmark: N sequential no-op activities in one workflow."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench.noop")
async def noop() -> None:
    return None


@workflow.defn(name="RawRoundTrips")
class RawRoundTrips:
    @workflow.run
    async def run(self, count: int) -> int:
        for _ in range(count):
            await workflow.execute_activity("bench.noop", start_to_close_timeout=timedelta(seconds=30))
        return count
