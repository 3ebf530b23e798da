"""Workflow sandbox configuration, in one place, with the reason for each pass-through."""

from __future__ import annotations

from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions


def workflow_runner() -> SandboxedWorkflowRunner:
    restrictions = SandboxRestrictions.default.with_passthrough_modules(
        "pydantic",  # pure data validation; re-importing it per workflow run costs ~100 ms
        "pydantic_core",  # compiled extension of pydantic: cannot be re-imported safely
        "workflows.contracts",  # every wire type and the pure helpers both sides use (one package)
        "cryptography",  # Ed25519 checks of signed approvals: pure functions over a compiled (Rust) extension
        # workflows/telemetry.py: the API's global tracer provider must be the worker's (replay-safe) one
        "opentelemetry",
    )
    return SandboxedWorkflowRunner(restrictions=restrictions)
