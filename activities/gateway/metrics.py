"""Breaker state as Temporal runtime metrics (exported by the worker's Prometheus endpoint)."""

from __future__ import annotations

from temporalio.common import MetricMeter

from activities.gateway.breaker import BreakerState


class TemporalBreakerMetrics:
    def __init__(self, meter: MetricMeter) -> None:
        self._state = meter.create_gauge(
            "agent_provider_circuit_state", "circuit breaker state per provider endpoint: 0 closed, 1 half-open, 2 open"
        )
        self._rejected = meter.create_counter(
            "agent_provider_circuit_rejections", "calls failed fast because the endpoint's circuit was open"
        )

    def state_changed(self, endpoint: str, state: BreakerState) -> None:
        self._state.set(state.value, {"endpoint": endpoint})

    def rejected(self, endpoint: str) -> None:
        self._rejected.add(1, {"endpoint": endpoint})
