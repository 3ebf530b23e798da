"""What a person reads about a run in the Temporal Web UI and `temporal workflow metadata`: a one-line
summary on every activity and timer, and the run's current details in Markdown.

Pure functions over values the workflow already holds, so they are deterministic and replay as they
ran. Every string is bounded (a summary to one line of SUMMARY_LIMIT characters, the details to
DETAILS_LIMIT) and carries no secret: argument values whose key names a credential are masked, long
values are cut. Summaries are payloads, so the project's codec encrypts them like any other payload.
Changing a summary changes no command: histories recorded before (or with other texts) still replay.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

SUMMARY_LIMIT = 160
DETAILS_LIMIT = 6000
_VALUE_LIMIT = 60
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|api[_-]?key|auth|credential|private|signature|cookie", re.I)
_SPACE = re.compile(r"\s+")


def one_line(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """Collapse whitespace (a summary is one line) and cut to `limit` characters."""
    flat = _SPACE.sub(" ", text).strip()
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def safe_arguments(arguments: dict[str, Any], limit: int = _VALUE_LIMIT) -> dict[str, Any]:
    """Arguments as a person may see them: credentials masked, long values cut (nested values too)."""

    def clean(key: str, value: Any) -> Any:
        if _SECRET_KEY.search(key):
            return "***"
        if isinstance(value, dict):
            return {k: clean(str(k), v) for k, v in list(value.items())[:20]}
        if isinstance(value, list):
            return [clean(key, v) for v in value[:10]]
        if isinstance(value, str):
            return one_line(value, limit)
        return value

    return {str(k): clean(str(k), v) for k, v in arguments.items()}


_SUBJECT_KEYS = ("path", "file", "filename", "url", "name", "query", "expression", "command")


def _subject(arguments: dict[str, Any]) -> str:
    """The argument a person recognises a call by: a path, URL, name or query if there is one, else the
    first non-secret string value; cut to 40 characters."""
    cleaned = safe_arguments(arguments, 40)
    ordered = sorted(cleaned.items(), key=lambda kv: (kv[0] not in _SUBJECT_KEYS,
                                                      _SUBJECT_KEYS.index(kv[0]) if kv[0] in _SUBJECT_KEYS else 0))
    for _key, value in ordered:
        if isinstance(value, str) and value != "***":
            return value
    return ""


# ---- activity and timer summaries -------------------------------------------------------------


def model_call(step: int, model: str | None, kind: str, new_messages: int | None = None) -> str:
    """E.g. "step 3 · qwen2.5 → act (2 new messages)"; the decision is in the activity's result."""
    extra = f" ({new_messages} new message{'s' * (new_messages != 1)})" if new_messages else ""
    return one_line(f"step {step} · {model or 'default model'} → {kind}{extra}")


def tool_call(tool: str, arguments: dict[str, Any], call_id: str) -> str:
    """E.g. "write_file poem.txt · call-3-1"."""
    subject = _subject(arguments)
    return one_line(f"{tool}{' ' + subject if subject else ''} · {call_id}")


def ledger(action: str, tool: str, call_id: str, by: str | None = None) -> str:
    """The ledger's bookkeeping around an approval: "propose write_file · call-3-1"."""
    return one_line(f"{action} {tool} · {call_id}{f' by {by}' if by else ''}")


def ledger_step(input: Any) -> str:
    """The summary of tools.propose / tools.approve_call, from its input."""
    if hasattr(input, "tool_call"):
        return one_line(f"ledger: propose {input.tool_call.tool} · {input.tool_call.id}, awaiting approval")
    call_id = input.idempotency_key.rsplit("/", 1)[-1]
    return one_line(f"ledger: {call_id} approved by {getattr(input, 'approver', '?')}")


def compaction(start: int, end: int, model: str) -> str:
    return one_line(f"compaction of {max(end - start, 0)} messages (turns {start}-{end}) by {model}")


def approval_timer(tool: str, call_id: str, timeout_s: float) -> str:
    return one_line(f"approval of {tool} {call_id} expires after {_duration(timeout_s)}")


def question_timer(timeout_s: float) -> str:
    return one_line(f"waiting for a person's answer, at most {_duration(timeout_s)}")


def retrieval(goal: str) -> str:
    return one_line(f"retrieve documents and memories for: {goal}")


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:g} {unit}"
    return f"{seconds:g} s"


