"""The two bases of every wire type, and the encodings both sides of the wire compute alike.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

TASK_QUEUE = "agents"
WORKFLOW_TYPE = "AgentRun"


class Wire(BaseModel):
    # Between workflow and activities unknown keys are ignored: during a rolling deploy or a rollback a
    # worker one release ahead or behind adds or lacks optional fields, and that must never fail a run.
    # A new field therefore always has a default. (worker/converter.py turns any other shape error into
    # a retried workflow task, so a run stalls at worst.)
    model_config = ConfigDict(extra="ignore")


class UserInput(Wire):
    # What people type (`temporal workflow start --input`, update and signal inputs): a typo or an
    # unknown key fails loudly instead of being dropped.
    model_config = ConfigDict(extra="forbid")


def canonical_json(value: Any) -> str:
    """Serialize so equal values give equal bytes (sorted keys, no whitespace)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def blob_digest(data: bytes | str) -> str:
    """A blob's name in the blob store: the sha256 of its bytes (text as UTF-8). The workflow computes
    it for what it knows the store holds, the stores for what they write."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def arguments_hash(arguments: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(arguments).encode()).hexdigest()


DataClass = Literal["public", "internal", "confidential"]
StepKind = Literal["plan", "act", "summarize"]
ProviderKind = Literal["openai", "anthropic", "sglang", "vllm", "llamacpp"]
