"""Search attributes the workflow keeps current; temporal-dev.yaml registers the same names."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

AGENT_STATUS = SearchAttributeKey.for_keyword("AgentStatus")
AGENT_STEPS = SearchAttributeKey.for_int("AgentSteps")
AGENT_TENANT = SearchAttributeKey.for_keyword("AgentTenant")
AGENT_COST_USD = SearchAttributeKey.for_float("AgentCostUsd")
# On a RunScoreRecord (workflows/scoring.py): the score of the run it names.
AGENT_SCORE = SearchAttributeKey.for_float("AgentScore")
AGENT_SCORED_RUN = SearchAttributeKey.for_keyword("AgentScoredRun")

ALL = {
    AGENT_STATUS.name: "Keyword",
    AGENT_STEPS.name: "Int",
    AGENT_TENANT.name: "Keyword",
    AGENT_COST_USD.name: "Double",
    AGENT_SCORE.name: "Double",
    AGENT_SCORED_RUN.name: "Keyword",
}

# The statuses a run passes through within every step. Visibility shows them as one value, so a step
# costs one upsert (its step count and cost) instead of two status flips; the `state` query still
# tells them apart.
BUSY = frozenset({"planning", "waiting_for_model", "running_tool"})
RUNNING = "running"
ONE_UPSERT_PATCH = "one-upsert-per-step"


def visible_status(status: str) -> str:
    return RUNNING if status in BUSY else status
