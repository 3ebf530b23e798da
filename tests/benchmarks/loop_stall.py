"""The worker's event loop under a held ledger lock: the longest gap a 5 ms ticker sees while tool calls
run, with the lock free (baseline) and with another process holding SQLite's write lock for 3 s.

    python -m tests.benchmarks.loop_stall

Prints milliseconds; the goal is a longest stall under 50 ms in both cases.
"""

from __future__ import annotations

import asyncio
import sqlite3
import tempfile
import threading
import time
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.ledger import Ledger
from activities.tools.execute import ToolActivities
from tests.conftest import registry_with
from tests.tools.helpers import call_input


async def longest_stall(tools: ToolActivities, calls: int, lock: Path | None, hold_s: float) -> tuple[float, float]:
    gaps: list[float] = []
    stop = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last - 0.005)
            last = now

    holder = None
    if lock is not None:
        held = threading.Event()

        def hold() -> None:
            db = sqlite3.connect(lock, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            held.set()
            time.sleep(hold_s)
            db.execute("COMMIT")

        holder = threading.Thread(target=hold)
        holder.start()
        held.wait()
    ticker = asyncio.create_task(tick())
    started = time.perf_counter()
    env = ActivityEnvironment()
    await asyncio.gather(*(env.run(tools.execute, call_input("calculator", call_id=f"call-1-{i}", expression="1+1"))
                           for i in range(calls)))
    elapsed = time.perf_counter() - started
    stop.set()
    await ticker
    if holder:
        holder.join()
    return max(gaps) * 1000, elapsed


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ledger = Path(tmp) / "ledger.sqlite"
        tools = ToolActivities(registry_with(), Ledger(ledger), Path(tmp) / "workspaces")
        free, free_s = await longest_stall(tools, 20, None, 0)
        tools = ToolActivities(registry_with(), Ledger(Path(tmp) / "l2.sqlite"), Path(tmp) / "workspaces")
        held, held_s = await longest_stall(tools, 20, Path(tmp) / "l2.sqlite", 3.0)
    print(f"{'case':<34}{'longest loop stall':>20}{'20 calls took':>16}")
    print(f"{'ledger free (baseline)':<34}{free:>17.1f} ms{free_s:>14.2f} s")
    print(f"{'ledger write lock held 3 s':<34}{held:>17.1f} ms{held_s:>14.2f} s")
    print(f"ratio held/free stall: {held / max(free, 0.01):.2f}x (goal: under 50 ms held)")


if __name__ == "__main__":
    asyncio.run(main())
