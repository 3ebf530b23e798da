"""Retry policies per activity kind, built with one helper so every policy says the same things."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from datetime import timedelta

from temporalio.common import RetryPolicy

# Raised by activities/model.py; named here as strings so workflow code imports no activity module.
MODEL_FINAL_ERRORS = [
    "MalformedDecision",
    "Provider.authentication",
    "Provider.permission",
    "Provider.not_found",
    "Provider.invalid_request",
    "Provider.context_length_exceeded",
    "Provider.refusal",
    "Provider.content_filter",
    "Provider.circuit_open",
]

# Raised non-retryably when a repair call could pass the run's budgets; the run stops budget_exceeded.
REPAIR_OVER_BUDGET = "RepairOverBudget"

MODEL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    # With the default breaker (3 consecutive failures) the 4th attempt already fails fast and the
    # workflow falls back, or waits the outage out on a timer (workflows/outage.py); the 5th bounds
    # the retries when breakers are configured more leniently.
    maximum_attempts=5,
)

# Idempotent and keyed tools are safe to retry: the ledger returns the receipt or reconciles.
TOOL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
    maximum_attempts=5,
)

# A non-idempotent tool's handler runs at most once. The second attempt exists only so the ledger
# sees the interruption and records outcome_unknown (activities/tools/execute.py never re-runs the
# handler then); the workflow then asks a person instead of guessing.
ONCE = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_attempts=2)

BOOKKEEPING_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10))


def with_non_retryable(policy: RetryPolicy, error_types: Iterable[str]) -> RetryPolicy:
    """A copy of `policy` that also treats `error_types` as final."""
    existing = list(policy.non_retryable_error_types or [])
    return dataclasses.replace(policy, non_retryable_error_types=existing + [t for t in error_types if t not in existing])


def tool_retry_policy(idempotency: str) -> RetryPolicy:
    return ONCE if idempotency == "not_idempotent" else TOOL_RETRY

RETRIEVAL_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=10), maximum_attempts=3)
