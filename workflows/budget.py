"""Budget checks made before a model call, in workflow code, so every stop is decided from history.

Every call a run makes (each decision, each compaction) is checked here first against the run's
token and cost budgets at its worst case: the largest prompt it may send, all of it uncached, and the
longest reply it may get. A run therefore ends with `budget_exceeded` before the call that could
overshoot, never after it; its totals stay within `max_tokens` and `max_cost_usd`.
"""

from __future__ import annotations

from temporalio import workflow

from workflows.contracts import Budgets, DecideResult, Message, ModelInfo, RunUsage, SpendLimit
from workflows.contracts.context import PackReport
from workflows.routing import estimate_tokens, next_call_cost
from workflows.run import Run

# Recorded as a marker in new runs; runs recorded before it check only the cost, as they did.
BUDGET_PATCH = "budget-every-call"
# The summarizer's instructions and per-turn framing, on top of the turns themselves.
SUMMARY_PROMPT_OVERHEAD = 256


def call_over_budget(usage: RunUsage, budgets: Budgets, model: ModelInfo, prompt_tokens: int, reply_tokens: int,
                     what: str) -> str | None:
    """Why `what` may not be made, or None when even its worst case fits every budget."""
    tokens = prompt_tokens + reply_tokens
    if usage.total_tokens + tokens > budgets.max_tokens:
        return (f"token budget: {usage.total_tokens} of {budgets.max_tokens} tokens used, {what} may use "
                f"{tokens} ({prompt_tokens} prompt + {reply_tokens} reply)")
    if budgets.max_cost_usd is not None:
        worst = next_call_cost(model, prompt_tokens, reply_tokens)
        if usage.cost_usd + worst > budgets.max_cost_usd:
            return (f"cost budget: ${usage.cost_usd:.6f} spent, {what} may cost ${worst:.6f}, "
                    f"limit ${budgets.max_cost_usd:.6f}")
    return None


def prompt_bound(pack: PackReport, result: DecideResult) -> int:
    """How large the prompt just sent may have been, in the larger of the packer's and the provider's
    counts; the pack's whole budget when it dropped turns (the next pack may bring back as much)."""
    if any(note.action == "dropped" for note in pack.notes):
        return max(pack.budget_tokens, pack.total_tokens)
    reported = result.usage.prompt_tokens if result.repair_attempts == 0 else 0
    return max(pack.total_tokens, reported)


def stop_before_call(run: Run, model: ModelInfo, messages: list[Message]) -> str | None:
    """Would the next call to `model` break a budget at its worst (the whole prompt it may send,
    uncached, and the longest reply)? Then the run stops before making it."""
    saved, budgets, reply = run.saved, run.request.budgets, run.request.max_output_tokens
    if not workflow.patched(BUDGET_PATCH):
        # Runs recorded before: only the cost, priced on the messages since the last call.
        needed = estimate_tokens(messages, saved.tools) + reply
        if budgets.max_cost_usd is not None:
            worst = next_call_cost(model, needed, reply)
            if saved.usage.cost_usd + worst > budgets.max_cost_usd:
                return (f"cost budget: ${saved.usage.cost_usd:.6f} spent, the next call to {model.name} may cost "
                        f"${worst:.6f}, limit ${budgets.max_cost_usd:.6f}")
        return None
    prompt = worst_prompt(run, model, messages)
    return call_over_budget(saved.usage, budgets, model, prompt, reply, f"the next call to {model.name}")


def spend_limit(run: Run) -> SpendLimit | None:
    """The budgets left, for the activity to check its repair calls against (new runs only)."""
    if not workflow.patched(BUDGET_PATCH):
        return None
    budgets, usage = run.request.budgets, run.saved.usage
    cost = None if budgets.max_cost_usd is None else budgets.max_cost_usd - usage.cost_usd
    return SpendLimit(tokens=budgets.max_tokens - usage.total_tokens, cost_usd=cost)


def worst_prompt(run: Run, model: ModelInfo, messages: list[Message]) -> int:
    """The largest prompt the next call may send. By value it is `messages`; by reference the packer
    rebuilds it from the whole stored transcript: at most the last prompt plus what is new, and
    never more than the window less the reserved reply (the pack's hard budget)."""
    saved = run.saved
    cap = model.context_window - min(run.request.max_output_tokens, model.context_window - 1)
    if saved.transcript_ref is None or saved.transcript_ref.length == 0:
        return min(estimate_tokens(messages, saved.tools), cap)
    if saved.last_prompt_tokens == 0:
        return cap  # a stored transcript whose last prompt nobody measured (carried from an older run)
    return min(saved.last_prompt_tokens + estimate_tokens(saved.transcript, []), cap)
