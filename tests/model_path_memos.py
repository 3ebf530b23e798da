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

from activities.context import tool_catalogue, transcript
from activities.providers import control_tokens, openai_compat
from activities import model


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
    # the neutralised prompt per run: a step scans only its new messages for control tokens
    "neutralised-prompt memo": lambda: _holding_nothing(control_tokens._NEUTRALISED, "max_runs"),
    # neutralised text by content
    "neutralised-text cache": lambda: _set(control_tokens, "_neutralise", control_tokens._neutralise.__wrapped__),
    # the serialized prompt per run: a step encodes only its new messages to JSON
    "serialized-prompt memo": lambda: _holding_nothing(openai_compat._SERIALIZED, "max_runs"),
    # serialized messages by content
    "serialized-message cache": lambda: _set(openai_compat, "_message_json", openai_compat._message_json.__wrapped__),
    # the run's tool catalogue by digest: read from the blob store once
    "tool catalogue cache": lambda: _set(tool_catalogue, "_load", tool_catalogue._load.__wrapped__),
}


@contextmanager
def switched_off(*names: str) -> Iterator[None]:
    """Every named memo off (all of them when none is named) for the duration."""
    with ExitStack() as stack:
        for name in names or MEMOS:
            stack.enter_context(MEMOS[name]())
        yield
