"""Each transcript message as a model call sends it, and its tokens, kept per chain head.

A step's prompt is the pinned block, then every transcript message as sent: debug output sanitized to
one line, a tool result rendered as the user turn that marks it untrusted (activities/decision.py).
None of that changes once a message is in the transcript, and the next step's chain is this one plus
its new messages (transcript.append), so the next step's index is this index plus the new messages:
a step renders and counts O(new messages), not O(transcript). The counts are the counter's own,
before calibration, which is applied per call and so never stales an index.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from workflows.contracts import Message


@dataclass
class _Columns:
    """Append-only columns shared by an index and its extensions; a view reads its first `length` rows."""

    sent: list[Message] = field(default_factory=list)  # as sent: debug output sanitized, tool turns rendered
    tokens: list[int] = field(default_factory=list)  # the counter's tokens of each sent message
    prefix: list[int] = field(default_factory=lambda: [0])  # prefix[i] = sum(tokens[:i])
    debug: list[int] = field(default_factory=list)  # indices of sanitized messages, ascending
    debug_tokens: dict[int, int] = field(default_factory=dict)  # their tokens before sanitizing
    summaries: list[int] = field(default_factory=list)  # indices of compaction summaries, ascending
    assistant: list[int] = field(default_factory=list)  # indices of the model's own turns, ascending


@dataclass(frozen=True)
class HistoryIndex:
    """The first `length` messages of one transcript, as a model call sends them."""

    columns: _Columns
    length: int
    counter: str

    @property
    def sent(self) -> list[Message]:
        return self.columns.sent[: self.length]

    def tokens(self, i: int) -> int:
        return self.columns.tokens[i]

    def tokens_between(self, start: int, end: int) -> int:
        return self.columns.prefix[end] - self.columns.prefix[start]

    @property
    def debug(self) -> list[int]:
        return self.columns.debug[: bisect_left(self.columns.debug, self.length)]

    def debug_tokens(self, i: int) -> int:
        return self.columns.debug_tokens[i]

    @property
    def summaries(self) -> list[int]:
        return self.columns.summaries[: bisect_left(self.columns.summaries, self.length)]

    @property
    def newest_turn(self) -> int:
        """Where the newest turn starts: the model's last decision, then what followed it (its tool
        results, messages from people). The whole history before the first decision."""
        k = bisect_left(self.columns.assistant, self.length)
        return self.columns.assistant[k - 1] if k else 0


class Indexer:
    """Indexes by chain head and counter, bounded; shared by the model activity's threads."""

    def __init__(self, summary_name: str, is_debug: Callable[[Message], bool], sanitize: Callable[[str], str],
                 render: Callable[[Message], Message], max_heads: int = 256) -> None:
        self.summary_name, self.is_debug, self.sanitize, self.render = summary_name, is_debug, sanitize, render
        self.max_heads = max_heads
        self._heads: OrderedDict[tuple[str, str], HistoryIndex] = OrderedDict()
        self._lock = threading.Lock()

    def for_chain(self, head: str | None, history: list[Message], previous: str | None, counter) -> HistoryIndex:
        """The index of `history`, whose chain ends at `head` and extends the chain ending at `previous`."""
        name = counter.name
        with self._lock:
            known = self._heads.get((head, name)) if head else None
            if head and known is not None and known.length == len(history):
                self._heads.move_to_end((head, name))
                return known
            base = self._heads.get((previous, name)) if previous else None
            if base is None or base.length > len(history):
                base = HistoryIndex(_Columns(), 0, name)
        index = self._extend(base, history[base.length:], counter)
        if head:
            with self._lock:
                self._heads[(head, name)] = index
                self._heads.move_to_end((head, name))
                while len(self._heads) > self.max_heads:
                    self._heads.popitem(last=False)
        return index

    def clear(self) -> None:
        with self._lock:
            self._heads.clear()

    def _extend(self, base: HistoryIndex, new: list[Message], counter) -> HistoryIndex:
        # Rendering and counting outside the lock (an exact tokenizer takes its time); appending inside.
        rows = [self._row(base.length + offset, message, counter) for offset, message in enumerate(new)]
        with self._lock:
            columns = base.columns
            if len(columns.sent) != base.length:
                # Another chain already grew from this prefix (a retried step, a sibling): copy, then grow.
                keep = base.length
                columns = _Columns(columns.sent[:keep], columns.tokens[:keep], columns.prefix[: keep + 1],
                                   base.debug, {i: columns.debug_tokens[i] for i in base.debug}, base.summaries,
                                   columns.assistant[: bisect_left(columns.assistant, keep)])
            for i, (sent, count, kind, before) in enumerate(rows, start=base.length):
                columns.sent.append(sent)
                columns.tokens.append(count)
                columns.prefix.append(columns.prefix[-1] + count)
                if kind == "summary":
                    columns.summaries.append(i)
                elif kind == "debug":
                    columns.debug.append(i)
                    columns.debug_tokens[i] = before
                if kind == "assistant":
                    columns.assistant.append(i)
            return HistoryIndex(columns, base.length + len(new), base.counter)

    def _row(self, i: int, message: Message, counter) -> tuple[Message, int, str, int]:
        """A message as sent, its tokens, what kind of item it is, and for debug output its tokens before."""
        if message.name == self.summary_name:
            kind = "summary"
        elif self.is_debug(message):
            before = counter.message_tokens(self.render(message))
            sent = self.render(message.model_copy(update={"content": self.sanitize(message.content)}))
            return sent, counter.message_tokens(sent), "debug", before
        else:
            kind = "assistant" if message.role == "assistant" else "turn"
        sent = self.render(message)
        return sent, counter.message_tokens(sent), kind, 0
