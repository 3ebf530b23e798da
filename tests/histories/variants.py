"""AgentRun variants that each change the commands of one guarded path, for tests/test_replay.py.

The history recorded for that path (tests/histories/record.py) must fail to replay on its variant: it
proves the history really goes down the path, so a re-recorded scenario that stops reaching it is
caught. Kept in their own module so the workflow sandbox loads them cleanly.
"""

from __future__ import annotations

import asyncio

from pydantic import ValidationError
from temporalio import workflow
from temporalio.exceptions import ActivityError

from workflows import calls
from workflows.agent_run import AgentRun
from workflows.contracts import DecideResult, ModelInfo, RunRequest, RunResult, ToolCall, ToolResult, ToolSpec
from workflows.model_steps import ModelSteps
from workflows.run import Run
from workflows.tool_steps import ToolSteps


class _IgnoringLateCancel(Run):
    def raise_if_cancel_requested(self) -> None:
        return None


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class IgnoresLateCancel(AgentRun):
    """A model call that completes after the cancel lets the run go on."""

    state_type = _IgnoringLateCancel

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        return await super().run(request)


class _GuessingUnknownOutcomes(ToolSteps):
    async def _resolve_unknown(self, call: ToolCall, spec: ToolSpec, key: str, result: ToolResult) -> ToolResult:
        return result


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class GuessesUnknownOutcomes(AgentRun):
    """An unknown outcome goes back to the model instead of waiting for a person."""

    tool_half = _GuessingUnknownOutcomes

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        return await super().run(request)


class _NeverFallingBack(ModelSteps):
    async def _call_model_by_ref(self, model: ModelInfo, kind: str) -> DecideResult:
        try:
            return await super()._call_model_by_ref(model, kind)
        except ActivityError:
            self.run.fail(f"{model.name} failed")


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class NeverFallsBack(AgentRun):
    """A failed model call fails the run instead of trying the route's next model."""

    model_half = _NeverFallingBack

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        return await super().run(request)


class _NeverCompacting(ModelSteps):
    async def _compact(self, start: int, end: int, pending: object) -> None:
        return None


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class NeverCompacts(AgentRun):
    """A prompt past the threshold, or one that does not fit, is never summarized."""

    model_half = _NeverCompacting

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        return await super().run(request)


class _WaitingAfterExpiry(ToolSteps):
    async def _approval(self, call: ToolCall, key: str, reason: str, signature_required: bool = False):
        decided = await super()._approval(call, key, reason, signature_required)
        if isinstance(decided, ToolResult) and decided.error_type == "approval_expired":
            await workflow.sleep(1)
        return decided


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class WaitsAfterExpiry(AgentRun):
    """A grace period after an approval expires: one more timer, on the expiry path only."""

    tool_half = _WaitingAfterExpiry

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        return await super().run(request)


class _SkippingEditedProposal(ToolSteps):
    async def _ledger(self, stub, input):
        if stub is calls.PROPOSE_CALL and "~" in input.idempotency_key:
            return None
        return await super()._ledger(stub, input)


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class SkipsEditedProposal(AgentRun):
    """The edited call is approved in the ledger without being proposed there first."""

    tool_half = _SkippingEditedProposal

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        return await super().run(request)


class _AskingOneAtATime(ToolSteps):
    async def _approval(self, call: ToolCall, key: str, reason: str, signature_required: bool = False):
        if not hasattr(self, "_one_at_a_time"):
            self._one_at_a_time = asyncio.Lock()
        async with self._one_at_a_time:
            return await super()._approval(call, key, reason, signature_required)


@workflow.defn(name="AgentRun", failure_exception_types=[ValidationError])
class AsksOneAtATime(AgentRun):
    """A step's approvals are asked one after another instead of together (so approve_all sees one)."""

    tool_half = _AskingOneAtATime

    @workflow.run
    async def run(self, request: RunRequest) -> RunResult:
        return await super().run(request)
