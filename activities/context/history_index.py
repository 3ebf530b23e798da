"""What packing needs to know of each transcript message, kept per chain head and extended per step.

Packing with the estimating counter needs, for every history message, what it packs as (debug output
sanitized to one line), its estimated tokens before the model's ratio, and whether it is a compaction
summary or debug output. None of that changes once a message is in the transcript, and the next
step's chain is this one plus its new messages (transcript.append), so the next step's index is this
index plus the new messages: a step costs O(new messages), not O(transcript). Exact tokenizers (GGUF,
tokenizer.json) pack without an index: their count of the whole rendered prompt is the point of them.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate

from workflows.contracts import Message


@dataclass
class _Columns:
    """Append-only columns shared by an index and its extensions; a view reads its first `length` rows."""

    packed: list[Message] = field(default_factory=list)  # as packed: debug output sanitized
    raw: list[int] = field(default_factory=list)  # the estimator's raw tokens of each packed message
    prefix: list[int] = field(default_factory=lambda: [0])  # prefix[i] = sum(raw[:i])
    debug: list[int] = field(default_factory=list)  # indices of sanitized messages, ascending
    debug_raw: dict[int, int] = field(default_factory=dict)  # their raw tokens before sanitizing
    summaries: list[int] = field(default_factory=list)  # indices of compaction summaries, ascending


@dataclass(frozen=True)
class HistoryIndex:
    """The first `length` messages of one transcript, as packing sees them."""

    columns: _Columns
    length: int
    counter_key: tuple

    @property
    def packed(self) -> list[Message]:
        return self.columns.packed[: self.length]

    def raw(self, i: int) -> int:
        return self.columns.raw[i]

    def raw_between(self, start: int, end: int) -> int:
        return self.columns.prefix[end] - self.columns.prefix[start]

    @property
    def debug(self) -> list[int]:
        return self.columns.debug[: bisect_left(self.columns.debug, self.length)]

    def debug_raw(self, i: int) -> int:
        return self.columns.debug_raw[i]

    @property
    def summaries(self) -> list[int]:
        return self.columns.summaries[: bisect_left(self.columns.summaries, self.length)]


class Indexer:
    """Indexes by chain head, bounded; shared by the model activity's threads."""

    def __init__(self, summary_name: str, is_debug: Callable[[Message], bool], sanitize: Callable[[str], str],
                 max_heads: int = 256) -> None:
        self.summary_name, self.is_debug, self.sanitize, self.max_heads = summary_name, is_debug, sanitize, max_heads
        self._heads: OrderedDict[str, HistoryIndex] = OrderedDict()
        self._lock = threading.Lock()

    def for_chain(self, head: str | None, history: list[Message], previous: str | None, counter) -> HistoryIndex:
        """The index of `history`, whose chain ends at `head` and extends the chain ending at `previous`."""
        key = counter.raw_key
        with self._lock:
            known = self._heads.get(head) if head else None
            if known is not None and known.counter_key == key and known.length == len(history):
                self._heads.move_to_end(head)
                return known
            base = self._heads.get(previous) if previous else None
            if base is None or base.counter_key != key or base.length > len(history):
                base = HistoryIndex(_Columns(), 0, key)
            index = self._extend(base, history[base.length:], counter)
            if head:
                self._heads[head] = index
                self._heads.move_to_end(head)
                while len(self._heads) > self.max_heads:
                    self._heads.popitem(last=False)
            return index

    def _extend(self, base: HistoryIndex, new: list[Message], counter) -> HistoryIndex:
        columns = base.columns
        if len(columns.packed) != base.length:
            # Another chain already grew from this prefix (a retried step, a sibling): copy, then grow.
            keep = base.length
            columns = _Columns(columns.packed[:keep], columns.raw[:keep], columns.prefix[: keep + 1],
                               base.debug, {i: columns.debug_raw[i] for i in base.debug}, base.summaries)
        raws = []
        for offset, message in enumerate(new):
            i = base.length + offset
            if message.name == self.summary_name:
                columns.summaries.append(i)
            elif self.is_debug(message):
                columns.debug.append(i)
                columns.debug_raw[i] = counter.raw_tokens(message)
                message = message.model_copy(update={"content": self.sanitize(message.content)})
            columns.packed.append(message)
            raws.append(counter.raw_tokens(message))
        columns.raw += raws
        columns.prefix += list(accumulate(raws, initial=columns.prefix[-1]))[1:]
        return HistoryIndex(columns, base.length + len(new), base.counter_key)
