"""Every memo and cache on the model path, each with a way to switch it off.

The differential test (tests/context/test_model_path_differential.py) switches them all off and
expects byte-identical requests; the benchmark (tests.benchmarks.model_path_memos) switches each off
alone to measure what it earns. A memo switched off recomputes on every call, as if the worker had
just started.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from activities import model
from activities.context import transcript


@contextmanager
def _set(owner: Any, name: str, value: Any) -> Iterator[None]:
    before = getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, before)


@contextmanager
def _holding_nothing(memo: Any, bound: str) -> Iterator[None]:
    """`memo` emptied and bounded to nothing: every lookup misses, every entry is dropped at once."""
    memo.clear()
    with _set(memo, bound, 0):
        yield
    memo.clear()


MEMOS: dict[str, Callable[[], Any]] = {
    # loaded transcript chains by head: a step reads one entry, not every entry of the run
    "transcript chain cache": lambda: _holding_nothing(transcript.CACHE, "max_heads"),
    # each message as sent and its tokens, per chain head: a step renders and counts what is new
    "history index": lambda: _holding_nothing(model.INDEXER, "max_heads"),
}


@contextmanager
def switched_off(*names: str) -> Iterator[None]:
    """Every named memo off (all of them when none is named) for the duration."""
    with ExitStack() as stack:
        for name in names or MEMOS:
            stack.enter_context(MEMOS[name]())
        yield
