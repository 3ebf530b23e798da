"""The decisions people send a run: approve, approve_all, reject, resolve_outcome (updates, with
validators that refuse with a reason) and the approve/reject signals (which cannot be refused, so a bad
one is logged and dropped). A base of AgentRun, since handlers must be methods of the workflow class;
they read and write only the run's state (`run_state`, workflows/run.py): its approvals, the approvers
file it loaded, its request and its approval scope.

Signatures are checked in the validators and in the signal handlers, against workflow.now(); update
handlers apply what their validator accepted without checking again, so replaying an update never
depends on the crypto, only on the recorded input.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NoReturn, TypeVar

from pydantic import BaseModel
from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.approval_signatures import Verdict, check_approval
from workflows.contracts import (
    ApproveAllInput,
    ApproveInput,
    PendingApproval,
    RejectInput,
    ResolveOutcomeInput,
)
from workflows.run import Run

T = TypeVar("T", bound=BaseModel)


def _refuse(problem: str) -> NoReturn:
    """Refuse an update with a reason a person reads; non-retryable, since sending it again cannot help."""
    raise ApplicationError(problem, type="UpdateRefused", non_retryable=True)


def _given(input: T | None, update: str, model: type[T]) -> T:
    """The update's input. One sent without --input gets the fields it needs, not the SDK's TypeError
    (in the validator; the handler runs only after it accepted)."""
    if input is None:
        required = [name for name, field in model.model_fields.items() if field.is_required()]
        needs = f"with {', '.join(required)}" if required else "(a JSON object)"
        _refuse(f"{update} needs an input {needs}: --input '{{...}}'")
    return input



class ApprovalHandlers:
    run_state: Run

    def _check_approve(self, input: ApproveInput) -> Verdict:
        """Pure over the input, the run's state, workflow id and workflow.now(): the validator and the
        signal handler (which runs again on replay) reach the same verdict every time."""
        if problem := self.run_state.approvals.problem_with(input.tool_call_id):
            return Verdict(problem)
        return self._check_signed([(self.run_state.approvals.pending[input.tool_call_id], input.arguments)], input.approver,
                                  input.expires_at, input.signature, input.proof)

    def _check_approve_all(self, input: ApproveAllInput) -> Verdict:
        ids = self.run_state.approvals.undecided()
        if not ids:
            return Verdict("no pending approvals in this run")
        if input.tool_call_ids is not None and sorted(input.tool_call_ids) != ids:
            return Verdict(f"the pending calls changed since this approval was made: it names "
                           f"{sorted(input.tool_call_ids)}, pending now {ids}; approve again")
        if input.signature is not None and input.tool_call_ids is None:
            return Verdict("a signed approve_all must list the tool_call_ids its signature covers")
        return self._check_signed([(self.run_state.approvals.pending[i], None) for i in ids], input.approver,
                                  input.expires_at, input.signature)

    def _check_signed(self, calls: list[tuple[PendingApproval, dict[str, Any] | None]], approver: str,
                      expires_at: datetime | None, signature: str | None, proof: str | None = None) -> Verdict:
        return check_approval(
            self.run_state.saved.approvers, calls, workflow_id=self.run_state.approval_scope, tenant_id=self.run_state.request.tenant_id,
            requester=self.run_state.request.user_id, approver=approver, expires_at=expires_at, signature=signature,
            now=workflow.now(), proof=proof,
        )

    def _signed(self, signature: str | None) -> bool:
        """Whether an accepted decision was proven by a signature. Handlers run only after the validator
        (or the signal's own check) accepted it, so they apply it without verifying again: replay never
        depends on the crypto, only on the recorded input."""
        return self.run_state.saved.approvers is not None and signature is not None

    @workflow.update(name="approve")
    def approve(self, input: ApproveInput | None = None) -> str:
        return self._apply_approve(_given(input, "approve", ApproveInput))

    def _apply_approve(self, input: ApproveInput) -> str:
        verified = self._signed(input.signature)
        self.run_state.approvals.decide(input.tool_call_id, "approved", input.approver, workflow.now(), input.comment,
                              edited_arguments=input.arguments, verified=verified, proof=input.proof)
        edited = " with edited arguments" if input.arguments is not None else ""
        signed = f" as verified approver {input.approver!r}" if verified else ""
        return f"approved {input.tool_call_id}{edited}{signed}"

    @approve.validator
    def _validate_approve(self, input: ApproveInput | None = None) -> None:
        if problem := self._check_approve(_given(input, "approve", ApproveInput)).problem:
            _refuse(problem)

    @workflow.update(name="approve_all")
    def approve_all(self, input: ApproveAllInput | None = None) -> list[str]:
        input = _given(input, "approve_all", ApproveAllInput)
        ids = self.run_state.approvals.undecided()
        for tool_call_id in ids:
            self.run_state.approvals.decide(tool_call_id, "approved", input.approver, workflow.now(), input.comment,
                                  verified=self._signed(input.signature))
        return ids

    @approve_all.validator
    def _validate_approve_all(self, input: ApproveAllInput | None = None) -> None:
        if problem := self._check_approve_all(_given(input, "approve_all", ApproveAllInput)).problem:
            _refuse(problem)

    @workflow.update(name="resolve_outcome")
    def resolve_outcome(self, input: ResolveOutcomeInput | None = None) -> str:
        input = _given(input, "resolve_outcome", ResolveOutcomeInput)
        self.run_state.approvals.resolutions[input.tool_call_id] = input
        return f"{input.decision} recorded for {input.tool_call_id}"

    @resolve_outcome.validator
    def _validate_resolve_outcome(self, input: ResolveOutcomeInput | None = None) -> None:
        input = _given(input, "resolve_outcome", ResolveOutcomeInput)
        if problem := self.run_state.approvals.problem_with_resolution(input.tool_call_id):
            _refuse(problem)

    @workflow.update(name="reject")
    def reject(self, input: RejectInput | None = None) -> str:
        return self._apply_reject(_given(input, "reject", RejectInput))

    def _apply_reject(self, input: RejectInput) -> str:
        self.run_state.approvals.decide(input.tool_call_id, "rejected", input.approver, workflow.now(), input.comment,
                                        proof=input.proof)
        return f"rejected {input.tool_call_id}"

    @reject.validator
    def _validate_reject(self, input: RejectInput | None = None) -> None:
        input = _given(input, "reject", RejectInput)
        if problem := self.run_state.approvals.problem_with(input.tool_call_id):
            _refuse(problem)

    # Fire-and-forget twins of the updates: a signal cannot be refused, so a bad id is only logged.
    # An approve signal gets the validator's checks here: unsigned or badly signed, it is ignored.
    @workflow.signal(name="approve")
    def approve_signal(self, input: ApproveInput | None = None) -> None:
        if input is None:
            workflow.logger.warning("%s signal ignored: it carries no input", "approve")
            return
        if problem := self._check_approve(input).problem:
            workflow.logger.warning("approve signal ignored: %s", problem)
            return
        self._apply_approve(input)

    @workflow.signal(name="reject")
    def reject_signal(self, input: RejectInput | None = None) -> None:
        if input is None:
            workflow.logger.warning("%s signal ignored: it carries no input", "reject")
            return
        if problem := self.run_state.approvals.problem_with(input.tool_call_id):
            workflow.logger.warning("reject signal ignored: %s", problem)
            return
        self._apply_reject(input)
