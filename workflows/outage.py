"""Waiting out a model outage, decided in workflow code so every wait is a timer in history.

When every model on a step's route has failed with a transient error (5xx, 429, timeout, a malformed
body, an open circuit), the run does not fail: it sleeps with backoff and walks the route again. The
wait is bounded by the models file's `outage.max_wait_s` (per step) and by the run's wall-time budget;
past either, the run ends naming the real cause (the provider's error, the breaker).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workflows.contracts import OutagePolicy

# Recorded as a marker in new runs; runs recorded before it fail at an empty route, as they did.
OUTAGE_PATCH = "wait-out-model-outage"
# New runs refused only by open breakers wait for the next probe, not for the backoff: the breaker
# already paces the endpoint (one probe per cool-down), and a probe's success lets every caller on.
PROBE_PATCH = "outage-waits-for-the-probe"
CIRCUIT_OPEN = "Provider.circuit_open"
# The shortest wait for a probe: a breaker whose probe is out refuses with no hint at all.
MIN_PROBE_WAIT_S = 1.0


@dataclass
class Outage:
    """One step's outage: when it began, how many waits so far, and why each model failed last."""

    since: datetime | None = None
    waits: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    retry_hint_s: float = 0.0  # the longest "next probe in" an open breaker reported

    @property
    def only_breakers(self) -> bool:
        """Every model of the route was refused by its open breaker, none failed on the wire."""
        return bool(self.failed) and all(reason.startswith(CIRCUIT_OPEN) for reason in self.failed.values())

    def next_delay(self, policy: OutagePolicy, waited_s: float, wall_left_s: float, to_probe: bool = False) -> float:
        """Exponential backoff, no sooner than a breaker's next probe, never past either limit; with
        `to_probe` (only breakers refused) just until the next probe."""
        if to_probe:
            delay = max(min(self.retry_hint_s, policy.max_backoff_s), MIN_PROBE_WAIT_S)
        else:
            delay = min(policy.initial_backoff_s * 2**self.waits, policy.max_backoff_s)
            delay = max(delay, min(self.retry_hint_s, policy.max_backoff_s))
        return max(min(delay, policy.max_wait_s - waited_s, wall_left_s), 0.001)


def retry_hint(details: Any) -> float:
    """`retry_after_s` from a Provider.* error's details (activities/model.py), 0 when absent."""
    first = details[0] if isinstance(details, (list, tuple)) and details else None
    value = first.get("retry_after_s") if isinstance(first, dict) else None
    return float(value) if isinstance(value, (int, float)) else 0.0
