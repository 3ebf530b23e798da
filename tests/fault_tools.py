"""Test-only effect tools for the fault matrix (tests/benchmarks/fault_matrix.py), loaded into real
worker processes with AGENT_TOOL_MODULES.

Every effect appends one line, its label, to the file named by FAULT_EFFECTS_FILE: outside every
workspace and shared by all worker processes, so the matrix counts duplicates and missing effects
the way the outside world would see them, across SIGKILLs and restarts.

- `fault_effect`: a keyed effect; its reconcile looks for the label in the effects file.
- `fault_hung`: the same effect, but it runs past its own timeout_s (its thread cannot be stopped):
  it sleeps, acts, then sleeps again before returning. The retry must wait for the lease instead of
  acting a second time; a kill before the effect must lead to one re-run, a kill after it (effect
  done, no receipt) to reconcile finding it.
- `fault_once`, `fault_once_hung`: the same two, not idempotent; an interrupted call must end as
  outcome_unknown, for a person, never run again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from pydantic import BaseModel

from activities.tools.registry import ToolContext, tool

EFFECTS_ENV = "FAULT_EFFECTS_FILE"
HUNG_TIMEOUT_S = 2.0
# 3.5 s in all, past the activity's timeout: the retry starts while this still runs.
HUNG_BEFORE_S, HUNG_AFTER_S = 1.0, 2.5


class FaultArgs(BaseModel):
    label: str


def effects_file() -> Path:
    return Path(os.environ[EFFECTS_ENV])


def effect_lines(path: Path | None = None) -> list[str]:
    path = path or effects_file()
    return path.read_text().splitlines() if path.exists() else []


def _act(ctx: ToolContext, label: str) -> dict:
    # One O_APPEND write per effect, fsynced: lines from concurrent processes never interleave, and a
    # line the tool reported is on disk before the receipt says so.
    fd = os.open(effects_file(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, f"{label}\n".encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"done": label}


def _reconcile(ctx: ToolContext, args: FaultArgs, pre_state: dict) -> dict | None:
    return {"done": args.label} if args.label in effect_lines() else None


def _now(ctx: ToolContext, args: FaultArgs) -> dict:
    return _act(ctx, args.label)


def _hung(ctx: ToolContext, args: FaultArgs) -> dict:
    time.sleep(HUNG_BEFORE_S)
    done = _act(ctx, args.label)
    time.sleep(HUNG_AFTER_S)
    return done


fault_effect = tool(name="fault_effect", description="A keyed effect in the outside world.", risk_level=1,
                    idempotency="keyed", reconcile=_reconcile)(_now)
fault_hung = tool(name="fault_hung", description="A keyed effect that hangs past its timeout before acting.",
                  risk_level=1, idempotency="keyed", timeout_s=HUNG_TIMEOUT_S, reconcile=_reconcile)(_hung)
fault_once = tool(name="fault_once", description="A not-idempotent effect in the outside world.", risk_level=1,
                  idempotency="not_idempotent")(_now)
fault_once_hung = tool(name="fault_once_hung", description="A not-idempotent effect that hangs past its timeout.",
                       risk_level=1, idempotency="not_idempotent", timeout_s=HUNG_TIMEOUT_S)(_hung)

TOOLS = [fault_effect, fault_hung, fault_once, fault_once_hung]
