"""Mapping a function over a run's prompt, step after step, at the cost of what is new in it.

A step's prompt is the previous step's prompt less its short tail (current task, volatile items),
plus the new turns and a new tail; the chain cache and the history index hand out the same message
objects each time. Each stage of the model path (render, neutralise, serialize) keeps, per run, the
list it mapped last and the result, reuses the result for the leading run of objects the two lists
share, and maps the rest. The run is named by `RUN`, which the model activity sets; without it a
stage maps the whole list, as it would with no memo at all.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from typing import Any

RUN: ContextVar[Hashable | None] = ContextVar("prefix_map_run", default=None)
_TAIL_SEARCH = 32  # how far back from the end of the last list a shared object is looked for


class PrefixMap:
    def __init__(self, max_runs: int = 256, per_run: int = 2, max_items: int = 65_536) -> None:
        # Two lists per run: a stage can be passed its own last output (a request re-made with more
        # settings neutralises again), and that must not push out the list the next step extends.
        # `max_items` bounds what all runs' lists hold together (a serialized message is up to 16 KB
        # of JSON); past it the least recently used runs are forgotten and map from scratch.
        self.max_runs, self.per_run, self.max_items = max_runs, per_run, max_items
        self._runs: OrderedDict[Hashable, list[tuple[list, list]]] = OrderedDict()
        self._items = 0
        self._lock = threading.Lock()

    def map(self, fn: Callable[[Any], Any], items: list, key: Hashable = None) -> list:
        """[fn(x) for x in items], reusing this run's (and `key`'s) recent results where they apply.
        `fn` must be a function of its argument's value only."""
        run = RUN.get()
        if run is None:
            return [fn(x) for x in items]
        slot = (run, key)
        with self._lock:
            recent = list(self._runs.get(slot, ()))
        shared, out = 0, []
        for old_items, old_out in recent:
            k = _shared_prefix(old_items, items)
            if k > shared:
                shared, out = k, old_out[:k]
        out += [fn(x) for x in items[shared:]]
        with self._lock:
            entries = [(list(items), out), *self._runs.pop(slot, ())]
            self._items -= sum(len(old) for old, _ in entries[1:])
            self._runs[slot] = entries[: self.per_run]
            self._items += sum(len(old) for old, _ in self._runs[slot])
            while self._runs and (len(self._runs) > self.max_runs or self._items > self.max_items):
                _, dropped = self._runs.popitem(last=False)
                self._items -= sum(len(old) for old, _ in dropped)
        return list(out)  # the caller's to change; the memo keeps its own

    def clear(self) -> None:
        with self._lock:
            self._runs.clear()
            self._items = 0


def _shared_prefix(old: list, new: list) -> int:
    """The length of the leading run `new` shares with `old`: the last position near the end where
    both hold the same object, confirmed by one C-level comparison of everything before it. Equal
    but distinct objects count as shared, which is sound because mapped functions see values only."""
    end = min(len(old), len(new))
    for i in range(end - 1, max(end - _TAIL_SEARCH, 0) - 1, -1):
        if old[i] is new[i]:
            return i + 1 if old[:i] == new[:i] else 0
    return 0
