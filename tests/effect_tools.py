"""Test-only tools whose effect lands outside any workspace, so a test counts effects as the outside
world would see them: one line per effect in EFFECTS["file"], set by the test before the worker runs.

`hung_effect` blocks on a gate the test opens, then acts: a tool that hangs past its timeout.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pydantic import BaseModel

from activities.tools.registry import ToolContext, tool

EFFECTS: dict[str, Path] = {}
GATES: dict[str, threading.Event] = {}


class EffectArgs(BaseModel):
    label: str


def _act(ctx: ToolContext, label: str) -> dict:
    with EFFECTS["file"].open("a") as f:
        f.write(f"{label}\n")
    return {"done": label}


def effect_lines() -> list[str]:
    path = EFFECTS["file"]
    return path.read_text().splitlines() if path.exists() else []


@tool(name="record_effect", description="An irreversible effect in the outside world.", risk_level=1,
      idempotency="not_idempotent")
def record_effect(ctx: ToolContext, args: EffectArgs) -> dict:
    return _act(ctx, args.label)


def _hung(ctx: ToolContext, args: EffectArgs) -> dict:
    GATES.setdefault(args.label, threading.Event()).wait(120)
    return _act(ctx, args.label)


def _hung_reconcile(ctx: ToolContext, args: EffectArgs, pre_state: dict) -> dict | None:
    return {"done": args.label} if args.label in effect_lines() else None


hung_keyed = tool(name="hung_keyed", description="A keyed effect that hangs until the test opens its gate.",
                  risk_level=1, idempotency="keyed", timeout_s=3, reconcile=_hung_reconcile)(_hung)
hung_once = tool(name="hung_once", description="A not-idempotent effect that hangs until the test opens its gate.",
                 risk_level=1, idempotency="not_idempotent", timeout_s=3)(_hung)

TOOLS = [record_effect, hung_keyed, hung_once]
