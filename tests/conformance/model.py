"""The model behind the conformance server: it decides only from the request it is sent, as a real one.

The task: add 1, 2, ..., N to a running total with the `add` tool, one addition a step, then record the
total once with `record_total`, then answer with it. What the model knows is what the prompt shows:
the results of the additions it can see, and what a compaction summary says of the ones it cannot.
A prompt that lost a turn shows it at once: the model adds again, records again, or answers wrong.

As the summarizer it reads the turns it is given and writes what a faithful summary keeps: how many
additions were done, the running total, whether the total was recorded.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.conformance.server import is_decision
from tests.wire_server import _text

LEDGERS = ("latin", "digits", "cjk")
_RESULT = re.compile(r"Result of tool (add|record_total) \((call-[\d-]+)\)[^\n]*\n(\{.*)")
_SUMMARY = re.compile(r"additions done: (\d+); running total: (\d+); recorded: (yes|no)")


_GOAL = re.compile(r"Goal: (?:\[(\w+)\] )?Add the numbers 1 to (\d+)")


def goal(n: int, tag: str = "") -> str:
    """The task; a tag tells runs apart that share a server (it is part of what the total is recorded as)."""
    return (f"{f'[{tag}] ' if tag else ''}Add the numbers 1 to {n} to a running total, one addition a step with the "
            "add tool; then record the total once with record_total; then answer with the total.")


def _texts(body: dict[str, Any]) -> list[str]:
    system = [block.get("text", "") for block in body.get("system") or []]
    return system + [_text(m["content"]) for m in body["messages"]]


def progress(texts: list[str]) -> tuple[int, int, bool]:
    """(additions seen, running total, recorded) from summaries and tool results, in prompt order."""
    done, total, recorded = 0, 0, False
    for text in texts:
        for match in _SUMMARY.finditer(text):
            done, total, recorded = int(match.group(1)), int(match.group(2)), match.group(3) == "yes"
        for match in _RESULT.finditer(text):
            result = json.loads(match.group(3))
            if result.get("status") != "ok":
                continue  # a failed call is no addition: the model tries it again
            data = result.get("data") or {}
            if match.group(1) == "add":
                done, total = done + 1, data["sum"]
            else:
                recorded = True
    return done, total, recorded


def decide(lines: int):
    """The responder for a ConformanceServer: decisions as JSON text, summaries as plain text. What to
    add up to, and the run's tag, it reads from the goal in the request."""

    def respond(body: dict[str, Any]) -> str:
        texts = _texts(body)
        if not is_decision(body):
            return summarize(texts)
        tag, n = next(m.groups() for text in texts if (m := _GOAL.search(text)))
        n = int(n)
        done, total, recorded = progress(texts)
        if done < n:
            arguments = {"a": total, "b": done + 1, "ledger": LEDGERS[done % len(LEDGERS)], "lines": lines}
            return json.dumps({"action": "call_tool", "tool": "add", "arguments": arguments})
        if not recorded:
            label = f"total={total}{tag or ''}"
            return json.dumps({"action": "call_tool", "tool": "record_total", "arguments": {"label": label}})
        return json.dumps({"action": "final_answer", "answer": f"The total is {total}."})

    return respond


def summarize(texts: list[str]) -> str:
    """What the compaction summary of these turns keeps (the summarizer's request holds them as lines)."""
    lines = texts[-1].splitlines()
    done, total, recorded = 0, 0, False
    for line in lines:
        if match := _SUMMARY.search(line):
            done, total, recorded = int(match.group(1)), int(match.group(2)), match.group(3) == "yes"
        elif line.startswith("[tool add] "):
            done, total = done + 1, json.loads(line.removeprefix("[tool add] "))["data"]["sum"]
        elif line.startswith("[tool record_total] "):
            recorded = True
    return f"additions done: {done}; running total: {total}; recorded: {'yes' if recorded else 'no'}"
