"""Test-only tools for the multi-host tests, loaded into real workers with AGENT_TOOL_MODULES.

`note` appends a line to a workspace file and `read_note` reads it back (the files a run writes and
reads across steps, on whichever worker serves the step). `ship` is the outside-world effect: one line
in the file named by AGENT_TEST_EFFECTS_FILE, shared by every worker on the machine, so a test counts
duplicates and losses as the world would. All are quick to time out (heartbeats every 0.2 s), so a
SIGKILLed worker's attempt is retried within seconds.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from pydantic import Field

from activities.tools.registry import ToolArgs, ToolContext, tool
from activities.tools.workspace_files import AppendFileArgs, ReadFileArgs, append_file, read_file

_LOCK = threading.Lock()


class ShipArgs(ToolArgs):
    label: str = Field(description="what was shipped")


def _effects() -> Path:
    return Path(os.environ["AGENT_TEST_EFFECTS_FILE"])


def _ship(ctx: ToolContext, args: ShipArgs) -> dict:
    ctx.save_pre_state({"label": args.label})
    time.sleep(0.2)  # a window for a kill before the effect
    with _LOCK, _effects().open("a") as f:
        f.write(f"{args.label}\n")
        f.flush()
        os.fsync(f.fileno())
    time.sleep(0.2)  # and one after it, before the receipt
    return {"shipped": args.label}


def _ship_reconcile(ctx: ToolContext, args: ShipArgs, pre_state: dict) -> dict | None:
    path = _effects()
    lines = path.read_text().splitlines() if path.exists() else []
    return {"shipped": args.label} if args.label in lines else None


def _note(ctx: ToolContext, args: AppendFileArgs) -> dict:
    time.sleep(0.1)
    return append_file.handler(ctx, args)


ship = tool(name="ship", description="Ship an order (an effect outside the workspace).", risk_level=1,
            idempotency="keyed", timeout_s=20, heartbeat_timeout_s=2, reconcile=_ship_reconcile)(_ship)
note = tool(name="note", description="Append a line to a workspace file.", risk_level=1, idempotency="keyed",
            timeout_s=20, heartbeat_timeout_s=2, reconcile=append_file.reconcile)(_note)


def _read_note(ctx: ToolContext, args: ReadFileArgs) -> dict:
    return read_file.handler(ctx, args)


read_note = tool(name="read_note", description="Read a workspace file.", risk_level=0, idempotency="idempotent",
                 timeout_s=20, heartbeat_timeout_s=2)(_read_note)

TOOLS = [ship, note, read_note]
