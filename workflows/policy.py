"""Tool policy, decided in workflow code so every decision is an event in the run's history."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from workflows.contracts import RunRequest, ToolSpec


@dataclass(frozen=True)
class Verdict:
    action: Literal["run", "ask", "deny"]
    reason: str


# External side effects and irreversible actions always wait for a person, whatever a run asks for:
# a run's input (or anything the model reads) must not be able to waive that.
ALWAYS_ASK_FROM_RISK = 3


def judge(
    spec: ToolSpec | None, tool_name: str, request: RunRequest, tenant_allowed: list[str] | None = None
) -> Verdict:
    if tenant_allowed is not None and tool_name not in tenant_allowed:
        return Verdict("deny", f"tool {tool_name!r} is not allowed for tenant {request.tenant_id!r}")
    if request.allowed_tools is not None and tool_name not in request.allowed_tools:
        return Verdict("deny", f"tool {tool_name!r} is not in this run's allowed_tools {request.allowed_tools}")
    if spec is None:
        return Verdict("deny", f"unknown tool {tool_name!r}")
    if spec.risk_level >= ALWAYS_ASK_FROM_RISK:
        return Verdict("ask", f"risk level {spec.risk_level} (external side effect or irreversible) always needs approval")
    if spec.approval == "always":
        return Verdict("ask", f"tool {spec.name!r} declares that every call needs approval")
    if spec.risk_level >= request.approval_risk_level:
        return Verdict(
            "ask",
            f"risk level {spec.risk_level} is at or above the run's approval threshold {request.approval_risk_level}",
        )
    return Verdict("run", f"risk level {spec.risk_level} is below the approval threshold")


def argument_problem(spec: ToolSpec, arguments: dict) -> str | None:
    """What the tool's own schema refuses before anything runs: unknown fields (where the schema says
    `additionalProperties: false`) and missing required ones. Pure, so it runs in workflow code; the
    activity still validates the full schema."""
    schema = spec.parameters or {}
    properties = schema.get("properties") or {}
    problems = []
    if schema.get("additionalProperties") is False and (unknown := sorted(set(arguments) - set(properties))):
        problems.append(f"{', '.join(unknown)}: extra inputs are not permitted")
    if missing := sorted(set(schema.get("required") or []) - set(arguments)):
        problems.append(f"{', '.join(missing)}: field required")
    return f"invalid arguments for {spec.name}: " + "; ".join(problems) if problems else None
