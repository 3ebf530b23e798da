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


@activity.defn(name="bench.echo_transcript")
async def echo_transcript(transcript: list[str]) -> str:
    """Stands in for a model call that receives the whole transcript, as by-value designs do."""
    return "x" * 2048


@workflow.defn(name="ByValueLoop")
class ByValueLoop:
    """The by-value design, for comparison: every step sends the whole transcript to an activity."""

    @workflow.run
    async def run(self, steps: int) -> int:
        transcript: list[str] = []
        for _ in range(steps):
            transcript.append(await workflow.execute_activity(
                "bench.echo_transcript", transcript, start_to_close_timeout=timedelta(seconds=30), result_type=str))
        return len(transcript)


TWO_KB = "y" * 2048


@activity.defn(name="bench.two_kb")
async def two_kb() -> str:
    """Stands in for a tool call with a 2 KB result."""
    return TWO_KB


@workflow.defn(name="RawToolLoop")
class RawToolLoop:
    """The raw loop of the step-overhead benchmark: one activity per tool call, a 2 KB result each."""

    @workflow.run
    async def run(self, count: int) -> int:
        for _ in range(count):
            await workflow.execute_activity("bench.two_kb", start_to_close_timeout=timedelta(seconds=30),
                                            result_type=str)
        return count
