"""The approvers file: who may approve which tool calls, and the public key that proves it is them.

    # AGENT_APPROVERS_FILE (default: <data dir>/approvers.yaml)
    signed_from_risk: 3          # optional; approvals of calls at or above need a signature (0-3)
    approvers:
      alice:
        public_key: 9Dq0...=     # base64 raw Ed25519 public key (python -m worker.approve keygen)
        tenants: ["*"]           # optional; "*" = every tenant
        tools: ["*"]             # optional; "*" = every tool
        max_risk: 4              # optional; the highest risk level alice may approve

A run reads it once, through `approvals.load_approvers`, before its first approval, and keeps it in
history; the workflow checks signatures against that copy (workflows/approval_signatures.py). A missing
file is an empty list: risk 3-4 calls can then only be rejected or expire, never approved.
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator
from temporalio import activity

from activities.config_errors import load_yaml_model
from workflows.contracts import ApproverSpec, ApproversPolicy, LoadApproversInput


class _Approver(BaseModel):
    model_config = ConfigDict(extra="forbid")
    public_key: str
    tenants: list[str] = Field(default_factory=lambda: ["*"])
    tools: list[str] = Field(default_factory=lambda: ["*"])
    max_risk: int = Field(default=4, ge=0, le=4)

    @field_validator("public_key")
    @classmethod
    def _is_ed25519(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError("not base64") from None
        if len(raw) != 32:
            raise ValueError(f"an Ed25519 public key is 32 bytes, this one is {len(raw)}")
        return value


class _ApproversFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signed_from_risk: int = Field(default=3, ge=0, le=3)
    approvers: dict[str, _Approver] = Field(default_factory=dict)


class ApproversFileError(ValueError):
    pass


def load_approvers(path: Path) -> ApproversPolicy:
    if not path.exists():
        return ApproversPolicy(source=f"{path} (missing)")
    parsed = load_yaml_model(path, _ApproversFile, ApproversFileError, empty={})
    approvers = [ApproverSpec(name=name, **entry.model_dump()) for name, entry in sorted(parsed.approvers.items())]
    return ApproversPolicy(approvers=approvers, signed_from_risk=parsed.signed_from_risk, source=str(path))


class ApproverActivities:
    """Reads the file on every call, so an edited file reaches the next run without a worker restart."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @activity.defn(name="approvals.load_approvers")
    def load(self, input: LoadApproversInput = LoadApproversInput()) -> ApproversPolicy:
        return load_approvers(self.path)
