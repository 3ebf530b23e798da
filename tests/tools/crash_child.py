"""A process that runs one `tools.execute` of a not-idempotent tool and then waits to be SIGKILLed.

`python -m tests.tools.crash_child LEDGER WORKSPACES GATE`. GATE `after_effect`: the tool charges (one
line in charges.txt), marks `effect-applied`, and blocks: killed between the side effect and the
activity's completion. GATE `after_finish`: the activity completes (receipt recorded), the process
marks `finished` and blocks: killed before the workflow could record the result.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

from pydantic import BaseModel
from temporalio.testing import ActivityEnvironment

from activities.ledger import open_ledger
from activities.tools.execute import ToolActivities
from activities.tools.registry import ToolContext, ToolRegistry, tool
from activities.tools.workspaces import workspace_dir
from tests.tools.helpers import call_input

GATE = {"value": ""}


class ChargeArgs(BaseModel):
    amount: int


@tool(name="charge_card", description="Charge a card (test double with a countable effect).", risk_level=3,
      idempotency="not_idempotent")
def charge_card(ctx: ToolContext, args: ChargeArgs) -> dict:
    with (ctx.workspace / "charges.txt").open("a") as f:
        f.write(f"{args.amount}\n")
    (ctx.workspace / "effect-applied").touch()
    if GATE["value"] == "after_effect":
        threading.Event().wait()  # hold here until the test kills the process
    return {"charged": args.amount}


def charge_call():
    return call_input("charge_card", amount=42)


async def main(ledger: str, workspaces: str, gate: str) -> None:
    GATE["value"] = gate
    # A short lease: the test retries right after the kill, and waits for the dead attempt's lease to end.
    tools = ToolActivities(ToolRegistry([charge_card]), open_ledger(ledger), Path(workspaces), lease_s=1.0)
    await ActivityEnvironment().run(tools.execute, charge_call())
    (workspace_dir(Path(workspaces), "run-1") / "finished").touch()
    threading.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:4]))
