"""Search attributes the workflow keeps current; temporal-dev.yaml registers the same names."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

AGENT_STATUS = SearchAttributeKey.for_keyword("AgentStatus")
AGENT_STEPS = SearchAttributeKey.for_int("AgentSteps")
AGENT_TENANT = SearchAttributeKey.for_keyword("AgentTenant")
AGENT_COST_USD = SearchAttributeKey.for_float("AgentCostUsd")

ALL = {
    AGENT_STATUS.name: "Keyword",
    AGENT_STEPS.name: "Int",
    AGENT_TENANT.name: "Keyword",
    AGENT_COST_USD.name: "Double",
}
