"""`up`'s progress display survives a failed state query and still reports the run's end."""

from __future__ import annotations

from temporalio.client import WorkflowQueryFailedError

from worker import demo
from workflows.contracts import Budgets, RunResult, RunState, RunStatus, RunUsage


class FlakyHandle:
    """A run whose first state queries fail, as they do while its workflow task is failing."""

    id = "demo-1"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.queries = 0

    async def query(self, _query: object) -> RunState:
        self.queries += 1
        if self.queries <= self.failures:
            raise WorkflowQueryFailedError("Workflow Task in failed state")
        result = RunResult(status=RunStatus.COMPLETED, answer="done", steps=1, usage=RunUsage())
        return RunState(status=RunStatus.COMPLETED, step=1, goal="g", tenant_id="default", last_action="final answer",
                        pending_approvals=[], usage=RunUsage(), budgets=Budgets(), approvals=[], result=result)


async def test_failed_queries_are_reported_once_and_the_watch_goes_on(capsys) -> None:
    """Three failed queries print one line, and the watch goes on to report the run's end."""
    handle = FlakyHandle(failures=3)
    await demo.watch(handle, "temporal", demo.Stack(), poll_s=0)
    out = capsys.readouterr().out
    assert out.count("state query failed (retrying): Workflow Task in failed state") == 1
    assert "Run demo-1 completed: done" in out and handle.queries == 4
