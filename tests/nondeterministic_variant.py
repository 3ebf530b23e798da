"""A deliberately incompatible AgentRun, in its own module so the sandbox can load it cleanly."""

from __future__ import annotations

from pydantic import ValidationError
from temporalio import workflow

from workflows.agent_run import AgentRun
from workflows.contracts import RunRequest, RunResult, ToolSpec
from workflows.tool_steps import ToolSteps


class _WithoutToolListing(ToolSteps):
    async def load_tools(self) -> list[ToolSpec]:
        return []


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class AgentRunWithoutToolListing(AgentRun):
    """The tool list no longer comes from an activity: old histories must fail to replay."""

    tool_half = _WithoutToolListing

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        return await super().run(request)
