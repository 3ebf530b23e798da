"""Test-only tools for the conformance runs: an addition whose result carries a bulky ledger (in the
script the run asks for, so one message can be far off any estimate), and an effect in the outside
world that a test counts: one line per effect in EFFECTS["file"], or in the file named by
AGENT_TEST_EFFECTS_FILE for a worker in its own process."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel

from activities.tools.registry import ToolContext, tool

EFFECTS: dict[str, Path] = {}
# Each script is far from bytes / 4 in its own way on a BPE vocabulary (docs/context.md): numbers cost a
# token a digit or three, CJK about one per character, plain English about what the estimate says.
LEDGER_LINES = {
    "digits": lambda i, k: json.dumps({"row": k, "debit": 1000003 * (i + 7) + k, "credit": 7000001 * k + i}),
    "cjk": lambda i, k: f"第{i}步第{k}行：持久化代理引擎记录了这笔款项，等待人工批准后才会付款。",
    "latin": lambda i, k: f"step {i} line {k}: the durable engine recorded the amount and waits for approval.",
}


class AddArgs(BaseModel):
    a: int
    b: int
    ledger: Literal["digits", "cjk", "latin"] = "latin"
    lines: int = 20


@tool(name="add", description="Add two integers; the result carries the ledger of the addition.", risk_level=0,
      idempotency="idempotent")
def add(ctx: ToolContext, args: AddArgs) -> dict:
    line = LEDGER_LINES[args.ledger]
    return {"sum": args.a + args.b, "ledger": "\n".join(line(args.b, k) for k in range(args.lines))}


class RecordArgs(BaseModel):
    label: str


@tool(name="record_total", description="Record the total in the books (an irreversible effect).", risk_level=1,
      idempotency="not_idempotent")
def record_total(ctx: ToolContext, args: RecordArgs) -> dict:
    with _effects_file().open("a") as f:
        f.write(f"{args.label}\n")
    return {"recorded": args.label}


def _effects_file() -> Path:
    return EFFECTS.get("file") or Path(os.environ["AGENT_TEST_EFFECTS_FILE"])


def effects() -> list[str]:
    path = _effects_file()
    return path.read_text().splitlines() if path.exists() else []


TOOLS = [add, record_total]
