"""What the multi-host tests share: a four-step script any worker can answer, and log reading."""

from __future__ import annotations

import json
import re
from typing import Any

TOOL_MODULES = "tests.multihost_tools"
STEPS = 4  # note a, ship, note b, read_note; then the answer


def goal(label: str) -> str:
    return f"multihost run={label}"


def respond(body: dict[str, Any]) -> str:
    """The model: what to do next follows from the run's label and how many tool results it has seen,
    so every worker's model call gets the same answer for the same transcript."""
    texts = [_text(m.get("content")) for m in body.get("messages", [])]
    label = next(m.group(1) for t in texts if (m := re.search(r"multihost run=(\S+)", t)))
    results = [t for t in texts if t.startswith("Result of tool")]
    plan = [("note", {"path": "notes.txt", "line": f"{label} a"}), ("ship", {"label": label}),
            ("note", {"path": "notes.txt", "line": f"{label} b"}), ("read_note", {"path": "notes.txt"})]
    if len(results) < len(plan):
        tool, arguments = plan[len(results)]
        return json.dumps({"action": "call_tool", "tool": tool, "arguments": arguments})
    return json.dumps({"action": "final_answer", "answer": f"notes: {results[-1]}"})


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))