# ---- the run: static summary and current details ------------------------------------------------


def run_summary(goal: str, tenant: str) -> str:
    """The static summary a starter gives the run: the goal and the tenant."""
    return one_line(f"{goal} · tenant {tenant}")


def start_metadata(request: Any) -> dict[str, str]:
    """`static_summary` and `static_details` for Client.start_workflow (the CLI: --static-summary)."""
    return {"static_summary": run_summary(request.goal, request.tenant_id),
            "static_details": run_details(request.model, request.budgets)}


def run_details(model: str | None, budgets: Any) -> str:
    """Static details: what the run was started with (budgets and model), in Markdown."""
    cost = f"${budgets.max_cost_usd:g}" if budgets.max_cost_usd is not None else "no limit"
    return (f"**Model:** {model or 'the route of the models file'}  \n"
            f"**Budgets:** {budgets.max_steps} steps, {budgets.max_tokens} tokens, cost {cost}, "
            f"{budgets.max_wall_time_s:g} s")


def approve_commands(run_id: str, pending: Any) -> list[str]:
    """The exact commands a person runs to decide a pending approval."""
    reject = json.dumps({"tool_call_id": pending.tool_call_id, "approver": "YOU", "comment": "why"})
    if pending.signature_required:
        approve = f"python -m worker.approve {run_id} {pending.tool_call_id} --key KEY_FILE --approver YOU"
    else:
        body = json.dumps({"tool_call_id": pending.tool_call_id, "approver": "YOU"})
        approve = f"temporal workflow update execute -w {run_id} --name approve --input '{body}'"
    return [approve, f"temporal workflow update execute -w {run_id} --name reject --input '{reject}'"]


def current_details(
    *,
    run_id: str,
    status: str,
    step: int,
    last_action: str | None,
    usage: Any,
    budgets: Any,
    pending: list[Any],
    unresolved: list[Any],
    question: str | None,
    continued_runs: int,
    now: datetime,
) -> str:
    """The run as it stands, in Markdown: status, step, last action, usage against budgets, and each
    pending approval with the commands that decide it. Bounded to DETAILS_LIMIT characters."""
    cost_limit = f" of ${budgets.max_cost_usd:g}" if budgets.max_cost_usd is not None else ""
    lines = [
        f"**Status:** {status} · **step** {step} of {budgets.max_steps}"
        + (f" · run {continued_runs + 1} of its chain" if continued_runs else ""),
        f"**Last action:** {one_line(last_action or '-', 300)}",
        f"**Usage:** {usage.total_tokens} of {budgets.max_tokens} tokens "
        f"({usage.cached_prompt_tokens} cached) · ${usage.cost_usd:.6f}{cost_limit} · "
        f"{usage.model_calls} model calls, {usage.tool_calls} tool calls",
    ]
    if question:
        lines += ["", f"**Question for a person:** {one_line(question, 300)}",
                  f"Answer: `temporal workflow signal -w {run_id} --name user_message "
                  f"--input '{{\"text\": \"...\", \"user\": \"YOU\"}}'`"]
    for p in pending[:5]:
        left = max((p.expires_at - now).total_seconds(), 0)
        lines += ["", f"**Waiting for approval:** `{p.tool}` {p.tool_call_id} · risk {p.risk_level}"
                      f"{' · signed approval required' if p.signature_required else ''} · "
                      f"expires {p.expires_at:%Y-%m-%d %H:%M} UTC (in {_duration(left)})",
                  f"Arguments: `{one_line(json.dumps(safe_arguments(p.arguments), ensure_ascii=False), 400)}`",
                  f"Reason: {one_line(p.reason, 200)}"]
        lines += [f"- `{command}`" for command in approve_commands(run_id, p)]
    if len(pending) > 5:
        lines.append(f"\n…and {len(pending) - 5} more: `temporal workflow query -w {run_id} --name state`")
    for r in unresolved[:5]:
        lines += ["", f"**Outcome unknown:** `{r.tool}` {r.tool_call_id}: {one_line(r.message or '', 200)}",
                  f"- `temporal workflow update execute -w {run_id} --name resolve_outcome --input "
                  f"'{{\"tool_call_id\": \"{r.tool_call_id}\", \"decision\": \"mark_done|retry|abandon\"}}'`"]
    text = "\n".join(lines)
    return text if len(text) <= DETAILS_LIMIT else text[: DETAILS_LIMIT - 1] + "…"
