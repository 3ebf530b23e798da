"""Budget checks made before a model call, in workflow code, so every stop is decided from history.

Every call a run makes (each decision, each compaction) is checked here first against the run's
token and cost budgets at its worst case: the largest prompt it may send, all of it uncached, and the
longest reply it may get. A run therefore ends with `budget_exceeded` before the call that could
overshoot, never after it; its totals stay within `max_tokens` and `max_cost_usd`.
"""

from __future__ import annotations

from workflows.contracts import Budgets, DecideResult, ModelInfo, RunUsage
from workflows.contracts.context import PackReport
from workflows.routing import next_call_cost

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
