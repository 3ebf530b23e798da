"""The context pack: the prompt as sent, counted in the server's tokens, and never cut silently.

Layout (what stays identical between steps comes first, so the server's prefix cache hits):
  1. the pinned block (P0): the system message with the tool catalogue and reply format, and the goal
  2. the transcript, append-only, each message as sent: P2 older turns, P1 the newest `recent_turns`
     and compaction summaries, P3 error traces and debug output sanitized to one line in place (so
     the rest of the prefix does not move), and P0 the newest turn: the model's last decision and
     what followed it (its tool results, messages from people)
Beside the messages the request may carry a schema or tool definitions that the server counts
(`overhead`); it is part of P0.

Nothing of the transcript is ever dropped here. Past the threshold (80% of the window) the report
names the oldest turns to summarize, `[compact_start, compact_end)`, and the workflow compacts after
the call. Past the hard budget (window less the reserved reply) nothing is sent: the report says
`over_budget`, names the turns whose summary makes the prompt fit, and the workflow compacts before
it calls again; when no compaction can make it fit (P0 alone is too big) the report names no range
and the run stops, saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from activities.context.calibration import tokens as in_server_tokens
from activities.context.history_index import HistoryIndex
from activities.context.tokens import TokenCounter
from workflows.contracts import Message, TokenCalibration
from workflows.contracts.context import ContextBudget, PackNote, PackReport, Priority, preview

SUMMARY_NAME = "context_summary"  # Message.name of a compaction summary in the transcript
SUMMARY_TOKENS_ESTIMATE = 400
RECENT_TURNS = 6  # newest transcript messages kept as P1: compaction summarizes older ones first
_TRACE = re.compile(
    r"Traceback \(most recent call last\)|^\s+at [\w.$<>]+\(.*:\d+\)|^\s*File \".+\", line \d+|panicked at|core dumped",
    re.MULTILINE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class PackedContext:
    messages: list[Message]  # the whole prompt as it would be sent
    report: PackReport  # says `over_budget` when it must not be sent as it is
    counted: int  # the counter's tokens of the whole request, before calibration


def is_debug_output(message: Message) -> bool:
    """Raw error traces and debug dumps: P3. Stack-trace markers, or a tool's stderr/debug channel."""
    if message.role in ("system", "assistant"):
        return False
    return message.name in ("debug", "stderr") or bool(_TRACE.search(message.content))


def sanitize_line(text: str, limit: int = 200) -> str:
    """One line: how big the original was and its last meaningful line (a trace's exception line)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    last = _CONTROL.sub("", lines[-1]) if lines else ""
    head = f"[debug output sanitized: {len(lines)} lines, {len(text)} chars] "
    room = max(limit - len(head), 20)
    return head + (last if len(last) <= room else last[: room - 1] + "…")


def pack(head: list[Message], history: list[Message], index: HistoryIndex, budget: ContextBudget,
         counter: TokenCounter, calibration: TokenCalibration, overhead: int = 0,
         recent_turns: int = RECENT_TURNS) -> PackedContext:
    """The prompt `head + history` as sent, and whether it fits (the report). Deterministic:
    the same input, counter and calibration give the same pack. `index` is `history`'s (one per chain
    head, so a step costs what is new); `overhead` is the counter's tokens of what the request
    carries beside its messages that the server counts."""
    n = len(history)
    if index.length != n:
        raise ValueError(f"the index holds {index.length} messages, the history {n}")
    sent = index.sent
    head_tokens = [counter.message_tokens(m) for m in head]
    if counter.additive:
        counted = sum(head_tokens) + index.tokens_between(0, n) + overhead
    else:
        counted = counter.count_messages([*head, *sent]) + overhead
    total = in_server_tokens(counted, calibration)

    def tokens(raw: int) -> int:
        return in_server_tokens(raw, calibration)

    newest = index.newest_turn
    recent_start = max(n - recent_turns, 0)
    summaries, debug = set(index.summaries), set(index.debug)
    by_priority: dict[Priority, int] = {
        "P0": tokens(sum(head_tokens) + overhead + index.tokens_between(newest, n)), "P1": 0, "P2": 0, "P3": 0}
    notes: list[PackNote] = []
    for i in sorted(debug):
        if i < newest:
            by_priority["P3"] += tokens(index.tokens(i))
        notes.append(PackNote(section="history", index=i, priority="P0" if i >= newest else "P3",
                              action="sanitized", reason="error trace / debug output reduced to one line",
                              tokens_before=tokens(index.debug_tokens(i)), tokens_after=tokens(index.tokens(i)),
                              preview=preview(sent[i].content, 120)))
    p1 = [i for i in range(min(recent_start, newest), newest) if i not in debug]
    p1 += [i for i in summaries if i < min(recent_start, newest)]
    by_priority["P1"] = tokens(sum(index.tokens(i) for i in p1))
    by_priority["P2"] = max(total - by_priority["P0"] - by_priority["P1"] - by_priority["P3"], 0)

    over = total > budget.budget_tokens
    needs = total > budget.threshold_tokens
    start = end = None
    if needs and not (over and by_priority["P0"] > budget.budget_tokens):
        # Over the budget the range may reach the newest turn; under it, it stops short of the recent ones.
        limit = newest if over else min(newest, recent_start)
        start, end = _compaction_range(history, index, limit, total - budget.target_tokens, tokens)
    report = PackReport(
        tokenizer=counter.name, exact=counter.exact, total_tokens=total, budget_tokens=budget.budget_tokens,
        threshold_tokens=budget.threshold_tokens, tokens_by_priority=by_priority, prefix_messages=len(head) + n,
        notes=notes, needs_compaction=needs, compact_start=start, compact_end=end, over_budget=over,
        history_messages=n, sent_messages=0 if over else n, counted_tokens=counted, overhead_tokens=tokens(overhead),
        newest_turn=newest)
    return PackedContext(messages=[*head, *sent], report=report, counted=counted)


def _compaction_range(history: list[Message], index: HistoryIndex, limit: int, excess: int,
                      tokens) -> tuple[int | None, int | None]:
    """The oldest turns [0, end) whose summary frees `excess` tokens: the smallest such end before
    `limit`, or all of them when none is enough; never ending between a tool call and its result.
    None when there is nothing to summarize but one earlier summary."""
    removed, end = 0, 0
    while end < limit:
        removed += tokens(index.tokens(end))
        end += 1
        if removed - SUMMARY_TOKENS_ESTIMATE >= excess:
            break
    while end < limit and history[end].role == "tool":
        end += 1  # keep a call and its results together
    while 0 < end < len(history) and history[end].role == "tool":
        end -= 1  # at the limit: leave the call with its results
    if end == 0 or (end == 1 and history[0].name == SUMMARY_NAME):
        return None, None
    return 0, end
