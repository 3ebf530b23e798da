"""A circuit breaker per provider endpoint, shared by every activity in the worker process.

After `failure_threshold` consecutive outage-type failures the breaker opens: calls fail at once
(non-retryably), so the workflow falls back to the next model, or waits the outage out, instead of
spending its retries on timeouts. After `cooldown_s` one probe call is let through (half-open); its
success closes the breaker, its failure opens it again. A probe that ends with neither (its activity
was cancelled) is abandoned, and a probe out for longer than a cool-down is presumed lost: either way
the next caller probes, so a breaker can never stay half-open for good. The breaker remembers the last
failure so that a refusal names the real cause. State changes are logged and exported as metrics.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)


class BreakerState(Enum):
    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


class BreakerMetrics(Protocol):
    def state_changed(self, endpoint: str, state: BreakerState) -> None: ...

    def rejected(self, endpoint: str) -> None: ...


class NoMetrics:
    def state_changed(self, endpoint: str, state: BreakerState) -> None:
        pass

    def rejected(self, endpoint: str) -> None:
        pass


@dataclass
class CircuitBreaker:
    endpoint: str
    failure_threshold: int = 3
    cooldown_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    metrics: BreakerMetrics = field(default_factory=NoMetrics)
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0
    opened_at: float = 0.0
    last_error: str = ""
    _probe_out: bool = False
    _probe_started: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allow(self) -> bool:
        """May a call go out now? Half-open lets exactly one probe through."""
        with self._lock:
            if self.state is BreakerState.OPEN and self.clock() - self.opened_at >= self.cooldown_s:
                self._move(BreakerState.HALF_OPEN)
            if self.state is BreakerState.CLOSED:
                return True
            if self.state is BreakerState.HALF_OPEN and (
                not self._probe_out or self.clock() - self._probe_started >= self.cooldown_s
            ):
                self._probe_out = True
                self._probe_started = self.clock()
                return True
        self.metrics.rejected(self.endpoint)
        return False

    def retry_in(self) -> float:
        return max(self.cooldown_s - (self.clock() - self.opened_at), 0.0)

    def record_success(self) -> None:
        with self._lock:
            self.failures = 0
            self._probe_out = False
            if self.state is not BreakerState.CLOSED:
                self._move(BreakerState.CLOSED)

    def abandon(self) -> None:
        """The call ended without an answer either way (cancelled): free the probe, count nothing."""
        with self._lock:
            self._probe_out = False

    def record_failure(self, error: str = "") -> None:
        with self._lock:
            self.failures += 1
            self.last_error = error or self.last_error
            self._probe_out = False
            if self.state is BreakerState.HALF_OPEN or self.failures >= self.failure_threshold:
                self.opened_at = self.clock()
                if self.state is not BreakerState.OPEN:
                    self._move(BreakerState.OPEN)

    def _move(self, state: BreakerState) -> None:
        log.warning("circuit_breaker.state", endpoint=self.endpoint, state=state.name.lower(),
                    previous=self.state.name.lower(), consecutive_failures=self.failures)
        self.state = state
        self.metrics.state_changed(self.endpoint, state)


class BreakerRegistry:
    def __init__(self, failure_threshold: int = 3, cooldown_s: float = 30.0,
                 metrics: BreakerMetrics | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.metrics = metrics or NoMetrics()
        self.clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}
        self._lock = threading.Lock()

    def for_endpoint(self, endpoint: str) -> CircuitBreaker:
        with self._lock:
            if endpoint not in self._breakers:
                self._breakers[endpoint] = CircuitBreaker(
                    endpoint, self.failure_threshold, self.cooldown_s, self.clock, self.metrics
                )
            return self._breakers[endpoint]

    def snapshot(self) -> dict[str, str]:
        return {e: b.state.name.lower() for e, b in self._breakers.items()}
