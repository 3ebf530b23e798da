"""Packing from the per-head index: the same pack as the full way, at the cost of the new messages only."""

from __future__ import annotations

import pytest

from activities.context.contracts import ContextBudget, PackContextInput
from activities.context.history_index import Indexer
from activities.context.packing import SUMMARY_NAME, is_debug_output, pack, sanitize_line
from activities.context.tokens import EstimatingCounter
from workflows.contracts import Message, ToolSpec

TRACE = "Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n    boom()\nZeroDivisionError: division by zero"


class CountingEstimator(EstimatingCounter):
    """The real estimator, counting the messages it is asked to estimate one by one."""

    def __init__(self, ratio: tuple[int, int] | None = None) -> None:
        super().__init__("m")
        self.raw_calls = 0
        if ratio:  # as after calls whose reported prompt_tokens differed from the estimate
            self._reported, self._estimated = ratio

    def raw_tokens(self, message: Message) -> int:
        self.raw_calls += 1
        return super().raw_tokens(message)


def _turn(i: int) -> list[Message]:
    """One step's messages; every fifth result is a trace, every seventh step adds a summary."""
    content = TRACE if i % 5 == 3 else f"result {i} " + "y" * (37 * i % 300)
    turn = [Message(role="assistant", content=f'{{"action": "call_tool", "n": {i}}}'),
            Message(role="tool", content=content, name="read_file", tool_call_id=f"call-{i}")]
    if i % 7 == 6:
        turn.append(Message(role="user", content=f"summary up to {i}", name=SUMMARY_NAME))
    return turn


def _request(history: list[Message], protected: int = 0, window: int = 1_000_000) -> PackContextInput:
    tools = [ToolSpec(name="read_file", description="read", risk_level=0, idempotency="idempotent",
                      parameters={"type": "object"})]
    return PackContextInput(
        pinned=[Message(role="system", content="policy " * 30), Message(role="user", content="Goal: read")],
        tools=tools, history=history, protected=protected,
        working_memory=[Message(role="user", content="memory")],
        current_task=[Message(role="user", content="now: step")],
        volatile=[Message(role="user", content="time 12:00")],
        budget=ContextBudget(context_window=window, reserved_output=256))


def _indexer() -> Indexer:
    return Indexer(SUMMARY_NAME, is_debug_output, sanitize_line)


@pytest.mark.parametrize("ratio", [None, (13, 10)])
@pytest.mark.parametrize("protected", [0, 4])
def test_indexed_pack_is_the_full_pack(ratio, protected: int) -> None:
    """Step after step, the indexed pack has the full pack's messages, total, notes and prefix; its
    per-priority tokens are the same when the ratio is 1 and sum to within a token per message."""
    indexer, counter, history, head = _indexer(), CountingEstimator(ratio), [], None
    for step in range(40):
        previous, history, head = head, [*history, *_turn(step)], f"head-{step}"
        index = indexer.for_chain(head, history, previous, counter)
        fast = pack(_request(history, protected), counter, index)
        full = pack(_request(history, protected), counter)
        assert fast.messages == full.messages
        assert fast.raw_tokens == counter._raw(full.messages)
        fast_report, full_report = fast.report.model_dump(), full.report.model_dump()
        fast_by, full_by = fast_report.pop("tokens_by_priority"), full_report.pop("tokens_by_priority")
        assert fast_report == full_report
        if ratio is None:
            assert fast_by == full_by
        else:
            assert fast_by.keys() == full_by.keys()
            assert 0 <= sum(full_by.values()) - sum(fast_by.values()) <= len(history)
    assert any(n.action == "sanitized" for n in fast.report.notes)


def test_a_step_indexes_only_its_new_messages() -> None:
    """Extending a head costs the new messages: 200 steps estimate each history message once."""
    indexer, counter, history, head = _indexer(), CountingEstimator(), [], None
    for step in range(200):
        previous, history, head = head, [*history, *_turn(step)], f"head-{step}"
        pack(_request(history), counter, indexer.for_chain(head, history, previous, counter))
    debug = sum(1 for m in history if is_debug_output(m) and m.name != SUMMARY_NAME)
    per_pack = 2 + 3  # pinned and tail, estimated each step
    assert counter.raw_calls == len(history) + debug + 200 * per_pack


def test_a_retried_step_and_a_sibling_chain_do_not_see_each_others_messages() -> None:
    """Two chains grown from one head (a retry, a branch) each index their own messages."""
    indexer, counter = _indexer(), CountingEstimator()
    base = [*_turn(0), *_turn(1)]
    indexer.for_chain("base", base, None, counter)
    left, right = [*base, *_turn(2)], [*base, Message(role="user", content="other")]
    left_index = indexer.for_chain("left", left, "base", counter)
    right_index = indexer.for_chain("right", right, "base", counter)
    for index, chain in ((left_index, left), (right_index, right)):
        alone = _indexer().for_chain("alone", chain, None, counter)
        assert index.packed == alone.packed and index.length == len(chain)
        assert index.raw_between(0, index.length) == alone.raw_between(0, len(chain))
        assert index.debug == alone.debug and index.summaries == alone.summaries
    again = indexer.for_chain("left", left, "base", counter)
    assert again is left_index


def test_over_the_threshold_the_full_way_decides_compaction() -> None:
    """A transcript past the compaction threshold gets the full pack's compaction range."""
    history = [m for i in range(60) for m in _turn(i)]
    counter = CountingEstimator()
    index = _indexer().for_chain("h", history, None, counter)
    request = _request(history, window=3000)
    fast, full = pack(request, counter, index), pack(request, counter)
    assert fast.report.needs_compaction and fast.report == full.report
    assert fast.raw_tokens is None
