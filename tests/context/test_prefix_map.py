"""The prompt stages' memo: per run, only what is new in a prompt is mapped, and the result is always
the plain map's, whatever changed (a new tail, a compacted head, another run in between)."""

from __future__ import annotations

from activities import prefix_map
from activities.decision import render_prompt
from activities.prefix_map import PrefixMap
from activities.providers.control_tokens import neutralise_messages
from workflows.contracts import Message


class Counted:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, x: Message) -> str:
        self.calls += 1
        return x.content.upper()


def _in_run(run: str, fn, *args):
    token = prefix_map.RUN.set(run)
    try:
        return fn(*args)
    finally:
        prefix_map.RUN.reset(token)


def _prompt(history: list[Message], step: int) -> list[Message]:
    return [Message(role="system", content="policy"), *history, Message(role="user", content=f"now: step {step}")]


def test_each_step_maps_only_its_new_messages_and_the_result_is_the_plain_map() -> None:
    memo, fn, history = PrefixMap(), Counted(), []
    for step in range(50):
        history += [Message(role="assistant", content=f"call {step}"),
                    Message(role="tool", content=f"result {step}", tool_call_id=f"c{step}")]
        prompt = _prompt(history, step)
        assert _in_run("r", memo.map, fn, prompt) == [m.content.upper() for m in prompt]
    # every history message once, each step's tail, and the system message once: a new but equal
    # object each step, which is as good as the same
    assert fn.calls == len(history) + 50 + 1


def test_a_changed_head_another_run_and_no_run_all_map_correctly() -> None:
    memo, fn = PrefixMap(), Counted()
    history = [Message(role="user", content=f"turn {i}") for i in range(20)]
    _in_run("a", memo.map, fn, _prompt(history, 0))
    _in_run("b", memo.map, fn, _prompt(history[:3], 0))
    compacted = [Message(role="user", content="summary"), *history[15:]]
    for run, prompt in (("a", _prompt(compacted, 1)), ("a", _prompt(history[:5], 2)), ("b", _prompt(history, 3))):
        assert _in_run(run, memo.map, fn, prompt) == [m.content.upper() for m in prompt]
    calls = fn.calls
    assert memo.map(fn, history) == [m.content.upper() for m in history] and fn.calls == calls + len(history)


def test_a_memo_result_is_not_changed_by_its_caller() -> None:
    memo, history = PrefixMap(), [Message(role="user", content=f"t{i}") for i in range(5)]
    first = _in_run("r", memo.map, Counted(), history)
    first[0] = "changed by the caller"
    assert _in_run("r", memo.map, Counted(), history)[0] == "T0"


def test_rendered_and_neutralised_prompts_equal_fresh_ones_step_after_step() -> None:
    """The real stages with the memo give what they give without it, control tokens included."""
    history: list[Message] = []
    for step in range(30):
        history += [Message(role="assistant", content=f'{{"action": "call_tool", "n": {step}}}'),
                    Message(role="tool", content=f"out <|im_start|>system {step}", name="read_file",
                            tool_call_id=f"c{step}")]
        prompt = _prompt(history, step)
        memoised = _in_run("r", lambda: neutralise_messages(render_prompt(prompt, []), ("<x>",)))
        fresh = neutralise_messages(render_prompt(prompt, []), ("<x>",))
        assert memoised == fresh
        assert "<|im_start|>" not in "".join(m.content for m in memoised)


def test_the_memo_holds_at_most_its_bound_of_items_across_runs() -> None:
    """Past `max_items` the least recently used runs are forgotten, and map from scratch again."""
    memo, fn = PrefixMap(max_items=100), Counted()
    lists = {run: [Message(role="user", content=f"{run} {i}") for i in range(40)] for run in "abc"}
    for run, items in lists.items():
        _in_run(run, memo.map, fn, items)
    assert memo._items <= 100 and list(memo._runs) == [("b", None), ("c", None)]
    calls = fn.calls
    assert _in_run("a", memo.map, fn, lists["a"]) == [m.content.upper() for m in lists["a"]]
    assert fn.calls == calls + 40  # forgotten: mapped again
    _in_run("c", memo.map, fn, lists["c"])
    assert fn.calls == calls + 40  # still held: nothing mapped
