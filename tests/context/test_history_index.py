"""The per-head index: each message as sent and its tokens, at the cost of the new messages only."""

from __future__ import annotations

import threading

from activities.context.history_index import Indexer
from activities.context.packing import SUMMARY_NAME, is_debug_output, sanitize_line
from activities.context.tokens import EstimatingCounter
from activities.decision import render_turn
from workflows.contracts import Message

TRACE = "Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n    boom()\nZeroDivisionError: division by zero"


class CountingEstimator(EstimatingCounter):
    """The real estimator, counting the messages it is asked to count one by one."""

    def __init__(self, name: str = "") -> None:
        super().__init__()
        self.name += name
        self.calls = 0

    def message_tokens(self, message: Message) -> int:
        self.calls += 1
        return super().message_tokens(message)


def _turn(i: int) -> list[Message]:
    """One step's messages; every fifth result is a trace, every seventh step adds a summary."""
    content = TRACE if i % 5 == 3 else f"result {i} " + "y" * (37 * i % 300)
    turn = [Message(role="assistant", content=f'{{"action": "call_tool", "n": {i}}}'),
            Message(role="tool", content=content, name="read_file", tool_call_id=f"call-{i}")]
    if i % 7 == 6:
        turn.append(Message(role="user", content=f"summary up to {i}", name=SUMMARY_NAME))
    return turn


def _indexer() -> Indexer:
    return Indexer(SUMMARY_NAME, is_debug_output, sanitize_line, render_turn)


def _as_sent(message: Message) -> Message:
    if is_debug_output(message) and message.name != SUMMARY_NAME:
        message = message.model_copy(update={"content": sanitize_line(message.content)})
    return render_turn(message)


def test_a_grown_index_is_the_index_built_at_once() -> None:
    """Step after step, the extended index holds each message as sent, its tokens and its kind, exactly
    as an index built from the whole transcript in one go."""
    indexer, counter, history, head = _indexer(), CountingEstimator(), [], None
    for step in range(40):
        previous, history, head = head, [*history, *_turn(step)], f"head-{step}"
        index = indexer.for_chain(head, history, previous, counter)
        alone = _indexer().for_chain("alone", history, None, counter)
        assert index.sent == alone.sent == [_as_sent(m) for m in history]
        assert index.tokens_between(0, len(history)) == alone.tokens_between(0, len(history))
        assert index.debug == alone.debug and index.summaries == alone.summaries
        assert index.newest_turn == alone.newest_turn == max(i for i, m in enumerate(history) if m.role == "assistant")
    assert index.debug and index.summaries


def test_a_step_counts_only_its_new_messages() -> None:
    """Extending a head costs the new messages: 200 steps count each message once (a trace twice:
    before and after sanitizing)."""
    indexer, counter, history, head = _indexer(), CountingEstimator(), [], None
    for step in range(200):
        previous, history, head = head, [*history, *_turn(step)], f"head-{step}"
        indexer.for_chain(head, history, previous, counter)
    debug = sum(1 for m in history if is_debug_output(m) and m.name != SUMMARY_NAME)
    assert counter.calls == len(history) + debug


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
        assert index.sent == alone.sent and index.length == len(chain)
        assert index.tokens_between(0, index.length) == alone.tokens_between(0, len(chain))
        assert index.debug == alone.debug and index.summaries == alone.summaries
        assert index.newest_turn == alone.newest_turn
    assert indexer.for_chain("left", left, "base", counter) is left_index


def test_two_counters_keep_their_own_index_of_one_chain() -> None:
    """An index holds one counter's tokens: another counter of the same chain gets its own."""
    indexer, history = _indexer(), [*_turn(0), *_turn(1)]
    four, two = CountingEstimator(), EstimatingCounter(bytes_per_token=2)
    by_four = indexer.for_chain("h", history, None, four)
    by_two = indexer.for_chain("h", history, None, two)
    assert by_two is not by_four and by_two.counter != by_four.counter
    assert by_two.tokens_between(0, 2) > by_four.tokens_between(0, 2)
    assert indexer.for_chain("h", history, None, four) is by_four


def test_chains_extended_from_one_head_by_concurrent_threads_stay_apart() -> None:
    """Interleaved runs on one worker: threads growing chains from a shared head never mix rows."""
    indexer, counter = _indexer(), EstimatingCounter()
    base = [m for i in range(5) for m in _turn(i)]
    indexer.for_chain("base", base, None, counter)
    chains = {f"run-{k}": [*base, Message(role="user", content=f"message of run {k} " * (k + 1))] for k in range(16)}
    results, start = {}, threading.Barrier(len(chains))

    def grow(head: str) -> None:
        start.wait()
        results[head] = indexer.for_chain(head, chains[head], "base", counter)

    threads = [threading.Thread(target=grow, args=(head,)) for head in chains]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for head, chain in chains.items():
        assert results[head].sent == [_as_sent(m) for m in chain]
        assert results[head].tokens_between(0, len(chain)) == sum(counter.message_tokens(_as_sent(m)) for m in chain)
