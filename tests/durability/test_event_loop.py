"""Activities never block the worker's event loop: with the ledger's write lock held by another
process, a tool call waits on a thread while heartbeats, workflow tasks and other calls go on."""

from __future__ import annotations

import asyncio
import sqlite3
import threading

from temporalio.testing import ActivityEnvironment

from activities.ledger import Ledger
from activities.tools.execute import ToolActivities
from tests.conftest import eventually, registry_with
from tests.tools.helpers import call_input


def hold_write_lock(path, held: threading.Event, release: threading.Event) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    held.set()
    release.wait(60)
    db.execute("COMMIT")
    db.close()


async def test_a_held_ledger_lock_does_not_stall_the_event_loop(tmp_path):
    ledger_path = tmp_path / "ledger.sqlite"
    tools = ToolActivities(registry_with(), Ledger(ledger_path), tmp_path / "workspaces")
    held, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(ledger_path, held, release), daemon=True)
    holder.start()
    held.wait(10)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    call = asyncio.create_task(ActivityEnvironment().run(tools.execute, call_input("calculator", expression="1+1")))
    try:
        async def loop_turns_while_the_call_waits() -> bool:
            return ticks >= 20 and not call.done()

        # Before, the call's ledger read ran on the loop: nothing else ran until SQLite's busy timeout.
        await eventually(loop_turns_while_the_call_waits, timeout_s=10, what="the loop to run while the lock is held")
        assert not call.done()
        release.set()
        result = await asyncio.wait_for(call, 30)
    finally:
        release.set()
        ticker.cancel()
    assert result.status == "ok" and result.data["value"] == 2
