"""The pack builder: canonical layout, priorities, P3 sanitizing, compaction ranges, eviction, P0 intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from activities.context.contracts import ContextBudget, PackContextInput
from activities.context.packing import ContextBudgetExceeded, is_debug_output, pack, tool_block
from activities.context.tokens import gguf_tokenizer
from workflows.contracts import Message, ToolSpec

TRACE = "Traceback (most recent call last):\n  File \"x.py\", line 3, in f\n    boom()\nZeroDivisionError: division by zero"


class WordCounter:
    """A counter with round numbers: one token per word plus one of framing per message."""

    name, exact = "words", True

    def count(self, text: str) -> int:
        return len(text.split())

    def message_tokens(self, m: Message) -> int:
        return self.count(m.content) + 1

    def count_messages(self, messages: list[Message]) -> int:
        return sum(self.message_tokens(m) for m in messages)


def _spec(name: str) -> ToolSpec:
    return ToolSpec(name=name, description=f"{name} tool", risk_level=0, idempotency="idempotent",
                    parameters={"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "integer"}}})


def _history(n: int, words: int = 9) -> list[Message]:
    return [Message(role="user" if i % 2 == 0 else "assistant", content=" ".join([f"t{i}"] * words)) for i in range(n)]


def _request(history: list[Message], window: int = 1000, reserved: int = 100, **kw) -> PackContextInput:
    return PackContextInput(
        pinned=[Message(role="system", content="system prompt and policy"), Message(role="user", content="Goal: g")],
        history=history, budget=ContextBudget(context_window=window, reserved_output=reserved), **kw)


def test_layout_is_stable_prefix_then_history_then_volatile_tail() -> None:
    """Pinned, sorted tools, history, then working memory, current task and volatile items last."""
    request = _request(_history(2), tools=[_spec("zeta"), _spec("alpha")], render_tools=True,
                       working_memory=[Message(role="user", content="memory")],
                       current_task=[Message(role="user", content="task now")],
                       volatile=[Message(role="user", content="retrieved passage"),
                                 Message(role="user", content="time 12:00")])
    packed = pack(request, WordCounter())
    contents = [m.content for m in packed.messages]
    assert contents[:2] == ["system prompt and policy", "Goal: g"]
    assert contents[2].startswith("Tools:\n") and contents[2].index('"alpha"') < contents[2].index('"zeta"')
    assert contents[3:] == ["t0 " * 8 + "t0", "t1 " * 8 + "t1", "memory", "task now", "retrieved passage", "time 12:00"]
    assert packed.report.prefix_messages == 5


def test_tool_block_is_canonical_whatever_the_order() -> None:
    """The same tools in any order serialize to byte-identical text with sorted keys."""
    assert tool_block([_spec("b"), _spec("a")]) == tool_block([_spec("a"), _spec("b")])
    assert '"properties":{"a":{"type":"integer"},"b":{"type":"string"}}' in tool_block([_spec("a")]).content


def test_consecutive_steps_share_the_whole_previous_prefix() -> None:
    """Appending a turn keeps every earlier message of the pack (minus the tail) byte-identical."""
    volatile = [Message(role="user", content="time 12:00")]
    first = pack(_request(_history(4), volatile=volatile), WordCounter()).messages
    second = pack(_request(_history(5), volatile=[Message(role="user", content="time 12:01")]), WordCounter()).messages
    assert second[: len(first) - 1] == first[:-1]


def test_priorities_are_counted_per_class() -> None:
    """Tokens per priority: P0 pinned, P1 the newest turns, P2 older turns, P3 sanitized traces."""
    history = [*_history(6), Message(role="tool", content=TRACE, name="calc", tool_call_id="c1")]
    report = pack(_request(history, recent_turns=3), WordCounter()).report
    assert report.tokens_by_priority["P0"] == (4 + 1) + (2 + 1)
    assert report.tokens_by_priority["P2"] == 4 * 10
    assert report.tokens_by_priority["P1"] == 2 * 10
    assert report.total_tokens == sum(report.tokens_by_priority.values())
    assert not report.needs_compaction and report.compact_start is None


def test_error_trace_is_sanitized_to_one_line_and_noted() -> None:
    """A traceback becomes one line naming its size and exception; the note says so."""
    history = [Message(role="tool", content=TRACE, name="calc", tool_call_id="c1")]
    packed = pack(_request(history), WordCounter())
    line = packed.messages[-1].content
    assert "\n" not in line and line.endswith("ZeroDivisionError: division by zero")
    assert line.startswith("[debug output sanitized: 4 lines")
    (note,) = packed.report.notes
    assert (note.action, note.priority, note.index, note.tokens_before) == ("sanitized", "P3", 0, 16 + 1)
    assert is_debug_output(history[0]) and not is_debug_output(Message(role="assistant", content=TRACE))


def test_over_threshold_names_oldest_p2_turns_to_summarize() -> None:
    """Past 80% of the window the report asks to compact the oldest P2 turns, down to the 50% target."""
    # P0 = 8 tokens; 90 turns x 10 tokens = 908 > 800 threshold; budget 900 forces no drops below 900.
    report = pack(_request(_history(89), window=1000, reserved=50), WordCounter()).report
    assert report.total_tokens == 898 and report.needs_compaction
    # remove k turns so that 898 - 10k + 400 (summary estimate) <= 500  ->  k = 80
    assert (report.compact_start, report.compact_end) == (0, 80)
    assert report.notes == []


def test_compaction_range_never_enters_recent_turns_or_splits_a_tool_result() -> None:
    """The range stops before the P1 window and extends over a tool result that follows its call."""
    history = _history(10)
    history[3] = Message(role="tool", content=" ".join(["r"] * 9), name="calc", tool_call_id="c")
    report = pack(_request(history, window=100, reserved=10, recent_turns=4), WordCounter()).report
    assert report.needs_compaction and report.compact_end == 6
    report = pack(_request(history, window=130, reserved=10, recent_turns=4), WordCounter()).report
    assert (report.compact_start, report.compact_end) == (0, 6)


def test_over_budget_drops_p3_then_oldest_p2_and_keeps_p0_verbatim() -> None:
    """Over the hard budget P3 goes first, then the oldest P2 turns; every drop is a note; P0 is intact."""
    history = [Message(role="tool", content=TRACE, name="calc", tool_call_id="c0"), *_history(20)]
    request = _request(history, window=200, reserved=40, recent_turns=4)
    packed = pack(request, WordCounter())
    dropped = [(n.priority, n.index) for n in packed.report.notes if n.action == "dropped"]
    assert dropped[0] == ("P3", 0)
    assert [i for p, i in dropped[1:]] == list(range(1, len(dropped)))
    assert all(p == "P2" for p, _ in dropped[1:])
    assert packed.report.total_tokens <= 160
    assert packed.messages[:2] == request.pinned
    kept_history = packed.messages[2:]
    assert kept_history == history[len(dropped):]


def test_p0_that_does_not_fit_is_an_error_not_a_truncation() -> None:
    """When P0 alone exceeds the budget the packer raises instead of cutting the goal."""
    request = PackContextInput(pinned=[Message(role="system", content="word " * 200)],
                               budget=ContextBudget(context_window=150, reserved_output=50))
    with pytest.raises(ContextBudgetExceeded, match="P0 needs 201 tokens but the budget is 100"):
        pack(request, WordCounter())


def test_gguf_budget_is_exact_for_the_rendered_prompt(gguf_path: Path) -> None:
    """With the GGUF tokenizer the reported total is the token count of the prompt the server evaluates."""
    tok = gguf_tokenizer(str(gguf_path))
    request = _request(_history(12), window=4096, reserved=512)
    packed = pack(request, tok)
    assert packed.report.total_tokens == len(tok.encode_messages(packed.messages))
    assert packed.report.tokenizer.startswith("gguf:") and packed.report.exact
    assert pack(request, tok) == packed  # deterministic
