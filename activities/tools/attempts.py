"""One thread per tool attempt, and the lease that fences it.

Python threads cannot be killed, so an attempt whose activity timed out or was cancelled keeps
running its handler. Two things keep that safe. Each attempt runs on a thread of its own, not on the
event loop's shared executor, so a hung tool never starves other runs' tools, model calls or
heartbeats. And while the thread is alive, one keeper thread renews its ledger lease; another attempt
of the same key finds the lease live and waits (activities/tools/execute.py), so no two attempts of a
key ever run at once. A worker that dies stops renewing, the lease runs out, and the next attempt
reconciles as before.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import structlog

from activities.ledger import LedgerBackend

log = structlog.get_logger(__name__)
T = TypeVar("T")


class AttemptRunner:
    def __init__(self, ledger: LedgerBackend, lease_s: float) -> None:
        self.ledger = ledger
        self.lease_s = lease_s
        self._live: dict[str, str] = {}  # idempotency key -> the owner whose thread is running it
        self._lock = threading.Lock()
        self._keeper: threading.Thread | None = None

    def live(self) -> dict[str, str]:
        with self._lock:
            return dict(self._live)

    def run(self, key: str, owner: str, fn: Callable[[], T]) -> asyncio.Future[T]:
        """Start `fn` on its own thread, leased to `owner` until it returns; a future of its result.
        Cancelling the future stops nothing: the thread finishes (and records) on its own."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            self._live[key] = owner
            if self._keeper is None:
                self._keeper = threading.Thread(target=self._renew_forever, name="tool-lease-keeper", daemon=True)
                self._keeper.start()

        def attempt() -> None:
            outcome: tuple[Any, BaseException | None]
            try:
                outcome = (fn(), None)
            except BaseException as e:  # handed to the awaiting activity, if it still waits
                outcome = (None, e)
            finally:
                with self._lock:
                    if self._live.get(key) == owner:
                        del self._live[key]
            try:
                loop.call_soon_threadsafe(_settle, future, *outcome)
            except RuntimeError:
                pass  # the worker's loop is gone: nobody waits for this attempt any more

        threading.Thread(target=attempt, name=f"tool {key}", daemon=True).start()
        return future

    def _renew_forever(self) -> None:
        interval = max(self.lease_s / 3, 0.05)
        while True:
            time.sleep(interval)
            by_owner: dict[str, list[str]] = {}
            for key, owner in self.live().items():
                by_owner.setdefault(owner, []).append(key)
            for owner, keys in by_owner.items():
                try:
                    self.ledger.renew(keys, owner, self.lease_s)
                except Exception:
                    log.exception("tool.lease_renewal_failed", keys=keys)


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
