"""The context pack: priority-tagged, prefix-stable, within an exact token budget, never silently cut.

Layout (what stays identical between steps comes first, so the server's prefix cache hits):
  1. pinned (P0): system prompt, policy, goal        -- never evicted, verbatim
  2. tool schemas (P0), sorted by name, canonical JSON -- or appended to the system message by the renderer
  3. history, append-only: P2 older turns, P1 the newest `recent_turns`; P3 items (error traces,
     debug output) sanitized to one line in place, so the rest of the prefix does not move
  4. tail, changes every step: working memory (P1), current task (P0), volatile items (timestamps,
     retrieved passages) last
Over the threshold (default 80% of the window) the report names the oldest P2 turns to summarize.
Over the hard budget (window minus reserved output) items are dropped in this order: P3, P2 (oldest
first), volatile, working memory, P1 history (oldest first); P0 never, and a P0 that alone does not
fit is an error. Every sanitized or dropped item is a note in the report.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from activities.context.contracts import PackContextInput, PackNote, PackReport, Priority, preview
from activities.context.history_index import HistoryIndex, Indexer
from activities.context.tokens import TokenCounter
from activities.text_cache import per_text
from workflows.contracts import Message, ToolSpec, canonical_json

SUMMARY_NAME = "context_summary"  # Message.name of a compaction summary in the transcript
SUMMARY_TOKENS_ESTIMATE = 400
_TRACE = re.compile(
    r"Traceback \(most recent call last\)|^\s+at [\w.$<>]+\(.*:\d+\)|^\s*File \".+\", line \d+|panicked at|core dumped",
    re.MULTILINE,
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ContextBudgetExceeded(ValueError):
    """P0 alone (or P0 + what may not be dropped) does not fit the model's budget."""


@dataclass(frozen=True)
class PackedContext:
    messages: list[Message]
    report: PackReport
    raw_tokens: int | None = None  # the estimating counter's raw sum of `messages`, where it was summed


@dataclass
class _Item:
    section: str  # pinned | tools | history | working_memory | current_task | volatile
    index: int
    priority: Priority
    message: Message
    tokens: int
    kept: bool = True


def tool_block(tools: list[ToolSpec]) -> Message:
    """Tool schemas sorted by name and canonically serialized: byte-identical for the same tools."""
    lines = [canonical_json(t.model_dump(mode="json", include={"name", "description", "risk_level", "parameters"}))
             for t in sorted(tools, key=lambda t: t.name)]
    return Message(role="system", content="Tools:\n" + "\n".join(lines))


def is_debug_output(message: Message) -> bool:
    """Raw error traces and debug dumps: P3. Stack-trace markers, or a tool's stderr/debug channel."""
    if message.role in ("system", "assistant"):
        return False
    return message.name in ("debug", "stderr") or _has_trace(message.content)


# Every step packs the whole transcript again; the same message texts come back each time (the chain
# cache hands out the same objects), so each is scanned once, not once per step.
@per_text
def _has_trace(content: str) -> bool:
    return bool(_TRACE.search(content))


