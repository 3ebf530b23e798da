"""The lines a person reads: one per event, a run's state, the list of runs.

Everything is read from the API's JSON with `.get`: a kind or field newer than this CLI is shown as
far as it is understood, never refused (docs/events.md asks followers to ignore what they do not know).
Where a person can act (a call waits, the model asked), the line ends with the command that acts.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

TERMINAL = {"completed", "failed", "cancelled", "budget_exceeded"}
SHORT = 300  # characters of a tool's output or a reason on an event line; the answer is shown whole


def one_line(text: Any, limit: int | None = SHORT) -> str:
    flat = " ".join(str(text or "").split())
    return flat if limit is None or len(flat) <= limit else flat[: limit - 1] + "…"


def local_time(stamp: Any, with_date: bool = False) -> str:
    """An API timestamp (ISO 8601, UTC) in this machine's time zone; "-" when there is none."""
    if not stamp:
        return "-"
    try:
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).astimezone()
    except ValueError:
        return str(stamp)
    return when.strftime("%Y-%m-%d %H:%M:%S" if with_date else "%H:%M:%S")


def event_line(run_id: str, e: dict[str, Any]) -> str:
    """`HH:MM:SS step N  what happened`, in the terminal's time zone."""
    return f"{local_time(e.get('at'))} step {e.get('step', '?'):<3} {_what(run_id, e)}"


def _what(run_id: str, e: dict[str, Any]) -> str:
    kind = e.get("kind", "?")
    call = f"{e.get('tool')} ({e.get('call_id')})"
    message = one_line(e.get("message"))
    said = f": {message}" if message else ""
    if kind == "status":
        return f"status {e.get('status')}"
    if kind in ("step_started", "step_finished"):
        return kind.replace("_", " ")
    if kind == "model":
        return f"model {e.get('model_event')}: {e.get('model') or '-'}" + (f" ({message})" if message else "")
    if kind == "tool_proposed":
        # An `ask` says why on the approval_needed line that follows; a deny's reason is said here.
        return f"{call} proposed: {e.get('verdict')}" + (said if e.get("verdict") != "ask" else "")
    if kind == "approval_needed":
        cid = e.get("call_id")
        return (f"approval needed: {call}, risk {e.get('risk_level')}{said} -> "
                f"agent approve {run_id} {cid}  |  agent reject {run_id} {cid}")
    if kind == "approval_decided":
        proven = " (signature verified)" if e.get("verified") else ""
        return f"decision: {call} {e.get('decision')} by {e.get('by')}{proven}{said}"
    if kind == "tool_started":
        return f"{call} started"
    if kind == "tool_finished":
        return f"{call} {e.get('result_status')}{said}"
    if kind == "outcome_unknown":
        return f"outcome unknown: {call}{said} -> agent resolve {run_id} {e.get('call_id')} mark_done|retry|abandon"
    if kind == "question":
        return f'question{said} -> agent message {run_id} "your answer"'
    if kind == "budget_warning":
        return f"budget warning ({e.get('budget')}){said}"
    if kind == "result":
        return f"run {run_id} {e.get('status')}: {one_line(e.get('message'), None)}"
    return f"{kind}{said}"  # a kind newer than this CLI: named, not explained


def state_text(run_id: str, s: dict[str, Any]) -> str:
    """The state query's answer (GET /v1/runs/{id}) as a person reads it."""
    lines = [f"run {run_id}: {s.get('status')} (step {s.get('step')})", f"  goal: {one_line(s.get('goal'))}"]
    if s.get("last_action"):
        lines.append(f"  last action: {one_line(s['last_action'])}")
    for p in s.get("pending_approvals") or []:
        cid = p.get("tool_call_id")
        lines.append(f"  waiting for approval: {p.get('tool')} ({cid}), risk {p.get('risk_level')}, "
                     f"expires {local_time(p.get('expires_at'), with_date=True)}")
        lines.append(f"    arguments: {one_line(json.dumps(p.get('arguments')))}")
        if p.get("signature_required"):
            lines.append(f"    needs a signed approval: python -m worker.approve {run_id} {cid} --key KEY_FILE")
        else:
            lines.append(f"    agent approve {run_id} {cid}  |  agent reject {run_id} {cid}")
    for r in s.get("pending_resolutions") or []:
        lines.append(f"  outcome unknown: {r.get('tool')} ({r.get('tool_call_id')}): {one_line(r.get('message'))}")
        lines.append(f"    agent resolve {run_id} {r.get('tool_call_id')} mark_done|retry|abandon")
    if s.get("question"):
        lines.append(f"  question: {one_line(s['question'])}")
        lines.append(f'    agent message {run_id} "your answer"')
    lines.append(f"  usage: {usage_text(s.get('usage') or {}, s.get('budgets') or {})}")
    result = s.get("result")
    if result:
        lines.append(f"  result: {result.get('status')}: {one_line(result.get('answer') or result.get('reason'), None)}")
    return "\n".join(lines)


def usage_text(u: dict[str, Any], b: dict[str, Any]) -> str:
    tokens = u.get("prompt_tokens", 0) + u.get("completion_tokens", 0)
    cost = f"${u.get('cost_usd', 0):.6f}" + (f" of ${b['max_cost_usd']:g}" if b.get("max_cost_usd") is not None else "")
    return (f"{tokens} of {b.get('max_tokens', '?')} tokens, {cost}; {u.get('model_calls', 0)} of "
            f"{b.get('max_steps', '?')} steps, {u.get('tool_calls', 0)} tool calls")


def runs_text(page: dict[str, Any]) -> str:
    runs = page.get("runs") or []
    if not runs:
        return "no runs"
    width = max(len(str(r.get("id"))) for r in runs)
    lines = [f"{'ID':<{width}}  {'STATUS':<18}  {'STARTED':<19}  CLOSED"]
    lines += [f"{r.get('id')!s:<{width}}  {r.get('status') or '-':<18}  {local_time(r.get('started_at'), True):<19}  "
              f"{local_time(r.get('closed_at'), True)}" for r in runs]
    return "\n".join(lines)