def sanitize_line(text: str, limit: int = 200) -> str:
    """One line: how big the original was and its last meaningful line (a trace's exception line)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    last = _CONTROL.sub("", lines[-1]) if lines else ""
    head = f"[debug output sanitized: {len(lines)} lines, {len(text)} chars] "
    room = max(limit - len(head), 20)
    return head + (last if len(last) <= room else last[: room - 1] + "…")


def pack(request: PackContextInput, counter: TokenCounter, index: HistoryIndex | None = None) -> PackedContext:
    """Build the ordered messages and the report. Deterministic: same input, same counter, same pack.

    With the `index` of `request.history` (estimating counter only), a pack that fits under the
    compaction threshold is built from the index in O(new messages); anything else, the full way."""
    if index is not None and (fits := _pack_indexed(request, counter, index)) is not None:
        return fits
    budget = request.budget
    notes: list[PackNote] = []
    items: list[_Item] = [_Item("pinned", i, "P0", m, counter.message_tokens(m)) for i, m in enumerate(request.pinned)]
    tools_tokens = 0
    if request.tools:
        block = tool_block(request.tools)
        tools_tokens = counter.message_tokens(block)
        if request.render_tools:
            items.append(_Item("tools", 0, "P0", block, tools_tokens))
            tools_tokens = 0
    recent_start = max(len(request.history) - request.recent_turns, 0)
    for i, m in enumerate(request.history):
        if i < request.protected:
            item = _Item("history", i, "P0", m, counter.message_tokens(m))
        elif m.name == SUMMARY_NAME:
            # A compaction summary stands for many turns in few tokens: evicting it loses the most.
            item = _Item("history", i, "P1", m, counter.message_tokens(m))
        elif is_debug_output(m):
            before = counter.message_tokens(m)
            m = m.model_copy(update={"content": sanitize_line(m.content)})
            item = _Item("history", i, "P3", m, counter.message_tokens(m))
            notes.append(_note(item, "sanitized", "error trace / debug output reduced to one line", before))
        else:
            item = _Item("history", i, "P1" if i >= recent_start else "P2", m, counter.message_tokens(m))
        items.append(item)
    items += [_Item("working_memory", i, "P1", m, counter.message_tokens(m)) for i, m in enumerate(request.working_memory)]
    items += [_Item("current_task", i, "P0", m, counter.message_tokens(m)) for i, m in enumerate(request.current_task)]
    items += [_Item("volatile", i, "P1", m, counter.message_tokens(m)) for i, m in enumerate(request.volatile)]

    total = _exact_total(counter, items, tools_tokens)
    compact_start, compact_end = _compaction_range(request, items, total)
    needs_compaction = total > budget.threshold_tokens

    # Over the hard budget: drop in eviction order, deciding on per-item counts (one exact count of
    # the whole prompt up front), then re-check exactly: template framing may differ by a few tokens.
    order, pos, running = _eviction_order(items), 0, total
    while running > budget.budget_tokens and pos < len(order):
        victim, pos = order[pos], pos + 1
        victim.kept = False
        running -= victim.tokens
        notes.append(_note(victim, "dropped", f"over the {budget.budget_tokens}-token budget", victim.tokens, 0))
    final_total = _exact_total(counter, items, tools_tokens)
    while final_total > budget.budget_tokens and pos < len(order):
        victim, pos = order[pos], pos + 1
        victim.kept = False
        notes.append(_note(victim, "dropped", f"over the {budget.budget_tokens}-token budget", victim.tokens, 0))
        final_total = _exact_total(counter, items, tools_tokens)
    if final_total > budget.budget_tokens:
        raise ContextBudgetExceeded(
            f"P0 needs {final_total} tokens but the budget is {budget.budget_tokens} "
            f"(window {budget.context_window} - reserved output {budget.reserved_output}); "
            "shorten the goal or system prompt, or use a model with a larger window"
        )

    kept = [it for it in items if it.kept]
    by_priority: dict[Priority, int] = {"P0": tools_tokens, "P1": 0, "P2": 0, "P3": 0}
    for it in kept:
        by_priority[it.priority] += it.tokens
    stable = sum(1 for it in kept if it.section in ("pinned", "tools", "history"))
    report = PackReport(
        tokenizer=counter.name, exact=counter.exact, total_tokens=final_total, budget_tokens=budget.budget_tokens,
        threshold_tokens=budget.threshold_tokens, tokens_by_priority=by_priority, prefix_messages=stable,
        notes=notes, needs_compaction=needs_compaction,
        compact_start=compact_start if needs_compaction else None,
        compact_end=compact_end if needs_compaction else None,
    )
    return PackedContext(messages=[it.message for it in kept], report=report)


def _pack_indexed(request: PackContextInput, counter, index: HistoryIndex) -> PackedContext | None:
    """The pack when nothing is dropped or compacted, from the index: the same messages, total, notes
    and prefix as the full way; P2's tokens are estimated in one sum, not message by message. None
    when the pack would need compaction or eviction: the full way decides those."""
    budget, history, n = request.budget, request.history, len(request.history)
    if index.length != n:
        raise ValueError(f"the index holds {index.length} messages, the history {n}")
    ratio = counter.ratio

    def tokens(raw: int) -> int:
        return math.ceil(raw * ratio)

    head = list(request.pinned)
    tools_tokens = 0
    if request.tools:
        block = tool_block(request.tools)
        if request.render_tools:
            head.append(block)
        else:
            tools_tokens = counter.message_tokens(block)
    tail = [*request.working_memory, *request.current_task, *request.volatile]
    head_raw = [counter.raw_tokens(m) for m in head]
    tail_raw = [counter.raw_tokens(m) for m in tail]
    raw_total = sum(head_raw) + index.raw_between(0, n) + sum(tail_raw)
    total = tools_tokens + tokens(raw_total)
    if total > budget.threshold_tokens or total > budget.budget_tokens:
        return None

    protected = min(request.protected, n)
    recent_start = max(n - request.recent_turns, protected)
    packed = index.packed
    by_priority: dict[Priority, int] = {"P0": tools_tokens + sum(map(tokens, head_raw)), "P1": 0, "P2": 0, "P3": 0}
    for i in range(protected):
        packed[i] = history[i]  # P0 is packed verbatim, debug output included
        by_priority["P0"] += counter.message_tokens(history[i])
    special = set(range(recent_start, n))
    notes: list[PackNote] = []
    for i in index.summaries:
        if i >= protected:
            special.add(i)
    for i in index.debug:
        if i >= protected:
            special.add(i)
            item = _Item("history", i, "P3", packed[i], tokens(index.raw(i)))
            notes.append(_note(item, "sanitized", "error trace / debug output reduced to one line",
                               tokens(index.debug_raw(i))))
    debug = set(index.debug)  # never a summary: the index tells them apart
    special_raw = 0
    for i in special:
        special_raw += index.raw(i)
        by_priority["P3" if i in debug else "P1"] += tokens(index.raw(i))
    by_priority["P2"] = tokens(index.raw_between(protected, n) - special_raw)
    wm = len(request.working_memory)
    by_priority["P1"] += sum(map(tokens, tail_raw[:wm])) + sum(map(tokens, tail_raw[wm + len(request.current_task):]))
    by_priority["P0"] += sum(map(tokens, tail_raw[wm: wm + len(request.current_task)]))
    report = PackReport(
        tokenizer=counter.name, exact=counter.exact, total_tokens=total, budget_tokens=budget.budget_tokens,
        threshold_tokens=budget.threshold_tokens, tokens_by_priority=by_priority,
        prefix_messages=len(head) + n, notes=notes, needs_compaction=False)
    return PackedContext(messages=[*head, *packed, *tail], report=report, raw_tokens=raw_total)


# Packing's view of each transcript message, per chain head (activities/context/history_index.py).
INDEXER = Indexer(SUMMARY_NAME, is_debug_output, sanitize_line)


def _compaction_range(request: PackContextInput, items: list[_Item], total: int) -> tuple[int | None, int | None]:
    """The oldest P2 turns [protected, k) whose summary brings the pack to the target: the smallest such k,
    never into the P1 window, never ending between a tool call and its result."""
    history = [it for it in items if it.section == "history"]
    older = [it for it in history if it.priority in ("P2", "P3") and it.index < len(history) - request.recent_turns]
    if not older or all(it.message.name == SUMMARY_NAME for it in older):
        return None, None
    target = request.budget.target_tokens
    removed, end = 0, request.protected
    for it in older:
        removed += it.tokens
        end = it.index + 1
        if total - removed + SUMMARY_TOKENS_ESTIMATE <= target:
            break
    limit = len(history) - request.recent_turns
    while end < limit and request.history[end].role == "tool":
        end += 1  # keep a call and its result together
    return request.protected, end


def _eviction_order(items: list[_Item]) -> list[_Item]:
    def of(section: str, *priorities: str) -> list[_Item]:
        return [it for it in items if it.section == section and it.priority in priorities]

    recent = of("history", "P1")
    summaries = [it for it in recent if it.message.name == SUMMARY_NAME]
    return [*of("history", "P3"), *of("history", "P2"), *of("volatile", "P1"),
            *of("working_memory", "P1"), *[it for it in recent if it not in summaries], *summaries]


def _exact_total(counter: TokenCounter, items: list[_Item], tools_tokens: int) -> int:
    return tools_tokens + counter.count_messages([it.message for it in items if it.kept])


def _note(item: _Item, action: str, reason: str, before: int, after: int | None = None) -> PackNote:
    return PackNote(section=item.section, index=item.index, priority=item.priority, action=action, reason=reason,
                    tokens_before=before, tokens_after=item.tokens if after is None else after,
                    preview=preview(item.message.content, 120))
